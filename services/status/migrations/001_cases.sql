-- Every event of every case, the source of truth: one row per (case, version).  The primary
-- key is the optimistic-concurrency guard: two writers appending the same next version
-- collide here and the second one fails cleanly instead of forking the case's history.
CREATE TABLE events (
    complaint_id   uuid        NOT NULL,
    version        integer     NOT NULL CHECK (version >= 1),
    event_id       uuid        NOT NULL UNIQUE,
    kind           text        NOT NULL,
    source         text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL,
    correlation_id text,
    data           jsonb       NOT NULL,
    PRIMARY KEY (complaint_id, version)
);

-- The current state of each case, updated in the same transaction as its event
-- (WHERE version = old version), so it never disagrees with the event log.
CREATE TABLE cases (
    complaint_id     uuid PRIMARY KEY,
    tracking_no      text        NOT NULL,
    status           text        NOT NULL,
    version          integer     NOT NULL,
    province_code    text        NOT NULL,
    district_code    text        NOT NULL,
    subdistrict_code text,
    category         text        NOT NULL,
    channel          text        NOT NULL,
    received_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL,
    closed_at        timestamptz,
    closure_reason   text,
    agency           text,
    due_date         date,
    last_event_at    timestamptz NOT NULL
);
CREATE INDEX cases_status_district ON cases (status, district_code);
