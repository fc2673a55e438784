-- Several intake instances send LINE replies: each takes the replies it sends on a lease,
-- so that one reply is not sent twice (a second reply by the same token would fail and
-- fall back to a push: the citizen would read it twice).  An instance that dies while
-- sending leaves its lease to run out; another then sends.
ALTER TABLE line_replies ADD COLUMN lease_until timestamptz;
