-- The hash chain (shared/chain.py): each event keeps the hash of the case's previous event
-- and its own, and the schema version its payload is written in (older ones are upcast
-- on read, never rewritten: the hash covers the payload as written).  Events stored before
-- chaining existed keep NULL hashes and are reported as unchained by `damrong audit verify`.
ALTER TABLE events
    ADD COLUMN schema_version integer NOT NULL DEFAULT 1 CHECK (schema_version >= 1),
    ADD COLUMN prev_hash      text,
    ADD COLUMN hash           text;
