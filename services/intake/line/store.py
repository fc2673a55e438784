"""The LINE channel's PostgreSQL access (intake's schema): stored events, conversations,
replies.  Only sealed bytes and keyed hashes: nothing here is personal data in clear."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from shared.dbtypes import Conn

# The oldest event not yet worked, unless an earlier event of the same user still waits
# (each user's events are worked in order, even by several intake instances).
_CLAIM = """
SELECT webhook_event_id, user_hash, key_id, sealed, attempts
FROM line_events e
WHERE processed_at IS NULL AND (not_before IS NULL OR not_before <= $1)
  AND NOT EXISTS (
      SELECT 1 FROM line_events p
      WHERE p.processed_at IS NULL AND p.user_hash = e.user_hash AND p.seq < e.seq)
ORDER BY seq
LIMIT 1
FOR UPDATE SKIP LOCKED
"""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    webhook_event_id: str
    user_hash: bytes | None
    key_id: str
    sealed: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class StoredConversation:
    step: str
    key_id: str
    sealed_user: bytes
    sealed_draft: bytes
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PendingReply:
    webhook_event_id: str
    user_hash: bytes
    reply_token: str | None
    key_id: str
    sealed_messages: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class NewEvent:
    webhook_event_id: str
    user_hash: bytes | None
    redelivery: bool
    key_id: str
    sealed: bytes


class Claimed:
    """One claimed event and the transaction that holds it: what its work writes commits
    together (conversation, reply, done) or not at all."""

    def __init__(self, conn: Conn, event: StoredEvent) -> None:
        self.conn, self.event = conn, event

    async def conversation(self, user_hash: bytes) -> StoredConversation | None:
        row = await self.conn.fetchrow(
            "SELECT step, key_id, sealed_user, sealed_draft, updated_at FROM line_conversations"
            " WHERE user_hash = $1 FOR UPDATE",
            user_hash,
        )
        return None if row is None else StoredConversation(*row)

    async def save_conversation(
        self, user_hash: bytes, step: str, key_id: str, user: bytes, draft: bytes, now: dt.datetime
    ) -> None:
        await self.conn.execute(
            """INSERT INTO line_conversations AS c
                   (user_hash, step, key_id, sealed_user, sealed_draft, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (user_hash) DO UPDATE SET step = $2, key_id = $3,
                   sealed_user = $4, sealed_draft = $5, updated_at = $6""",
            user_hash,
            step,
            key_id,
            user,
            draft,
            now,
        )

    async def forget(self, user_hash: bytes) -> None:
        """Delete the user's conversation (the sealed userId with it)."""
        await self.conn.execute("DELETE FROM line_conversations WHERE user_hash = $1", user_hash)

    async def add_reply(
        self,
        user_hash: bytes,
        reply_token: str | None,
        key_id: str,
        sealed_messages: bytes,
        now: dt.datetime,
    ) -> None:
        await self.conn.execute(
            """INSERT INTO line_replies (webhook_event_id, user_hash, reply_token, key_id,
                   sealed_messages, created_at)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
            self.event.webhook_event_id,
            user_hash,
            reply_token,
            key_id,
            sealed_messages,
            now,
        )

    async def done(self, now: dt.datetime, error: str | None = None) -> None:
        await self.conn.execute(
            "UPDATE line_events SET processed_at = $2, error = $3 WHERE webhook_event_id = $1",
            self.event.webhook_event_id,
            now,
            error,
        )


class LineStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def insert_events(self, events: list[NewEvent], now: dt.datetime) -> int:
        """Store a delivery's events in one statement; a redelivered event (same
        webhookEventId) is kept once.  Returns how many were new."""
        if not events:
            return 0
        rows = await self._pool.fetch(
            """INSERT INTO line_events
                   (webhook_event_id, user_hash, redelivery, key_id, sealed, received_at)
               SELECT e.id, e.user_hash, e.redelivery, e.key_id, e.sealed, $6
               FROM unnest($1::text[], $2::bytea[], $3::boolean[], $4::text[], $5::bytea[])
                    WITH ORDINALITY AS e(id, user_hash, redelivery, key_id, sealed, n)
               ORDER BY e.n
               ON CONFLICT (webhook_event_id) DO NOTHING
               RETURNING webhook_event_id""",
            [e.webhook_event_id for e in events],
            [e.user_hash for e in events],
            [e.redelivery for e in events],
            [e.key_id for e in events],
            [e.sealed for e in events],
            now,
        )
        return len(rows)

    @contextlib.asynccontextmanager
    async def claim(self, now: dt.datetime) -> AsyncIterator[Claimed | None]:
        """The next event to work, locked in a transaction (None: nothing to do now)."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_CLAIM, now)
            yield None if row is None else Claimed(conn, StoredEvent(*row))

    async def failed(
        self, event: StoredEvent, error: str, now: dt.datetime, retry_at: dt.datetime | None
    ) -> None:
        """Count a failed attempt; ``retry_at`` None gives the event up (marked done)."""
        await self._pool.execute(
            """UPDATE line_events SET attempts = attempts + 1, error = $2, not_before = $3,
                   processed_at = CASE WHEN $3::timestamptz IS NULL THEN $4::timestamptz END
               WHERE webhook_event_id = $1""",
            event.webhook_event_id,
            error,
            retry_at,
            now,
        )

    async def purge(self, events_before: dt.datetime, conversations_before: dt.datetime) -> int:
        """Delete events worked before ``events_before`` (their replies with them) and
        conversations untouched since ``conversations_before``; returns the rows deleted."""
        async with self._pool.acquire() as conn, conn.transaction():
            events = await conn.execute(
                "DELETE FROM line_events WHERE processed_at < $1", events_before
            )
            talks = await conn.execute(
                "DELETE FROM line_conversations c WHERE updated_at < $1 AND NOT EXISTS ("
                " SELECT 1 FROM line_replies r WHERE r.user_hash = c.user_hash"
                " AND r.sent_at IS NULL AND r.gave_up_at IS NULL)",
                conversations_before,
            )
        return int(events.split()[-1]) + int(talks.split()[-1])

    async def sealed_user(self, user_hash: bytes) -> tuple[str, bytes] | None:
        row = await self._pool.fetchrow(
            "SELECT key_id, sealed_user FROM line_conversations WHERE user_hash = $1", user_hash
        )
        return None if row is None else (row["key_id"], row["sealed_user"])

    async def take_replies(
        self, limit: int, now: dt.datetime, lease: dt.timedelta
    ) -> list[PendingReply]:
        """Up to ``limit`` replies waiting to be sent, leased to the caller until
        ``now + lease`` (another instance does not take them meanwhile)."""
        rows = await self._pool.fetch(
            """UPDATE line_replies SET lease_until = $2
               WHERE webhook_event_id IN (
                   SELECT webhook_event_id FROM line_replies
                   WHERE sent_at IS NULL AND gave_up_at IS NULL
                     AND (lease_until IS NULL OR lease_until < $3)
                   ORDER BY created_at LIMIT $1
                   FOR UPDATE SKIP LOCKED)
               RETURNING webhook_event_id, user_hash, reply_token, key_id, sealed_messages,
                   attempts, created_at""",
            limit,
            now + lease,
            now,
        )
        return [PendingReply(*r[:6]) for r in sorted(rows, key=lambda r: r["created_at"])]

    async def reply_sent(self, webhook_event_id: str, via: str, now: dt.datetime) -> None:
        await self._pool.execute(
            "UPDATE line_replies SET sent_at = $2, sent_by = $3, attempts = attempts + 1"
            " WHERE webhook_event_id = $1",
            webhook_event_id,
            now,
            via,
        )

    async def reply_failed(
        self, webhook_event_id: str, now: dt.datetime, retry_at: dt.datetime | None
    ) -> None:
        """Count a failed send: taken again after ``retry_at``, or given up (None)."""
        await self._pool.execute(
            """UPDATE line_replies SET attempts = attempts + 1, lease_until = $3,
                   gave_up_at = CASE WHEN $3::timestamptz IS NULL THEN $2::timestamptz END
               WHERE webhook_event_id = $1""",
            webhook_event_id,
            now,
            retry_at,
        )
