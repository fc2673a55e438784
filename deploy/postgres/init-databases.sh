#!/bin/bash
# One login role and one database per service, each owning its database (the service
# creates its schema and migrates itself at start).  The postgres image runs this once,
# on the first start with an empty data volume; passwords come from the compose file.
set -euo pipefail

for service in intake status kpi notify; do
  password_var="${service^^}_DB_PASSWORD"
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
       -v service="$service" -v password="${!password_var}" <<'SQL'
CREATE ROLE :"service" LOGIN PASSWORD :'password';
CREATE DATABASE :"service" OWNER :"service";
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;
SQL
done
