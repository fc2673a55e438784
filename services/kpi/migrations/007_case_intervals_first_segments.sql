-- Recording continuity reads each case's first segment (one row per case at any known
-- time): per district its latest filing, found by a probe from the newest down, and the
-- filings recorded in a period.  Both carry the columns the questions filter on.
CREATE INDEX case_intervals_first_by_district
    ON case_intervals (district_code, recorded_at)
    INCLUDE (province_code, recorded_from, recorded_to, channel, category)
    WHERE valid_from = received_at;
CREATE INDEX case_intervals_first_by_time
    ON case_intervals (recorded_at)
    INCLUDE (province_code, district_code, recorded_from, recorded_to, channel, category)
    WHERE valid_from = received_at;
