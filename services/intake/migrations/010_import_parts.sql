-- A staged file is kept in sealed parts of 4 MiB (services/intake/backfill/staged/domain.py),
-- written as the upload streams in: a register is never whole in an intake's memory, and
-- may be larger than one bytea holds.  The parts come before their job's row (the job is
-- inserted once every row is checked), so they reference no job: an upload that ends
-- without a job deletes its parts, and purge deletes what a crash left.
CREATE TABLE import_job_parts (
    job_id     uuid        NOT NULL,
    part       integer     NOT NULL,
    created_at timestamptz NOT NULL,
    sealed     bytea       NOT NULL,
    PRIMARY KEY (job_id, part)
);
-- Ciphertext does not compress: stored as it is, without trying.
ALTER TABLE import_job_parts ALTER COLUMN sealed SET STORAGE EXTERNAL;
CREATE INDEX import_job_parts_age ON import_job_parts (created_at);
-- How many parts the job's file has; NULL for a job staged before parts, whose file is
-- whole in sealed_file.
ALTER TABLE import_jobs ADD COLUMN file_parts integer,
                        ALTER COLUMN sealed_file DROP NOT NULL;
