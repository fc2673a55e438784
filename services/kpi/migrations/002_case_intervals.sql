-- Every case's history on both time axes (services/kpi/timeline.py): while the events
-- recorded in [recorded_from, recorded_to) were known, the case was held open
-- (closed_at NULL) or closed at closed_at during [valid_from, valid_to) of effective time.
-- The filing's attributes are repeated on each row so that as-of queries read one table.
CREATE TABLE case_intervals (
    complaint_id  uuid        NOT NULL,
    fiscal_year   integer     NOT NULL,
    province_code text        NOT NULL,
    district_code text        NOT NULL,
    channel       text        NOT NULL,
    category      text        NOT NULL,
    received_at   timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL,
    valid_from    timestamptz NOT NULL,
    valid_to      timestamptz NOT NULL,
    recorded_from timestamptz NOT NULL,
    recorded_to   timestamptz NOT NULL,
    closed_at     timestamptz,
    PRIMARY KEY (complaint_id, recorded_from, valid_from)
);
-- Most questions are about what is known now: those rows alone, by area.
CREATE INDEX case_intervals_now ON case_intervals (province_code, district_code)
    WHERE recorded_to = 'infinity';

-- Cases projected before this migration get their rows at the next start-up
-- (history.fill_missing: the fold is Python, timeline.intervals).
