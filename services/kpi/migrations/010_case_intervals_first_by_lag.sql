-- The recording lag of a fiscal year's filings (reports.store.recording_lag): each
-- case's first segment (one row per case at any known time), in order of its lag, with
-- every column the question filters on.  The median's sort then receives its input in
-- order: for a national year it checked 200,000 lags instead of sorting them.
CREATE INDEX case_intervals_first_by_lag
    ON case_intervals (fiscal_year, (date_part('epoch', recorded_at - received_at) / 86400.0))
    INCLUDE (recorded_at, received_at, recorded_from, recorded_to, province_code,
             district_code, channel, category)
    WHERE valid_from = received_at;
-- The weeks with a filing (reports.store.continuity) for what is known now: the first
-- segments known now, by recording time.  The index of every first segment (007) also
-- holds each closed case's superseded one, and the live consumer leaves it sparse.
CREATE INDEX case_intervals_first_now
    ON case_intervals (recorded_at)
    INCLUDE (province_code, district_code, channel, category)
    WHERE valid_from = received_at AND recorded_to = 'infinity';
