"""Public tracking's use cases: issue a filing's tracking keys, answer a tracking request,
give keys to complaints filed before tracking existed.

Load, decide, commit: the store reads and writes, ``domain.keys`` decides.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import structlog

from services.intake.domain.filing import Complainant
from services.intake.tracking import store
from services.intake.tracking.domain.keys import (
    Proof,
    keys_of,
    last4_of,
    matches,
    proof_hash,
)
from services.intake.tracking.domain.view import HistoryEntry, PublicCase
from shared.dbtypes import Db

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class Tracked:
    """A case as its complainant may follow it."""

    case: PublicCase
    history: list[HistoryEntry]


async def issue_keys(
    db: Db, hash_key: bytes, complaint_id: uuid.UUID, complainant: Complainant, now: dt.datetime
) -> str | None:
    """Store a filed complaint's tracking keys unless it has some; return the tracking
    secret of an anonymous complainant (for its receipt), else None.

    A filing stores its keys in its own statement (``IntakeStore``); this is for a replayed
    filing, whose complaint may have been filed before tracking existed.  The secret is
    derived from the complaint id, so a replay answers with the same one."""
    keys = keys_of(hash_key, complaint_id, anonymous=complainant.anonymous, phone=complainant.phone)
    await store.save_keys(
        db, complaint_id, phone_hash=keys.phone_hash, secret_hash=keys.secret_hash, now=now
    )
    return keys.secret


async def track(
    db: Db, hash_key: bytes, tracking_no: str, proof: Proof, given: str
) -> Tracked | None:
    """The case numbered ``tracking_no`` if ``given`` proves the caller its complainant;
    None for an unknown number, a wrong proof, or a case without keys alike (the same
    queries and one comparison in every case)."""
    found = await store.find_for_tracking(db, tracking_no)
    case, phone_hash, secret_hash = found if found is not None else (None, None, None)
    stored = phone_hash if proof == "phone" else secret_hash
    complaint_id = None if case is None else case.complaint_id
    if not matches(hash_key, complaint_id, stored, proof, given) or case is None:
        return None
    return Tracked(case, await store.public_history(db, case.complaint_id))


# Rows read per round when giving keys to earlier complaints.
KEY_BACKFILL_BATCH = 1000


async def key_earlier_complaints(db: Db, hash_key: bytes, now: dt.datetime) -> int:
    """Give a phone key to every complaint filed before tracking existed (or before a
    filing wrote its keys in its own statement: imports had none, and a filing's keys
    could be lost after it), from the masked phone kept since filing
    (``08x-xxx-5678``: the last four digits, no decryption).  Returns how many were keyed.

    Anonymous complaints filed then never had a secret on their receipt: they stay
    untrackable (the public 404), as there is nothing their complainant could present."""
    after, total = uuid.UUID(int=0), 0
    while rows := await store.keyless_phones(db, after, KEY_BACKFILL_BATCH):
        after = rows[-1][0]
        keys = [
            (cid, proof_hash(hash_key, cid, "phone", last4))
            for cid, masked in rows
            if (last4 := last4_of(masked)) is not None
        ]
        total += await store.save_phone_keys(db, keys, now)
    if total:
        log.info("tracking.earlier_complaints_keyed", complaints=total)
    return total
