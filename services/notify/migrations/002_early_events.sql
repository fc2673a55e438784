-- Events that tell something, read before their case's filing: after a broker lost its
-- data, the relays publish again from their outboxes, and status's may publish a case's
-- transitions before intake's publishes its filing.  Their records wait in source_records
-- until the filing arrives; then they are told as if read after it.  One recorded longer
-- ago than a message may still be sent is let go (with its record): its filing may never
-- come, and it would tell nothing if it did.
CREATE TABLE early_events (
    complaint_id uuid        NOT NULL,
    version      integer     NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (complaint_id, version)
);
CREATE INDEX early_events_age ON early_events (recorded_at);
