-- Intake's public view of each case (services/intake/tracking), folded from
-- complaints.events by intake's own consumer: status lives in the status service, whose
-- tables no other service reads.  No personal data, no actors, no notes.

-- One row per case once its filing is seen; status and dates are those of the latest
-- public history entry (so events applied twice or out of order give the same row).
CREATE TABLE tracking_cases (
    complaint_id     uuid        PRIMARY KEY,
    tracking_no      text        NOT NULL UNIQUE,
    category         text        NOT NULL,
    district_code    text        NOT NULL,
    subdistrict_code text,
    received_at      timestamptz NOT NULL,
    status           text        NOT NULL,
    -- The version of the history entry the row reflects.
    version          integer     NOT NULL,
    updated_at       timestamptz NOT NULL,
    closure_reason   text,
    agency           text
);
-- Open311 lists by received date, optionally by service (category) and open/closed.
CREATE INDEX tracking_cases_by_received ON tracking_cases (received_at DESC);
CREATE INDEX tracking_cases_by_category ON tracking_cases (category, received_at DESC);

-- The public history: one row per event the public view uses, idempotent by version.
-- closure_reason is a code and agency a public name: never an officer's free text.
CREATE TABLE tracking_history (
    complaint_id   uuid        NOT NULL,
    version        integer     NOT NULL,
    kind           text        NOT NULL,
    status         text        NOT NULL,
    at             timestamptz NOT NULL,
    closure_reason text,
    agency         text,
    PRIMARY KEY (complaint_id, version)
);

-- What proves a caller may track a case: keyed hashes (HMAC with PII_HASH_KEY, bound to
-- the complaint id) of the complainant's last four phone digits and of the anonymous
-- complainant's tracking secret.  Never the digits or the secret themselves.  A complaint
-- without a row (filed before this table, or imported) answers the public 404.
CREATE TABLE tracking_keys (
    complaint_id uuid        PRIMARY KEY,
    phone_hash   bytea,
    secret_hash  bytea,
    created_at   timestamptz NOT NULL,
    CONSTRAINT tracking_keys_some_key CHECK (phone_hash IS NOT NULL OR secret_hash IS NOT NULL)
);
