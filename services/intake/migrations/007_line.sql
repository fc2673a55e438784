-- The LINE Official Account channel (services/intake/line).  Nothing personal in clear:
-- a LINE user is named by a keyed hash of their userId; the events, the userId (to push
-- to), the conversation's draft and the replies are sealed (AES-256-GCM under the PII
-- master key, whose id is kept beside them).

-- Every event of every signed delivery, stored before the webhook answers 200 and worked
-- through in arrival order (per user) by the channel's worker.  A redelivery carries the
-- same webhookEventId and is absorbed by the primary key.
CREATE TABLE line_events (
    webhook_event_id text        PRIMARY KEY,
    seq              bigserial   NOT NULL UNIQUE,
    user_hash        bytea,                  -- NULL: not from a user (group, room)
    redelivery       boolean     NOT NULL DEFAULT false,
    received_at      timestamptz NOT NULL,
    key_id           text        NOT NULL,
    sealed           bytea       NOT NULL,   -- the event's JSON
    processed_at     timestamptz,
    attempts         integer     NOT NULL DEFAULT 0,
    not_before       timestamptz,            -- after a failure: not retried before
    error            text                    -- the kind of the last failure only
);
CREATE INDEX line_events_pending ON line_events (seq) WHERE processed_at IS NULL;

-- One conversation per LINE user.
CREATE TABLE line_conversations (
    user_hash    bytea       PRIMARY KEY,
    step         text        NOT NULL,
    key_id       text        NOT NULL,
    sealed_user  bytea       NOT NULL,   -- the userId
    sealed_draft bytea       NOT NULL,   -- what was said so far
    updated_at   timestamptz NOT NULL
);

-- What to answer to an event, written with the event's processing and sent after it:
-- by its reply token, or pushed when the token has expired.
CREATE TABLE line_replies (
    webhook_event_id text        PRIMARY KEY REFERENCES line_events ON DELETE CASCADE,
    user_hash        bytea       NOT NULL,
    reply_token      text,
    key_id           text        NOT NULL,
    sealed_messages  bytea       NOT NULL,
    created_at       timestamptz NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0,
    sent_at          timestamptz,
    sent_by          text,                   -- 'reply' or 'push'
    gave_up_at       timestamptz
);
CREATE INDEX line_replies_pending ON line_replies (created_at)
    WHERE sent_at IS NULL AND gave_up_at IS NULL;
