-- kpi's copy of the events holds each payload in its current schema (it stores what it
-- decoded, already upcast).  Rows stored before case.forwarded.v2 are brought to v2 here,
-- as shared/upcasting.py does on read: due_date becomes reply_due {date, days counted
-- from the forwarding's Bangkok date}, with no agency code.  This table is a projection,
-- not the source of truth, so rewriting it leaves every hash chain alone.
UPDATE events
SET data = (data - 'due_date') || jsonb_build_object(
        'agency_code', NULL,
        'reply_due', jsonb_build_object(
            'date', data->'due_date',
            'days', (data->>'due_date')::date - (occurred_at AT TIME ZONE 'Asia/Bangkok')::date))
WHERE kind = 'case.forwarded' AND data ? 'due_date';
