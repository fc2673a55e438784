-- Recording (reports.store.recording_lag and continuity) reads each case's filing as
-- known now: its first segment with recorded_to = infinity, one row per case.  A filing
-- never changes once recorded, so what was known at an earlier time is these rows
-- recorded by then, and the known_at questions need no superseded row.  The indexes of
-- every first segment (007, 010) held each closed case's superseded one beside it, which
-- a known_at question read and threw away: 160,000 of 360,000 rows in a national year.
DROP INDEX case_intervals_first_by_lag;
DROP INDEX case_intervals_first_by_time;  -- the weeks read case_intervals_first_now (010)
DROP INDEX case_intervals_first_by_district;
CREATE INDEX case_intervals_filed_by_lag
    ON case_intervals (fiscal_year, (date_part('epoch', recorded_at - received_at) / 86400.0))
    INCLUDE (recorded_at, received_at, province_code, district_code, channel, category)
    WHERE valid_from = received_at AND recorded_to = 'infinity';
CREATE INDEX case_intervals_filed_by_district
    ON case_intervals (district_code, recorded_at)
    INCLUDE (province_code, channel, category)
    WHERE valid_from = received_at AND recorded_to = 'infinity';
-- The monthly moves (reports.store.month_moves) read the segments starting in a period
-- in two disjoint parts (reports.store.known_apart), side by side: the segments known now
-- (for a known_at question, those recorded by then) and those replaced since they were
-- recorded.  The index of every segment start (009) held both, and a question on what is
-- known now read and dropped the replaced third of a national year's.
DROP INDEX case_intervals_starts;
CREATE INDEX case_intervals_starts_now
    ON case_intervals (valid_from)
    INCLUDE (received_at, closed_at, recorded_from, province_code, district_code, channel,
             category)
    WHERE recorded_to = 'infinity';
CREATE INDEX case_intervals_starts_replaced
    ON case_intervals (valid_from)
    INCLUDE (received_at, closed_at, recorded_from, recorded_to, province_code,
             district_code, channel, category)
    WHERE recorded_to <> 'infinity';
