"""Intake's personal-data tables: complainants' wrapped keys, clear reads recorded in the
same transaction, erasure, the access log, and sealing rows filed before encryption.

Clear values exist only in this process's memory, for the request that asked for them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.intake.domain.filing import Complainant, erased_complainant, masked_complainant
from services.intake.pii.domain.envelope import open_identity, rewrap, seal_identity, unwrap_key
from services.intake.pii.domain.keys import PiiKeys


class Erased(Exception):
    """The complainant's key was destroyed: their identity is gone for good."""

    def __init__(self, erased_at: dt.datetime) -> None:
        super().__init__(f"erased at {erased_at.isoformat()}")
        self.erased_at = erased_at


@dataclass(frozen=True, slots=True)
class ClearIdentity:
    complaint_id: uuid.UUID
    complainant_ref: uuid.UUID | None
    anonymous: bool
    identity: dict[str, str]


@dataclass(frozen=True, slots=True)
class Erasure:
    complaint_id: uuid.UUID
    erased_at: dt.datetime
    erased_by: str
    already: bool  # erased before this request (erasure is idempotent)


_READ = """
SELECT c.complaint_id, c.anonymous, c.complainant_ref, c.identity,
       k.key_id, k.wrapped_key, k.erased_at
FROM complaints c LEFT JOIN complainants k USING (complainant_ref)
WHERE c.complaint_id = $1
FOR SHARE OF c
"""
_LOG = """
INSERT INTO pii_access (at, subject, action, complaint_id, complainant_ref, fields)
VALUES ($1, $2, $3, $4, $5, $6)
"""


async def read_clear(
    pool: asyncpg.Pool, keys: PiiKeys, complaint_id: uuid.UUID, *, subject: str, now: dt.datetime
) -> ClearIdentity | None:
    """The complaint's clear identity, its read recorded (who, when, which fields) in the
    same transaction; None if there is no such complaint; Erased after an erasure."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(_READ, complaint_id)
        if row is None:
            return None
        if row["erased_at"] is not None:
            raise Erased(row["erased_at"])
        ref = row["complainant_ref"]
        identity: dict[str, str] = {}
        if ref is not None:
            data_key = unwrap_key(keys, ref, row["key_id"], bytes(row["wrapped_key"]))
            identity = open_identity(data_key, complaint_id, ref, bytes(row["identity"]))
        await conn.execute(_LOG, now, subject, "read", complaint_id, ref, sorted(identity))
    return ClearIdentity(complaint_id, ref, row["anonymous"], identity)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a complaint belongs: what a permission check needs of it."""

    complaint_id: uuid.UUID
    province_code: str
    district_code: str
    channel: str
    category: str


async def complaint_of(pool: asyncpg.Pool, ref: uuid.UUID) -> Placement | None:
    """Where the complainant's complaint belongs (for the erasure's permission check)."""
    row = await pool.fetchrow(
        "SELECT c.complaint_id, c.province_code, c.district_code, c.channel, c.category "
        "FROM complainants k JOIN complaints c USING (complaint_id) "
        "WHERE k.complainant_ref = $1",
        ref,
    )
    return None if row is None else Placement(**dict(row))


async def erase(
    pool: asyncpg.Pool, ref: uuid.UUID, *, subject: str, now: dt.datetime
) -> Erasure | None:
    """Destroy the complainant's data key, ciphertext and masked values, recording who
    erased when; None if there is no such complainant.  Idempotent."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT k.erased_at, k.erased_by, c.complaint_id, c.complainant_masked "
            "FROM complainants k JOIN complaints c USING (complaint_id) "
            "WHERE k.complainant_ref = $1 FOR UPDATE OF k, c",
            ref,
        )
        if row is None:
            return None
        if row["erased_at"] is not None:
            return Erasure(row["complaint_id"], row["erased_at"], row["erased_by"], True)
        await conn.execute(
            "UPDATE complainants SET key_id = NULL, wrapped_key = NULL, erased_at = $2, "
            "erased_by = $3 WHERE complainant_ref = $1",
            ref,
            now,
            subject,
        )
        await conn.execute(
            "UPDATE complaints SET identity = NULL, complainant = NULL, "
            "complainant_masked = $2 WHERE complaint_id = $1",
            row["complaint_id"],
            erased_complainant(),
        )
        masked: dict[str, Any] = row["complainant_masked"] or {}
        fields = sorted(k for k, v in masked.items() if k not in ("anonymous", "erased") and v)
        await conn.execute(_LOG, now, subject, "erase", row["complaint_id"], ref, fields)
    return Erasure(row["complaint_id"], now, subject, False)


async def access_log(
    pool: asyncpg.Pool, complaint_id: uuid.UUID | None, limit: int
) -> list[asyncpg.Record]:
    """Recorded clear reads and erasures, newest first (of one complaint, or all)."""
    return await pool.fetch(
        "SELECT at, subject, action, complaint_id, complainant_ref, fields FROM pii_access "
        "WHERE $1::uuid IS NULL OR complaint_id = $1 ORDER BY at DESC, access_id DESC "
        "LIMIT $2",
        complaint_id,
        limit,
    )


async def seal_plaintext_rows(
    pool: asyncpg.Pool, keys: PiiKeys, now: dt.datetime, batch: int = 500
) -> int:
    """Seal complainants stored in clear before encryption existed (at start-up); returns
    how many rows were sealed.  Each batch commits on its own: safe to interrupt."""
    done = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT complaint_id, complainant FROM complaints WHERE complainant IS NOT "
                "NULL LIMIT $1 FOR UPDATE SKIP LOCKED",
                batch,
            )
            for row in rows:
                stored: dict[str, Any] = row["complainant"]
                person = Complainant(**stored)
                identity = person.identity()
                sealed = seal_identity(keys, row["complaint_id"], identity) if identity else None
                if sealed is not None:
                    await conn.execute(
                        "INSERT INTO complainants (complainant_ref, complaint_id, key_id, "
                        "wrapped_key, created_at) VALUES ($1, $2, $3, $4, $5)",
                        sealed.complainant_ref,
                        row["complaint_id"],
                        sealed.key_id,
                        sealed.wrapped_key,
                        now,
                    )
                await conn.execute(
                    "UPDATE complaints SET complainant = NULL, complainant_ref = $2, "
                    "identity = $3, complainant_masked = $4 WHERE complaint_id = $1",
                    row["complaint_id"],
                    sealed.complainant_ref if sealed else None,
                    sealed.sealed if sealed else None,
                    masked_complainant(person.as_dict()),
                )
        done += len(rows)
        if len(rows) < batch:
            return done


async def rewrap_keys(pool: asyncpg.Pool, keys: PiiKeys, batch: int = 1000) -> int:
    """Wrap every data key not under the current master key again under it (after a
    rotation); returns how many.  Then the retired master key can be destroyed."""
    done = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT complainant_ref, key_id, wrapped_key FROM complainants "
                "WHERE key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
                keys.current_id,
                batch,
            )
            for row in rows:
                kid, wrapped = rewrap(
                    keys, row["complainant_ref"], row["key_id"], bytes(row["wrapped_key"])
                )
                await conn.execute(
                    "UPDATE complainants SET key_id = $2, wrapped_key = $3 "
                    "WHERE complainant_ref = $1",
                    row["complainant_ref"],
                    kid,
                    wrapped,
                )
        done += len(rows)
        if len(rows) < batch:
            return done
