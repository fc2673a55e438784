-- The ce_signature each row was first published with (a v2 batch signature: its batch's
-- signed Merkle root and the row's inclusion proof).  Stored before the row is sent, so a
-- resend after a crash and a re-feed to an emptied broker publish the very same bytes,
-- whatever batch the row would fall into then.
ALTER TABLE outbox ADD COLUMN signature bytea;
