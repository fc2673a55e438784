-- Worklists read the open cases only (a small share of all cases once districts close their
-- finished ones), so partial indexes on the open states keep them fast however many closed
-- cases accumulate.  The status list is domain.OPEN_STATES.
CREATE INDEX cases_open_received ON cases (received_at, complaint_id)
    WHERE status IN ('filed', 'accepted', 'in_progress', 'forwarded', 'reopened');
CREATE INDEX cases_open_last_event ON cases (last_event_at, complaint_id)
    WHERE status IN ('filed', 'accepted', 'in_progress', 'forwarded', 'reopened');
CREATE INDEX cases_open_district_received ON cases (district_code, received_at)
    WHERE status IN ('filed', 'accepted', 'in_progress', 'forwarded', 'reopened');
CREATE INDEX cases_forwarded_due ON cases (due_date, complaint_id)
    WHERE status = 'forwarded';
