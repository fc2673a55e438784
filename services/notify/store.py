"""notify's PostgreSQL: cases, the records of message-sending events, the messages' outbox.

The consumer's functions run inside its per-batch transaction (which also stores the
offset); the sender's each run as one short statement of their own.  Nothing personal is
written: template ids, statuses, counts, times and classes of failure.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.notify.domain.decisions import CaseFacts
from shared.dbtypes import Conn, Db

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """An event's record as it was read from the topic (key, value, headers)."""

    origin: str | None
    key: bytes | None
    value: bytes
    headers: Headers


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message claimed for sending; ``attempts`` counts this one."""

    notification_id: int
    complaint_id: uuid.UUID
    version: int
    channel: str
    template: str
    attempts: int
    tracking_no: str | None

    @property
    def key(self) -> str:
        """The message's name for good: its case, version and channel."""
        return f"{self.complaint_id}:{self.version}:{self.channel}"


# -- the consumer's side (inside its transaction) ---------------------------------------


async def record_case(
    conn: Conn, complaint_id: uuid.UUID, facts: CaseFacts, at: dt.datetime
) -> None:
    await conn.execute(
        "INSERT INTO cases (complaint_id, tracking_no, anonymous, backfilled, recorded_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (complaint_id) DO NOTHING",
        complaint_id,
        facts.tracking_no,
        facts.anonymous,
        facts.backfilled,
        at,
    )


async def load_case(conn: Conn, complaint_id: uuid.UUID) -> CaseFacts | None:
    row = await conn.fetchrow(
        "SELECT tracking_no, anonymous, backfilled FROM cases WHERE complaint_id = $1",
        complaint_id,
    )
    return (
        None if row is None else CaseFacts(row["tracking_no"], row["anonymous"], row["backfilled"])
    )


async def record_source(
    conn: Conn, complaint_id: uuid.UUID, version: int, record: SourceRecord
) -> None:
    """Keep the record (the first one read: a re-feed carries the same bytes)."""
    await conn.execute(
        "INSERT INTO source_records (complaint_id, version, origin, key, value, headers) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (complaint_id, version) DO NOTHING",
        complaint_id,
        version,
        record.origin,
        record.key,
        record.value,
        [[k, base64.b64encode(v).decode()] for k, v in record.headers],
    )


async def hold_early(
    conn: Conn,
    complaint_id: uuid.UUID,
    version: int,
    recorded_at: dt.datetime,
    *,
    stale_before: dt.datetime,
) -> None:
    """Keep (case, version), whose record is stored, until the case's filing is read; let
    go of those recorded before ``stale_before``, records and all (they would tell
    nothing now)."""
    await conn.execute(
        "INSERT INTO early_events (complaint_id, version, recorded_at) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        complaint_id,
        version,
        recorded_at,
    )
    await conn.execute(
        "WITH gone AS (DELETE FROM early_events WHERE recorded_at < $1 "
        "RETURNING complaint_id, version) "
        "DELETE FROM source_records s USING gone "
        "WHERE s.complaint_id = gone.complaint_id AND s.version = gone.version",
        stale_before,
    )


async def release_early(conn: Conn, complaint_id: uuid.UUID) -> list[SourceRecord]:
    """The records of the case's events held by ``hold_early``, in version order; no
    longer held."""
    rows = await conn.fetch(
        "WITH e AS (DELETE FROM early_events WHERE complaint_id = $1 RETURNING version) "
        "SELECT s.origin, s.key, s.value, s.headers FROM e JOIN source_records s "
        "ON s.complaint_id = $1 AND s.version = e.version ORDER BY e.version",
        complaint_id,
    )
    return [_source_record(r) for r in rows]


async def record_messages(
    conn: Conn,
    complaint_id: uuid.UUID,
    version: int,
    template: str,
    channels: Iterable[str],
    now: dt.datetime,
) -> int:
    """One pending message per channel, unless that (case, version, channel) has one: an
    event read again sends nothing again, except where its message is dead, which then
    becomes pending afresh (what `damrong dlq replay` of a dead message's record is for).
    Returns how many messages became pending."""
    rows = await conn.fetch(
        "INSERT INTO notifications AS n (complaint_id, version, channel, template, "
        "created_at, due_at) SELECT $1, $2, ch, $3, $5, $5 FROM unnest($4::text[]) AS ch "
        "ON CONFLICT (complaint_id, version, channel) DO UPDATE SET status = 'pending', "
        "attempts = 0, due_at = $5, claimed_until = NULL, dead_at = NULL, "
        "error_class = NULL, dlq_published = false WHERE n.status = 'dead' "
        "RETURNING notification_id",
        complaint_id,
        version,
        template,
        list(channels),
        now,
    )
    return len(rows)


async def revive_dead(conn: Conn, complaint_id: uuid.UUID, version: int, now: dt.datetime) -> int:
    """Make the dead messages of (case, version) pending afresh; returns how many."""
    return len(
        await conn.fetch(
            "UPDATE notifications SET status = 'pending', attempts = 0, due_at = $3, "
            "claimed_until = NULL, dead_at = NULL, error_class = NULL, dlq_published = false "
            "WHERE complaint_id = $1 AND version = $2 AND status = 'dead' "
            "RETURNING notification_id",
            complaint_id,
            version,
            now,
        )
    )


# -- the sender's side -----------------------------------------------------------------


async def claim(db: Db, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[Claimed]:
    """Up to ``limit`` due messages no other sender holds, held until ``now + lease`` and
    their attempt counted (rows another sender has locked are skipped, not waited for)."""
    rows = await db.fetch(
        "WITH due AS (SELECT notification_id FROM notifications WHERE status = 'pending' "
        "AND due_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1) "
        "ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED) "
        "UPDATE notifications n SET claimed_until = $2, attempts = attempts + 1, "
        "last_attempt_at = $1 FROM due WHERE n.notification_id = due.notification_id "
        "RETURNING n.notification_id, n.complaint_id, n.version, n.channel, n.template, "
        "n.attempts, (SELECT tracking_no FROM cases c WHERE c.complaint_id = n.complaint_id) "
        "AS tracking_no",
        now,
        now + lease,
        limit,
    )
    return [Claimed(**dict(r)) for r in rows]


async def source(db: Db, complaint_id: uuid.UUID, version: int) -> SourceRecord | None:
    row = await db.fetchrow(
        "SELECT origin, key, value, headers FROM source_records "
        "WHERE complaint_id = $1 AND version = $2",
        complaint_id,
        version,
    )
    return None if row is None else _source_record(row)


def _source_record(row: Any) -> SourceRecord:
    headers = [(k, base64.b64decode(v)) for k, v in row["headers"]]
    return SourceRecord(row["origin"], row["key"], bytes(row["value"]), headers)


async def mark_sent(db: Db, notification_id: int, now: dt.datetime) -> None:
    await db.execute(
        "UPDATE notifications SET status = 'sent', sent_at = $2, claimed_until = NULL, "
        "error_class = NULL WHERE notification_id = $1 AND status = 'pending'",
        notification_id,
        now,
    )


async def mark_skipped(db: Db, notification_id: int, why: str) -> None:
    await db.execute(
        "UPDATE notifications SET status = 'skipped', claimed_until = NULL, error_class = $2 "
        "WHERE notification_id = $1 AND status = 'pending'",
        notification_id,
        why[:200],
    )


async def mark_retry(db: Db, notification_id: int, at: dt.datetime, error: str) -> None:
    await db.execute(
        "UPDATE notifications SET due_at = $2, claimed_until = NULL, error_class = $3 "
        "WHERE notification_id = $1 AND status = 'pending'",
        notification_id,
        at,
        error[:200],
    )


async def mark_dead(db: Db, notification_id: int, now: dt.datetime, error: str) -> None:
    await db.execute(
        "UPDATE notifications SET status = 'dead', dead_at = $2, claimed_until = NULL, "
        "error_class = $3, dlq_published = false "
        "WHERE notification_id = $1 AND status = 'pending'",
        notification_id,
        now,
        error[:200],
    )


@dataclass(frozen=True, slots=True)
class DeadMessage:
    notification_id: int
    complaint_id: uuid.UUID
    version: int
    channel: str
    error_class: str


async def dead_unpublished(db: Db, limit: int) -> list[DeadMessage]:
    """Dead messages whose record is not on the dead-letter topic yet, oldest first."""
    rows = await db.fetch(
        "SELECT notification_id, complaint_id, version, channel, error_class "
        "FROM notifications WHERE status = 'dead' AND NOT dlq_published "
        "ORDER BY notification_id LIMIT $1",
        limit,
    )
    return [DeadMessage(**dict(r)) for r in rows]


async def mark_published(db: Db, notification_id: int) -> None:
    await db.execute(
        "UPDATE notifications SET dlq_published = true "
        "WHERE notification_id = $1 AND status = 'dead'",
        notification_id,
    )
