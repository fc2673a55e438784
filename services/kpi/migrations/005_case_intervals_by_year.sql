-- Most KPI questions are about one fiscal year of origin: read that year's rows only
-- rather than every case of every year (a decade of national data is ten times the rows).
CREATE INDEX case_intervals_fy ON case_intervals (fiscal_year, province_code, district_code);
-- Backlog at a cut, of every fiscal year of origin (the districts table, the cases
-- carried into a year): the open segments that end at or after the cut; for "now" the
-- segments open without end.  recorded_to leads because most open rows are superseded
-- knowledge (every closed case keeps the row that showed it open without end until its
-- closure was recorded): what is known now is one equality, then the cut is a range.
-- The other columns the questions filter on are carried in the index, so that the open
-- segments are counted from it alone (they lie scattered over the table).
CREATE INDEX case_intervals_open
    ON case_intervals (recorded_to, valid_to, province_code, district_code)
    INCLUDE (valid_from, recorded_from, fiscal_year, channel, category)
    WHERE closed_at IS NULL;
