-- notify's own schema.  Nothing personal is stored here: contact details are fetched from
-- intake at send time and the message text is rendered then and never kept.

-- What notify keeps of each case from its filing: the tracking number the messages quote.
CREATE TABLE cases (
    complaint_id uuid        PRIMARY KEY,
    tracking_no  text        NOT NULL,
    anonymous    boolean     NOT NULL,
    backfilled   boolean     NOT NULL,
    recorded_at  timestamptz NOT NULL
);

-- The record (as read from the topic, signature included) of each event that sends a
-- message: the message is rendered from it, and a dead message dead-letters it, so that
-- `damrong dlq replay` can feed it back.  Events carry no personal data.
CREATE TABLE source_records (
    complaint_id uuid    NOT NULL,
    version      integer NOT NULL,
    origin       text,   -- topic/partition/offset it was read from
    key          bytea,
    value        bytea   NOT NULL,
    headers      jsonb   NOT NULL,  -- [[name, base64 of the value], ...]
    PRIMARY KEY (complaint_id, version)
);

-- The outbox of messages: exactly one per (case, version, channel), written in the
-- consumer's transaction (with its offset), then claimed, sent and marked by the sender.
CREATE TABLE notifications (
    notification_id bigserial   PRIMARY KEY,
    complaint_id    uuid        NOT NULL,
    version         integer     NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('line', 'email', 'sms')),
    template        text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'sent', 'skipped', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    -- A sender holds a claimed message until then; past it, another may take it.
    claimed_until   timestamptz,
    last_attempt_at timestamptz,
    sent_at         timestamptz,
    dead_at         timestamptz,
    -- The class of the last failure or skip ("http 503", "no consent"): never a text
    -- from a provider, which may echo an address.
    error_class     text,
    -- A dead message's record is on the dead-letter topic (published after marking).
    dlq_published   boolean     NOT NULL DEFAULT false,
    UNIQUE (complaint_id, version, channel)
);
CREATE INDEX notifications_due ON notifications (due_at) WHERE status = 'pending';
CREATE INDEX notifications_dlq_pending ON notifications (notification_id)
    WHERE status = 'dead' AND NOT dlq_published;
