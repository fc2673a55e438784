-- The complainant's feedback on the current closure (domain/feedback.py): the version of
-- its case.closed event (NULL while the case is not closed), whether it was rated, and
-- when a reopen was requested (the reopen_requests worklist: closed cases with one).
ALTER TABLE cases
    ADD COLUMN closed_version      integer,
    ADD COLUMN rated               boolean NOT NULL DEFAULT false,
    ADD COLUMN reopen_requested_at timestamptz;
-- Before feedback existed a closed case's last event was its closure.
UPDATE cases SET closed_version = version WHERE status = 'closed';
CREATE INDEX cases_reopen_requested ON cases (reopen_requested_at, complaint_id)
    WHERE status = 'closed' AND reopen_requested_at IS NOT NULL;
