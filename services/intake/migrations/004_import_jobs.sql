-- Staged register imports (services/intake/backfill/staged): an officer uploads a register,
-- sees what would be filed and what is rejected, and only then confirms.  The file holds
-- personal data, so it is kept only sealed (AES-256-GCM under a fresh data key, itself
-- wrapped by the personal-data master key) and the row is deleted when it expires.
CREATE TABLE import_jobs (
    job_id        uuid        PRIMARY KEY,
    staged_by     text        NOT NULL,  -- the token subject who uploaded it (the owner)
    district_code text,                  -- the only district its rows may be in (NULL: any)
    status        text        NOT NULL CHECK (status IN ('staged', 'running', 'done', 'failed')),
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    confirmed_by  text,
    confirmed_at  timestamptz,
    heartbeat_at  timestamptz,           -- the filing task's last sign of life
    finished_at   timestamptz,
    key_id        text        NOT NULL,
    wrapped_key   bytea       NOT NULL,
    sealed_file   bytea       NOT NULL,
    sealed_sample bytea       NOT NULL,  -- the first rows as read, for the preview
    rows_total    integer     NOT NULL,
    rows_done     integer     NOT NULL DEFAULT 0,
    filed         integer     NOT NULL DEFAULT 0,
    -- Counts, rejected rows (number and reasons) and duplicates: no cell values.
    preview       jsonb       NOT NULL,
    result        jsonb,
    error         text
);
CREATE INDEX import_jobs_expiry ON import_jobs (expires_at);
