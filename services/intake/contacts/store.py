"""The contact read: open one complainant's identity, keep what the consent discloses, and
record the read (who, when, which fields) in the same transaction.

Clear values exist only in this process's memory, for the request that asked for them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg

from services.intake.contacts.domain.consent import consent_of, disclosed
from services.intake.pii.domain.envelope import open_identity, unwrap_key
from services.intake.pii.domain.keys import PiiKeys


class Erased(Exception):
    """The complainant's key was destroyed: there is nobody left to tell."""


@dataclass(frozen=True, slots=True)
class Contact:
    complaint_id: uuid.UUID
    anonymous: bool
    notify: tuple[str, ...]
    details: dict[str, str]  # of the consented channels only


_READ = """
SELECT c.anonymous, c.complainant_ref, c.identity, k.key_id, k.wrapped_key, k.erased_at
FROM complaints c LEFT JOIN complainants k USING (complainant_ref)
WHERE c.complaint_id = $1
FOR SHARE OF c
"""
_LOG = """
INSERT INTO pii_access (at, subject, action, complaint_id, complainant_ref, fields)
VALUES ($1, $2, 'read', $3, $4, $5)
"""


async def read_contact(
    pool: asyncpg.Pool, keys: PiiKeys, complaint_id: uuid.UUID, *, subject: str, now: dt.datetime
) -> Contact | None:
    """The complaint's consent and consented contact details; None if there is no such
    complaint; Erased after an erasure.  A read that discloses a field is recorded with the
    fields it disclosed; one that discloses nothing (anonymous, no consent) is not a read
    of personal data and is not recorded."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(_READ, complaint_id)
        if row is None:
            return None
        if row["erased_at"] is not None:
            raise Erased()
        ref = row["complainant_ref"]
        if ref is None or row["identity"] is None:
            return Contact(complaint_id, bool(row["anonymous"]), (), {})
        data_key = unwrap_key(keys, ref, row["key_id"], bytes(row["wrapped_key"]))
        identity = open_identity(data_key, complaint_id, ref, bytes(row["identity"]))
        details = disclosed(identity)
        if details:
            await conn.execute(
                _LOG,
                now,
                subject,
                complaint_id,
                ref,
                sorted(details),
            )
    return Contact(complaint_id, bool(row["anonymous"]), consent_of(identity), details)
