-- A CSV imported directly (POST /v1/imports) is no longer checked row by row before it is
-- filed, only as it is filed: its job has no preview, and its rows_total is counted by the
-- file's line ends until the filing ends and sets the rows it read.
ALTER TABLE import_jobs ALTER COLUMN preview DROP NOT NULL;
