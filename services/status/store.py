"""The case store: event stream plus current-state row per case, in PostgreSQL (schema status).

``CaseStore`` is the contract the handlers use; ``PgCaseStore`` is the real one (an in-memory
fake lives with the tests, and one contract suite runs against both).  The connection-level
functions below are what the consumer uses inside its own per-batch transaction.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import asyncpg

from services.status.domain import CaseState
from shared import outbox
from shared.events import Envelope


class ConcurrencyConflict(Exception):
    """Another writer appended this version first; reload and decide again."""

    def __init__(self, complaint_id: uuid.UUID, version: int) -> None:
        super().__init__(f"version {version} of case {complaint_id} already exists")
        self.complaint_id, self.version = complaint_id, version


class CaseStore(Protocol):
    async def load(self, complaint_id: uuid.UUID) -> CaseState | None:
        """The current state, or None for an unknown case."""

    async def history(self, complaint_id: uuid.UUID) -> list[Envelope]:
        """Every stored event of the case in version order ([] for an unknown case)."""

    async def create(self, env: Envelope, state: CaseState) -> bool:
        """Store a case's first event and state; False (and no change) if it already exists."""

    async def append(self, env: Envelope, state: CaseState) -> None:
        """Atomically store ``env`` (version n+1), move the case from version n to ``state``
        and queue ``env`` for publishing.  ConcurrencyConflict if version n+1 exists or the
        case is no longer at version n; nothing is written then."""


_CASE_COLUMNS = (
    "complaint_id", "tracking_no", "status", "version", "province_code", "district_code",
    "subdistrict_code", "category", "channel", "received_at", "recorded_at", "closed_at",
    "closure_reason", "agency", "due_date", "last_event_at",
)
_MUTABLE = ("status", "version", "closed_at", "closure_reason", "agency", "due_date",
            "last_event_at")


def _case_row(state: CaseState) -> dict[str, Any]:
    row = state.model_dump(include=set(_CASE_COLUMNS))
    for key in ("status", "category", "channel", "closure_reason"):
        if row[key] is not None:
            row[key] = str(row[key])
    return row


def _state(row: asyncpg.Record) -> CaseState:
    return CaseState.model_validate(dict(row))


def _envelope(row: asyncpg.Record) -> Envelope:
    return Envelope.model_validate(
        {k: row[k] for k in ("event_id", "complaint_id", "version", "source", "occurred_at",
                             "recorded_at", "correlation_id", "data")}
    )


async def _insert_event(conn: asyncpg.Connection, env: Envelope, *, if_absent: bool) -> bool:
    sql = (
        "INSERT INTO events (complaint_id, version, event_id, kind, source, occurred_at, "
        "recorded_at, correlation_id, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    if if_absent:
        sql += " ON CONFLICT DO NOTHING"
    status = await conn.execute(
        sql, env.complaint_id, env.version, env.event_id, env.kind, env.source, env.occurred_at,
        env.recorded_at, env.correlation_id, env.data.model_dump(mode="json"),
    )
    return status.endswith(" 1")


async def load_case(conn: asyncpg.Connection | asyncpg.Pool, complaint_id: uuid.UUID
                    ) -> CaseState | None:
    row = await conn.fetchrow(
        f"SELECT {', '.join(_CASE_COLUMNS)} FROM cases WHERE complaint_id = $1", complaint_id
    )
    return _state(row) if row else None


async def load_events(conn: asyncpg.Connection | asyncpg.Pool, complaint_id: uuid.UUID
                      ) -> list[Envelope]:
    rows = await conn.fetch(
        "SELECT * FROM events WHERE complaint_id = $1 ORDER BY version", complaint_id
    )
    return [_envelope(r) for r in rows]


async def create_case(conn: asyncpg.Connection, env: Envelope, state: CaseState) -> bool:
    """Insert version 1 and the case row unless the case exists; run inside a transaction.

    Idempotent: a redelivered or duplicate filing (same or different event id) changes nothing.
    """
    if not await _insert_event(conn, env, if_absent=True):
        return False
    row = _case_row(state)
    cols = list(row)
    await conn.execute(
        f"INSERT INTO cases ({', '.join(cols)}) "
        f"VALUES ({', '.join(f'${i}' for i in range(1, len(cols) + 1))}) "
        "ON CONFLICT (complaint_id) DO NOTHING",
        *row.values(),
    )
    return True


async def append_event(conn: asyncpg.Connection, env: Envelope, state: CaseState, topic: str
                       ) -> None:
    """Event row, case row and outbox row for one transition; run inside a transaction."""
    try:
        await _insert_event(conn, env, if_absent=False)
    except asyncpg.UniqueViolationError:
        raise ConcurrencyConflict(env.complaint_id, env.version) from None
    row = _case_row(state)
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(_MUTABLE, start=3))
    updated = await conn.execute(
        f"UPDATE cases SET {sets} WHERE complaint_id = $1 AND version = $2",
        env.complaint_id, env.version - 1, *(row[c] for c in _MUTABLE),
    )
    if updated != "UPDATE 1":
        # Belt and braces: the events key already serialises writers, but a case row that
        # moved on without its event must never be overwritten.
        raise ConcurrencyConflict(env.complaint_id, env.version)
    await outbox.append(conn, topic, [env])


class PgCaseStore:
    """CaseStore on a pool; each write is its own transaction."""

    def __init__(self, pool: asyncpg.Pool, topic: str) -> None:
        self._pool = pool
        self._topic = topic

    async def load(self, complaint_id: uuid.UUID) -> CaseState | None:
        return await load_case(self._pool, complaint_id)

    async def history(self, complaint_id: uuid.UUID) -> list[Envelope]:
        return await load_events(self._pool, complaint_id)

    async def create(self, env: Envelope, state: CaseState) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            return await create_case(conn, env, state)

    async def append(self, env: Envelope, state: CaseState) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await append_event(conn, env, state, self._topic)
