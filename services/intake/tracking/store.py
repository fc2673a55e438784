"""SQL of public tracking: the case view folded from events, its history, the keys.

``public_cases`` and ``find_public_cases`` are the read side other parts of intake build
on (Open311's request views); they take a pool or a connection.  ``apply`` is the fold's
write side, run by the consumer inside its per-batch transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence

import asyncpg

from services.intake.tracking.domain.view import (
    FiledFacts,
    HistoryEntry,
    OpenClosed,
    PublicCase,
    statuses_of,
)
from shared.codes import CaseStatus, ClosureReason
from shared.dbtypes import Conn, Db

_CASE_COLUMNS = (
    "complaint_id, tracking_no, status, received_at, updated_at, closure_reason, agency, "
    "category, district_code, subdistrict_code"
)

_INSERT_HISTORY = """
INSERT INTO tracking_history (complaint_id, version, kind, status, at, closure_reason, agency)
SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::timestamptz[],
                     $6::text[], $7::text[])
ON CONFLICT (complaint_id, version) DO NOTHING
"""

# A filing opens the row at ``filed``; the refresh below moves it to its latest entry.
_INSERT_FILED = """
INSERT INTO tracking_cases (complaint_id, tracking_no, category, district_code,
                            subdistrict_code, received_at, status, version, updated_at)
SELECT id, tn, cat, dc, sdc, rcv, 'filed', 0, rcv
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
    AS t(id, tn, cat, dc, sdc, rcv)
-- Any conflict: a repeat, or (never seen; numbers come from one sequence) another case
-- claiming the number, which must not stop the consumer.
ON CONFLICT DO NOTHING
"""

# The row is a function of the history alone (order and repeats do not matter): status
# and time of the latest entry, its closure reason (set only on a closing entry), and the
# last agency the case went to.
_REFRESH = """
WITH latest AS (
    SELECT DISTINCT ON (complaint_id) complaint_id, version, status, at, closure_reason
    FROM tracking_history WHERE complaint_id = ANY($1::uuid[])
    ORDER BY complaint_id, version DESC
), agency AS (
    SELECT DISTINCT ON (complaint_id) complaint_id, agency
    FROM tracking_history WHERE complaint_id = ANY($1::uuid[]) AND agency IS NOT NULL
    ORDER BY complaint_id, version DESC
)
UPDATE tracking_cases c
SET status = l.status, version = l.version, updated_at = l.at,
    closure_reason = l.closure_reason, agency = a.agency
FROM latest l LEFT JOIN agency a USING (complaint_id)
-- The ids again, for the case rows: joined to ``latest`` alone, the planner hashed every
-- row of tracking_cases for each batch, a time growing with the table (16 ms a batch of
-- 660 at 100,000 cases, against 5 ms read by the key).
WHERE c.complaint_id = ANY($1::uuid[])
  AND c.complaint_id = l.complaint_id AND c.version IS DISTINCT FROM l.version
"""


async def apply(conn: Conn, filings: Sequence[FiledFacts], entries: Sequence[HistoryEntry]) -> None:
    """Store ``filings`` and ``entries`` (repeats are ignored) and bring each touched case
    row to its latest entry.  Run inside the consumer's transaction."""
    if entries:
        await conn.execute(
            _INSERT_HISTORY,
            [e.complaint_id for e in entries],
            [e.version for e in entries],
            [e.kind for e in entries],
            [e.status.value for e in entries],
            [e.at for e in entries],
            [None if e.closure_reason is None else e.closure_reason.value for e in entries],
            [e.agency for e in entries],
        )
    if filings:
        await conn.execute(
            _INSERT_FILED,
            [f.complaint_id for f in filings],
            [f.tracking_no for f in filings],
            [f.category for f in filings],
            [f.district_code for f in filings],
            [f.subdistrict_code for f in filings],
            [f.received_at for f in filings],
        )
    touched = {e.complaint_id for e in entries} | {f.complaint_id for f in filings}
    if touched:
        # By the ids, whatever the planner believes of the tables: on backfill day they
        # grow from empty faster than autovacuum analyzes them, and a plan cached while
        # the history was empty scanned all of it for each batch, comparing every row with
        # every id (180 ms a batch of 1,090 at 19,000 rows, growing with both).
        await conn.execute("SET LOCAL enable_seqscan = off")
        await conn.execute(_REFRESH, list(touched))
        await conn.execute("RESET enable_seqscan")


def _case(row: asyncpg.Record) -> PublicCase:
    reason = row["closure_reason"]
    return PublicCase(
        complaint_id=row["complaint_id"],
        tracking_no=row["tracking_no"],
        status=CaseStatus(row["status"]),
        received_at=row["received_at"],
        updated_at=row["updated_at"],
        closure_reason=None if reason is None else ClosureReason(reason),
        agency=row["agency"],
        category=row["category"],
        district_code=row["district_code"],
        subdistrict_code=row["subdistrict_code"],
    )


async def public_cases(db: Db, complaint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, PublicCase]:
    """The public view of each of ``complaint_ids`` that intake has seen filed (an id it
    has not is absent from the answer)."""
    ids = list(dict.fromkeys(complaint_ids))
    if not ids:
        return {}
    rows = await db.fetch(
        f"SELECT {_CASE_COLUMNS} FROM tracking_cases WHERE complaint_id = ANY($1::uuid[])", ids
    )
    return {row["complaint_id"]: _case(row) for row in rows}


async def find_public_cases(
    db: Db,
    *,
    categories: Sequence[str] | None = None,
    received_from: dt.datetime | None = None,
    received_to: dt.datetime | None = None,
    state: OpenClosed | None = None,
    limit: int = 1000,
) -> list[PublicCase]:
    """Cases received in ``[received_from, received_to]`` (either end open when None), of
    one of ``categories`` (any when None), open or closed in Open311's sense (any when
    None), newest received first, at most ``limit`` (capped at 10,000)."""
    statuses = None if state is None else sorted(s.value for s in statuses_of(state))
    rows = await db.fetch(
        f"""
        SELECT {_CASE_COLUMNS} FROM tracking_cases
        WHERE ($1::text[] IS NULL OR category = ANY($1::text[]))
          AND ($2::timestamptz IS NULL OR received_at >= $2)
          AND ($3::timestamptz IS NULL OR received_at <= $3)
          AND ($4::text[] IS NULL OR status = ANY($4::text[]))
        ORDER BY received_at DESC, complaint_id
        LIMIT $5
        """,
        None if categories is None else list(categories),
        received_from,
        received_to,
        statuses,
        max(0, min(limit, 10_000)),
    )
    return [_case(row) for row in rows]


async def public_history(db: Db, complaint_id: uuid.UUID) -> list[HistoryEntry]:
    """The public history of a case, oldest first."""
    rows = await db.fetch(
        "SELECT complaint_id, version, kind, status, at, closure_reason, agency "
        "FROM tracking_history WHERE complaint_id = $1 ORDER BY version",
        complaint_id,
    )
    return [
        HistoryEntry(
            complaint_id=r["complaint_id"],
            version=r["version"],
            kind=r["kind"],
            status=CaseStatus(r["status"]),
            at=r["at"],
            closure_reason=None
            if r["closure_reason"] is None
            else ClosureReason(r["closure_reason"]),
            agency=r["agency"],
        )
        for r in rows
    ]


async def find_for_tracking(
    db: Db, tracking_no: str
) -> tuple[PublicCase, bytes | None, bytes | None] | None:
    """The case numbered ``tracking_no`` with its stored phone and secret hashes (each
    None when absent), or None if intake has no such case in its view."""
    row = await db.fetchrow(
        f"""
        SELECT {", ".join("c." + col.strip() for col in _CASE_COLUMNS.split(","))},
               k.phone_hash, k.secret_hash
        FROM tracking_cases c LEFT JOIN tracking_keys k USING (complaint_id)
        WHERE c.tracking_no = $1
        """,
        tracking_no,
    )
    if row is None:
        return None
    phone, secret = row["phone_hash"], row["secret_hash"]
    return (
        _case(row),
        None if phone is None else bytes(phone),
        None if secret is None else bytes(secret),
    )


async def save_keys(
    db: Db,
    complaint_id: uuid.UUID,
    *,
    phone_hash: bytes | None,
    secret_hash: bytes | None,
    now: dt.datetime,
) -> bool:
    """Store the tracking keys of a complaint unless it has some already; True if stored
    now (so a secret is shown once: a second call stores nothing and returns False)."""
    if phone_hash is None and secret_hash is None:
        return False
    stored = await db.fetchval(
        "INSERT INTO tracking_keys (complaint_id, phone_hash, secret_hash, created_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (complaint_id) DO NOTHING RETURNING true",
        complaint_id,
        phone_hash,
        secret_hash,
        now,
    )
    return bool(stored)


async def keyless_phones(db: Db, after: uuid.UUID, limit: int) -> list[tuple[uuid.UUID, str]]:
    """Up to ``limit`` complaints after ``after`` (by id) that have no tracking keys but a
    masked phone kept since filing, with that masked phone (``08x-xxx-5678``)."""
    rows = await db.fetch(
        """
        SELECT c.complaint_id, c.complainant_masked ->> 'phone' AS phone
        FROM complaints c
        WHERE c.complaint_id > $1 AND NOT c.anonymous
          AND c.complainant_masked ->> 'phone' IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM tracking_keys k WHERE k.complaint_id = c.complaint_id)
        ORDER BY c.complaint_id
        LIMIT $2
        """,
        after,
        limit,
    )
    return [(r["complaint_id"], r["phone"]) for r in rows]


async def save_phone_keys(db: Db, keys: Sequence[tuple[uuid.UUID, bytes]], now: dt.datetime) -> int:
    """Store phone keys for complaints that have none; the number stored."""
    if not keys:
        return 0
    stored = await db.fetchval(
        """
        WITH s AS (
            INSERT INTO tracking_keys (complaint_id, phone_hash, created_at)
            SELECT id, h, $3 FROM unnest($1::uuid[], $2::bytea[]) AS t(id, h)
            ON CONFLICT (complaint_id) DO NOTHING RETURNING 1
        ) SELECT count(*) FROM s
        """,
        [k for k, _ in keys],
        [h for _, h in keys],
        now,
    )
    return int(stored)
