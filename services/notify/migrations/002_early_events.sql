-- Events that tell something, read before their case's filing: after a broker lost its
-- data, the relays publish again from their outboxes, and status's may publish a case's
-- transitions before intake's publishes its filing.  Their records wait in source_records
-- until the filing arrives; then they are told as if read after it.
CREATE TABLE early_events (
    complaint_id uuid    NOT NULL,
    version      integer NOT NULL,
    PRIMARY KEY (complaint_id, version)
);
