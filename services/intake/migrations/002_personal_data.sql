-- Personal data is kept encrypted (services/intake/pii): one data key per complainant,
-- stored only wrapped by a master key from configuration.  Erasure destroys the wrapped
-- key; the complaint, its history elsewhere and the KPIs stay.
CREATE TABLE complainants (
    complainant_ref uuid        PRIMARY KEY,
    -- The complaint whose identity this key seals (one each: a person filing again gets a
    -- new ref).  No foreign keys either way: both rows are written by one statement and
    -- never deleted (erasure only empties them), and a check per row would slow imports.
    complaint_id    uuid        NOT NULL,
    -- Which master key wrapped the data key (master keys rotate); NULL once erased.
    key_id          text,
    wrapped_key     bytea,
    created_at      timestamptz NOT NULL,
    erased_at       timestamptz,
    erased_by       text,
    CONSTRAINT complainants_key_xor_erased CHECK (
        (wrapped_key IS NULL) = (erased_at IS NOT NULL)
        AND (key_id IS NULL) = (wrapped_key IS NULL))
);

-- The identity is AES-GCM ciphertext under the complainant's data key; the masked form is
-- computed at filing, so reads and lists never need a key.  Anonymous complaints have
-- neither a complainant nor an identity.  The old plain ``complainant`` column is NULL for
-- every new row; rows filed before this migration are sealed when intake starts.
ALTER TABLE complaints
    ALTER COLUMN complainant DROP NOT NULL,
    ADD COLUMN complainant_ref    uuid,
    ADD COLUMN identity           bytea,
    ADD COLUMN complainant_masked jsonb;
-- Finds the rows still to seal at start-up without reading the whole table (empty after).
CREATE INDEX complaints_in_clear ON complaints (complaint_id) WHERE complainant IS NOT NULL;

-- Every clear read and every erasure of personal data: who, when, which case, which fields.
CREATE TABLE pii_access (
    access_id       bigserial   PRIMARY KEY,
    at              timestamptz NOT NULL,
    subject         text        NOT NULL,
    action          text        NOT NULL CHECK (action IN ('read', 'erase')),
    complaint_id    uuid        NOT NULL,
    complainant_ref uuid,
    fields          text[]      NOT NULL
);
CREATE INDEX pii_access_by_complaint ON pii_access (complaint_id, at);
