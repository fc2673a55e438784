-- The monthly moves (reports.store.month_moves) count the segments starting in a period
-- as they are, from this index alone (it carries every column the question filters on;
-- the one it replaces sent each row to the table) ...
DROP INDEX case_intervals_starts;
CREATE INDEX case_intervals_starts
    ON case_intervals (valid_from)
    INCLUDE (received_at, closed_at, recorded_from, recorded_to, province_code,
             district_code, channel, category);
-- ... then find, from the few closed segments that end in it (a case reopened or closed
-- again), the segments that follow them.  Every segment ending in a period was read
-- before (the predecessors of all of them), most of them open cases being closed.
DROP INDEX case_intervals_ends;
CREATE INDEX case_intervals_closed_ends
    ON case_intervals (valid_to)
    INCLUDE (complaint_id, recorded_from, recorded_to, province_code, district_code,
             channel, category)
    WHERE closed_at IS NOT NULL AND valid_to <> 'infinity';
