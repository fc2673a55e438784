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
from shared.chain import Link, head, seal
from shared.dbtypes import Conn, Db
from shared.events import Envelope, current_version, type_name
from shared.upcasting import current_data


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

    async def append(self, env: Envelope, state: CaseState) -> Envelope:
        """Atomically store ``env`` (version n+1) chained onto the stored version n, move
        the case from version n to ``state`` and queue it for publishing; return it as
        stored (sealed: with ``prev_hash`` and ``hash``).  ConcurrencyConflict if version
        n+1 exists or the case is no longer at version n; nothing is written then."""


_CASE_COLUMNS = (
    "complaint_id",
    "tracking_no",
    "status",
    "version",
    "province_code",
    "district_code",
    "subdistrict_code",
    "category",
    "channel",
    "received_at",
    "recorded_at",
    "closed_at",
    "closure_reason",
    "agency",
    "due_date",
    "last_event_at",
    "closed_version",
    "rated",
    "reopen_requested_at",
)
_MUTABLE = (
    "status",
    "version",
    "closed_at",
    "closure_reason",
    "agency",
    "due_date",
    "last_event_at",
    "closed_version",
    "rated",
    "reopen_requested_at",
)


def _case_row(state: CaseState) -> dict[str, Any]:
    row = state.model_dump(include=set(_CASE_COLUMNS))
    for key in ("status", "category", "channel", "closure_reason"):
        if row[key] is not None:
            row[key] = str(row[key])
    return row


def _state(row: asyncpg.Record) -> CaseState:
    return CaseState.model_validate(dict(row))


def row_envelope(row: asyncpg.Record) -> Envelope:
    """A stored event, its payload upcast to the current schema."""
    payload = {k: v for k, v in row["data"].items() if k != "kind"}
    return Envelope(
        event_id=row["event_id"],
        complaint_id=row["complaint_id"],
        version=row["version"],
        source=row["source"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        correlation_id=row["correlation_id"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        data=current_data(row["kind"], row["schema_version"], payload, row["occurred_at"]),
    )


def row_link(row: asyncpg.Record) -> Link:
    """A stored event as written, for verifying its chain."""
    return Link(
        complaint_id=row["complaint_id"],
        version=row["version"],
        event_id=row["event_id"],
        source=row["source"],
        type=type_name(row["kind"], row["schema_version"]),
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        correlation_id=row["correlation_id"],
        data={k: v for k, v in row["data"].items() if k != "kind"},
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


async def stored_links(
    conn: Conn, district: str | None = None
) -> dict[tuple[uuid.UUID, int], Link]:
    """Every stored event (of one district's cases), as written, by case and version: what
    ``damrong audit verify`` checks the chains of."""
    sql = "SELECT * FROM events"
    args: list[str] = []
    if district is not None:
        sql += " WHERE complaint_id IN (SELECT complaint_id FROM cases WHERE district_code = $1)"
        args.append(district)
    return {(r["complaint_id"], r["version"]): row_link(r) for r in await conn.fetch(sql, *args)}


async def _insert_event(conn: Conn, env: Envelope, *, if_absent: bool) -> bool:
    sql = (
        "INSERT INTO events (complaint_id, version, event_id, kind, source, occurred_at, "
        "recorded_at, correlation_id, data, schema_version, prev_hash, hash) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    )
    if if_absent:
        sql += " ON CONFLICT DO NOTHING"
    status = await conn.execute(
        sql,
        env.complaint_id,
        env.version,
        env.event_id,
        env.kind,
        env.source,
        env.occurred_at,
        env.recorded_at,
        env.correlation_id,
        env.data.model_dump(mode="json"),
        current_version(env.kind),
        env.prev_hash,
        env.hash,
    )
    return status.endswith(" 1")


async def load_case(conn: Db, complaint_id: uuid.UUID) -> CaseState | None:
    row = await conn.fetchrow(
        f"SELECT {', '.join(_CASE_COLUMNS)} FROM cases WHERE complaint_id = $1", complaint_id
    )
    return _state(row) if row else None


async def load_events(conn: Db, complaint_id: uuid.UUID) -> list[Envelope]:
    rows = await conn.fetch(
        "SELECT * FROM events WHERE complaint_id = $1 ORDER BY version", complaint_id
    )
    return [row_envelope(r) for r in rows]


async def create_case(conn: Conn, env: Envelope, state: CaseState) -> bool:
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


# Column types of ``cases``, for passing the columns of many rows as arrays.
_CASE_TYPES = {
    "complaint_id": "uuid",
    "tracking_no": "text",
    "status": "text",
    "version": "int4",
    "province_code": "text",
    "district_code": "text",
    "subdistrict_code": "text",
    "category": "text",
    "channel": "text",
    "received_at": "timestamptz",
    "recorded_at": "timestamptz",
    "closed_at": "timestamptz",
    "closure_reason": "text",
    "agency": "text",
    "due_date": "date",
    "last_event_at": "timestamptz",
    "closed_version": "int4",
    "rated": "bool",
    "reopen_requested_at": "timestamptz",
}
assert tuple(_CASE_TYPES) == _CASE_COLUMNS
_EVENT_TYPES = {
    "complaint_id": "uuid",
    "version": "int4",
    "event_id": "uuid",
    "kind": "text",
    "source": "text",
    "occurred_at": "timestamptz",
    "recorded_at": "timestamptz",
    "correlation_id": "text",
    "data": "text",  # JSON text, cast to jsonb by the server
    "schema_version": "int4",
    "prev_hash": "text",
    "hash": "text",
}
_CASE_ONLY = _CASE_COLUMNS[1:]  # complaint_id is shared with the events arrays ($1)


def _create_cases_sql() -> str:
    ev_cols = ", ".join(_EVENT_TYPES)
    ev_values = ", ".join(f"{c}::jsonb" if c == "data" else c for c in _EVENT_TYPES)
    ev_arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(_EVENT_TYPES.values(), start=1))
    first = len(_EVENT_TYPES) + 1
    case_arrays = ", ".join(
        f"${i}::{_CASE_TYPES[c]}[]" for i, c in enumerate(_CASE_ONLY, start=first)
    )
    case_cols = ", ".join(_CASE_COLUMNS)
    return (
        f"WITH ev AS ("
        f" INSERT INTO events ({ev_cols})"
        f" SELECT {ev_values}"
        f" FROM unnest({ev_arrays}) AS t({ev_cols})"
        f" ON CONFLICT DO NOTHING RETURNING complaint_id"
        f"), cs AS ("
        f" INSERT INTO cases ({case_cols})"
        f" SELECT {case_cols} FROM unnest($1::uuid[], {case_arrays}) AS t({case_cols})"
        f" WHERE complaint_id IN (SELECT complaint_id FROM ev)"
        f" ON CONFLICT (complaint_id) DO NOTHING"
        f") SELECT count(*) FROM ev"
    )


_CREATE_CASES_SQL = _create_cases_sql()


def event_arrays(envs: list[Envelope]) -> list[list[Any]]:
    """The columns of ``_EVENT_TYPES`` for ``envs``, one list per column (data as JSON text)."""
    return [
        [e.complaint_id for e in envs],
        [e.version for e in envs],
        [e.event_id for e in envs],
        [e.data.kind for e in envs],
        [e.source for e in envs],
        [e.occurred_at for e in envs],
        [e.recorded_at for e in envs],
        [e.correlation_id for e in envs],
        [e.data.model_dump_json() for e in envs],
        [current_version(e.kind) for e in envs],
        [e.prev_hash for e in envs],
        [e.hash for e in envs],
    ]


def case_arrays(states: list[CaseState]) -> list[list[Any]]:
    """The columns ``_CASE_ONLY`` of the case rows for ``states``, one list per column."""
    args: list[list[Any]] = []
    for col in _CASE_ONLY:
        values = [getattr(s, col) for s in states]
        if _CASE_TYPES[col] == "text":  # enums as their values, as _case_row does
            values = [None if v is None else str(v) for v in values]
        args.append(values)
    return args


async def create_cases(conn: Conn, filings: list[tuple[Envelope, CaseState]]) -> int:
    """``create_case`` for many first events in one statement; returns how many were new.

    The filings must have pairwise distinct complaint ids and event ids: then none depends
    on another, and each is stored (event and case row) exactly when ``create_case`` would
    store it, i.e. when neither its case nor its event id is stored yet.
    """
    if not filings:
        return 0
    args = event_arrays([env for env, _state in filings])
    args += case_arrays([state for _env, state in filings])
    created: int = await conn.fetchval(_CREATE_CASES_SQL, *args)
    return created


async def stored_first_events(
    conn: Conn, complaint_ids: list[uuid.UUID], event_ids: list[uuid.UUID]
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Which of ``complaint_ids`` have a version 1 stored, and which ``event_ids`` are used."""
    row = await conn.fetchrow(
        "SELECT ARRAY(SELECT complaint_id FROM events "
        "             WHERE complaint_id = ANY($1::uuid[]) AND version = 1), "
        "       ARRAY(SELECT event_id FROM events WHERE event_id = ANY($2::uuid[]))",
        complaint_ids,
        event_ids,
    )
    assert row is not None  # a SELECT without FROM answers exactly one row
    return set(row[0]), set(row[1])


async def append_event(conn: Conn, env: Envelope, state: CaseState, topic: str) -> Envelope:
    """Event row, case row and outbox row for one transition, the event chained onto the
    stored previous one; run inside a transaction.  Returns the event as stored."""
    # Events are immutable and (complaint_id, version) unique: the previous event read here
    # is the one the new event's insert competes to follow.
    prev = await conn.fetchrow(
        "SELECT * FROM events WHERE complaint_id = $1 AND version = $2",
        env.complaint_id,
        env.version - 1,
    )
    if prev is None:
        raise ConcurrencyConflict(env.complaint_id, env.version)
    env = seal(env, head(row_link(prev)))
    try:
        await _insert_event(conn, env, if_absent=False)
    except asyncpg.UniqueViolationError:
        raise ConcurrencyConflict(env.complaint_id, env.version) from None
    row = _case_row(state)
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(_MUTABLE, start=3))
    updated = await conn.execute(
        f"UPDATE cases SET {sets} WHERE complaint_id = $1 AND version = $2",
        env.complaint_id,
        env.version - 1,
        *(row[c] for c in _MUTABLE),
    )
    if updated != "UPDATE 1":
        # Belt and braces: the events key already serialises writers, but a case row that
        # moved on without its event must never be overwritten.
        raise ConcurrencyConflict(env.complaint_id, env.version)
    await outbox.append(conn, topic, [env])
    return env


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

    async def append(self, env: Envelope, state: CaseState) -> Envelope:
        async with self._pool.acquire() as conn, conn.transaction():
            return await append_event(conn, env, state, self._topic)

    async def append_all(self, events: list[tuple[Envelope, CaseState]]) -> list[Envelope]:
        """``append`` for consecutive versions of one case, all in one transaction: all
        stored or none (ConcurrencyConflict)."""
        async with self._pool.acquire() as conn, conn.transaction():
            return [await append_event(conn, env, state, self._topic) for env, state in events]
