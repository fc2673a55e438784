-- Each district's latest recorded filing, found in one index probe per district (the
-- metric of days since a district last recorded a complaint: services/kpi/silence.py).
CREATE INDEX cases_district_recorded ON cases (district_code, recorded_at);
