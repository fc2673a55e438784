-- One global serial for tracking numbers; the service takes blocks of it, so numbers are
-- unique nationwide but may have gaps.
CREATE SEQUENCE tracking_serial AS bigint START 1;

-- Intake's own record of each complaint, including the personal data that never leaves
-- this service (complainant is plain jsonb for now; a later issue encrypts it).
CREATE TABLE complaints (
    complaint_id     uuid        PRIMARY KEY,
    tracking_no      text        NOT NULL UNIQUE,
    channel          text        NOT NULL,
    channel_ref      text,
    idempotency_key  text        UNIQUE,
    -- SHA-256 of the canonical request: a replay with other content is a 409.
    request_hash     bytea       NOT NULL,
    category         text        NOT NULL,
    province_code    text        NOT NULL,
    district_code    text        NOT NULL,
    subdistrict_code text,
    subject          text        NOT NULL,
    description      text        NOT NULL,
    anonymous        boolean     NOT NULL,
    complainant      jsonb       NOT NULL,
    received_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL,
    backfilled       boolean     NOT NULL DEFAULT false,
    event_id         uuid        NOT NULL,
    -- The same message from a channel (LINE id, letter number...) is filed once.
    -- NULL channel_ref values are distinct, so complaints without one never collide.
    CONSTRAINT complaints_channel_ref_key UNIQUE (channel, channel_ref)
);
