-- The monthly moves (reports.store.month_moves) count the segments starting in a period
-- as they are, from this index alone (it carries every column the question filters on;
-- the one it replaces sent each row to the table) ...
DROP INDEX case_intervals_starts;
CREATE INDEX case_intervals_starts
    ON case_intervals (valid_from)
    INCLUDE (received_at, closed_at, recorded_from, recorded_to, province_code,
             district_code, channel, category);
-- ... and the closed segments ending in it: with those, the moves need no segment's
-- predecessor (MonthMoves.of_segments).  Every segment ending in a period was read
-- before, to find each one's predecessor; most of them are open cases being closed.
DROP INDEX case_intervals_ends;
CREATE INDEX case_intervals_closed_ends
    ON case_intervals (valid_to)
    INCLUDE (recorded_from, recorded_to, province_code, district_code, channel, category)
    WHERE closed_at IS NOT NULL AND valid_to <> 'infinity';
