-- Every event kpi has seen, as received: the log that as_of/known_at queries and rebuilds
-- read.  (complaint_id, version) is the idempotency key: a duplicate insert does nothing.
CREATE TABLE events (
    complaint_id uuid        NOT NULL,
    version      integer     NOT NULL,
    kind         text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL,
    data         jsonb       NOT NULL,
    PRIMARY KEY (complaint_id, version)
);

-- One row per case whose filing was applied; events are folded in strictly in version
-- order (applied_version), later versions that arrived early wait in `events`.
CREATE TABLE cases (
    complaint_id     uuid        PRIMARY KEY,
    applied_version  integer     NOT NULL,
    fiscal_year      integer     NOT NULL,
    province_code    text        NOT NULL,
    district_code    text        NOT NULL,
    channel          text        NOT NULL,
    category         text        NOT NULL,
    received_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL,
    status           text        NOT NULL,
    closed_at        timestamptz,
    last_recorded_at timestamptz NOT NULL
);
-- Serves the summary filters: fiscal year, then province, then district.
CREATE INDEX cases_fy_area ON cases (fiscal_year, province_code, district_code);
