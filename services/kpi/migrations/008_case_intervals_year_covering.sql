-- A fiscal year's questions (summary, backlog, aging, the districts' received and
-- closed) read one row per case of the year: the rectangle holding the state asked about.  The
-- year index (005) found them among every rectangle of the year, superseded ones
-- included, and fetched each from the table.  These two carry every column the
-- questions read, for the two shapes of rectangle a question with one time axis
-- picks, so the year's rows are read from the index alone, and only those:
-- what is known now (the state now is valid_to = infinity; at a cut, the segment
-- that ends at or after it) ...
CREATE INDEX case_intervals_fy_known_now
    ON case_intervals (fiscal_year, valid_to, province_code, district_code)
    INCLUDE (valid_from, channel, category, received_at,
             recorded_at, closed_at)
    WHERE recorded_to = 'infinity';
-- ... and the state after every event as known at a time (the rectangle recorded from
-- before it and superseded after it, or never).
CREATE INDEX case_intervals_fy_end_state
    ON case_intervals (fiscal_year, recorded_to, province_code, district_code)
    INCLUDE (recorded_from, channel, category, received_at,
             recorded_at, closed_at)
    WHERE valid_to = 'infinity';
