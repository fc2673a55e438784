-- Transactional outbox: rows written in the same transaction as the state change they
-- announce; the relay publishes them in id order and marks them.  Per case, a later
-- event's transaction starts after the earlier one committed, so id order is case order.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    topic        text        NOT NULL,
    key          bytea,
    headers      jsonb       NOT NULL,
    value        bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Which broker incarnation the relay last fed; a new one means "publish everything again".
CREATE TABLE relay_state (
    topic text PRIMARY KEY,
    epoch text NOT NULL
);

-- Consumer positions, written in the same transaction as the projection change.
CREATE TABLE consumer_offsets (
    group_id    text    NOT NULL,
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    epoch       text    NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
);
