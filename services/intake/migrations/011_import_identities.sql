-- The first row of each row identity in the file an import run is reading (a 16-byte
-- digest of it: services/intake/backfill/domain/plan.py), so that a repeat later in the
-- file is told from a new row without the run holding a million identities in memory.
-- Each run (a preview, a filing, a filing resumed) has its own run_id and deletes its
-- rows when it ends; purge deletes what a crash left.  Unlogged: a run does not outlive
-- its process, and a resumed filing is a new run reading the file from its start.
CREATE UNLOGGED TABLE import_identities (
    run_id     uuid        NOT NULL,
    digest     bytea       NOT NULL,
    first_row  integer     NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (run_id, digest)
);
