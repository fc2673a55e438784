"""kpi's tables: the event log it received (``events``) and the per-case projection (``cases``).

Writing: ``record`` stores one event and, when it is the case's next version, applies it,
all in one statement (the common, in-order path).  It answers whether a stored later
version now follows; ``catch_up`` then folds that run in with the pure domain fold.
The rules (what a transition does) come from ``domain``; SQL only carries them out.

A whole batch takes three statements whatever its size: ``store_events`` inserts every
event at once and says which were stored already (and which earlier ones still wait),
``load_cases`` reads the cases the new ones touch, and ``save_cases`` writes back those
the fold (``domain.receive``) changed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg
import orjson
from pydantic import TypeAdapter

from services.kpi.domain import cases as domain
from services.kpi.domain.cases import CaseRow, Fact
from shared.codes import CaseStatus
from shared.dbtypes import Conn, Db
from shared.events import ComplaintFiled, EventData

_DATA: TypeAdapter[EventData] = TypeAdapter(EventData)

# The filing creates the case; `more` says a stored v2 is waiting to be applied.
_FILED_SQL = """
WITH ins AS (
    INSERT INTO events (complaint_id, version, kind, occurred_at, recorded_at, data)
    VALUES ($1, 1, 'complaint.filed', $2, $3, $4)
    ON CONFLICT DO NOTHING
    RETURNING complaint_id
), up AS (
    INSERT INTO cases (complaint_id, applied_version, fiscal_year, province_code,
                       district_code, channel, category, received_at, recorded_at, status,
                       closed_at, last_recorded_at)
    SELECT complaint_id, 1, $5, $6, $7, $8, $9, $10, $11, 'filed', NULL, $3 FROM ins
    ON CONFLICT (complaint_id) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM up)
   AND EXISTS (SELECT 1 FROM events WHERE complaint_id = $1 AND version = 2) AS more
"""

# A transition applies only on top of exactly the previous version; otherwise it waits.
_TRANSITION_SQL = """
WITH ins AS (
    INSERT INTO events (complaint_id, version, kind, occurred_at, recorded_at, data)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT DO NOTHING
    RETURNING version
), up AS (
    UPDATE cases AS c
       SET applied_version = ins.version,
           status = COALESCE($7, c.status),
           closed_at = CASE $8::text WHEN 'set' THEN $4 WHEN 'clear' THEN NULL
                                     ELSE c.closed_at END,
           last_recorded_at = $5
      FROM ins
     WHERE c.complaint_id = $1 AND c.applied_version = ins.version - 1
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM up)
   AND EXISTS (SELECT 1 FROM events WHERE complaint_id = $1 AND version = $2 + 1) AS more
"""


async def record(conn: Conn, fact: Fact) -> bool:
    """Store ``fact`` (a duplicate does nothing) and apply it if it is the next version.

    Returns True when it was applied and the case's following version is already stored,
    i.e. the caller should ``catch_up``.  ``fact`` must have passed ``domain.check``.
    """
    data = fact.data.model_dump(mode="json")
    if fact.kind == domain.FILED:
        case = domain.start(fact)
        more = await conn.fetchval(
            _FILED_SQL,
            fact.complaint_id,
            fact.occurred_at,
            fact.recorded_at,
            data,
            case.fiscal_year,
            case.province_code,
            case.district_code,
            case.channel,
            case.category,
            case.received_at,
            case.recorded_at,
        )
    else:
        status, effect = domain.transition(fact.kind)
        more = await conn.fetchval(
            _TRANSITION_SQL,
            fact.complaint_id,
            fact.version,
            fact.kind,
            fact.occurred_at,
            fact.recorded_at,
            data,
            None if status is None else str(status),
            str(effect),
        )
    return bool(more)


def _case(row: asyncpg.Record) -> CaseRow:
    return CaseRow(**{**dict(row), "status": CaseStatus(row["status"])})


def _fact(row: asyncpg.Record) -> Fact:
    return Fact(
        row["complaint_id"],
        row["version"],
        row["occurred_at"],
        row["recorded_at"],
        _DATA.validate_python(row["data"]),
    )


async def load_case(conn: Conn, complaint_id: uuid.UUID) -> CaseRow | None:
    row = await conn.fetchrow("SELECT * FROM cases WHERE complaint_id = $1", complaint_id)
    return None if row is None else _case(row)


async def catch_up(conn: Conn, complaint_id: uuid.UUID) -> CaseRow | None:
    """Fold every stored version that now follows the case's applied one; return the case."""
    case = await load_case(conn, complaint_id)
    if case is None:  # no filing yet: nothing can follow
        return None
    rows = await conn.fetch(
        "SELECT complaint_id, version, occurred_at, recorded_at, data FROM events "
        "WHERE complaint_id = $1 AND version > $2 ORDER BY version",
        complaint_id,
        case.applied_version,
    )
    new = domain.catch_up(case, [_fact(r) for r in rows])
    if new is not None and new != case:
        await conn.execute(
            "UPDATE cases SET applied_version = $2, status = $3, closed_at = $4, "
            "last_recorded_at = $5 WHERE complaint_id = $1",
            complaint_id,
            new.applied_version,
            str(new.status),
            new.closed_at,
            new.last_recorded_at,
        )
    return new


# A batch travels as one JSON document: orjson writes it several times faster than
# asyncpg encodes arrays element by element, for about the same work on the server.
# (jsonb_to_recordset, not json_: it copies each ``data`` out instead of re-parsing it.)
_BATCH = """jsonb_to_recordset($1::text::jsonb) AS b(
    complaint_id uuid, version int, kind text, occurred_at timestamptz,
    recorded_at timestamptz, data jsonb)"""

# Inserts the batch, then answers from the statement's snapshot, which does not see its
# own inserts: the keys that were already stored (rows with a NULL occurred_at; none on
# the common path), and the earlier-stored events of the batch's cases that wait above
# the applied version.
_STORE_MANY_SQL = f"""
WITH batch AS MATERIALIZED (
    SELECT * FROM {_BATCH}
), ins AS (
    INSERT INTO events (complaint_id, version, kind, occurred_at, recorded_at, data)
    SELECT complaint_id, version, kind, occurred_at, recorded_at, data FROM batch
    ON CONFLICT DO NOTHING
    RETURNING complaint_id, version
)
SELECT b.complaint_id, b.version, NULL::timestamptz AS occurred_at,
       NULL::timestamptz AS recorded_at, NULL::jsonb AS data
  FROM batch AS b
 WHERE NOT EXISTS (SELECT 1 FROM ins
                    WHERE ins.complaint_id = b.complaint_id AND ins.version = b.version)
UNION ALL
SELECT e.complaint_id, e.version, e.occurred_at, e.recorded_at, e.data
  FROM events AS e
 WHERE e.complaint_id = ANY (ARRAY(SELECT complaint_id FROM batch))
   AND e.version > coalesce((SELECT c.applied_version FROM cases AS c
                              WHERE c.complaint_id = e.complaint_id), 0)
"""

_CASE_COLUMNS = (
    "complaint_id, applied_version, fiscal_year, province_code, district_code, "
    "channel, category, received_at, recorded_at, status, closed_at, "
    "last_recorded_at"
)

# Only what a fold can change is updated: the rest is fixed by the filing.
_SAVE_CASES_SQL = f"""
INSERT INTO cases ({_CASE_COLUMNS})
SELECT {_CASE_COLUMNS}
  FROM json_to_recordset($1::text::json) AS c(
       complaint_id uuid, applied_version int, fiscal_year int, province_code text,
       district_code text, channel text, category text, received_at timestamptz,
       recorded_at timestamptz, status text, closed_at timestamptz,
       last_recorded_at timestamptz)
ON CONFLICT (complaint_id) DO UPDATE
   SET applied_version = EXCLUDED.applied_version, status = EXCLUDED.status,
       closed_at = EXCLUDED.closed_at, last_recorded_at = EXCLUDED.last_recorded_at
"""


def _uuid(value: object) -> str:
    if isinstance(value, uuid.UUID):  # asyncpg's own UUID subclass, read from a row
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _to_json(rows: object) -> str:
    return orjson.dumps(rows, default=_uuid).decode()


def _exact(ts: dt.datetime) -> bool:
    off = ts.utcoffset()
    return off is not None and not (off.seconds % 60 or off.microseconds)


def batchable(fact: Fact) -> bool:
    """Whether the batch statements carry ``fact``'s timestamps exactly.

    orjson writes a UTC offset in whole minutes (``+06:42:04``, a pre-1920 local mean
    time, would come out as ``+06:42``) and a naive datetime without one (which asyncpg
    takes as the client's local time); such rare facts must take the per-event path.
    """
    data = fact.data
    return (
        _exact(fact.occurred_at)
        and _exact(fact.recorded_at)
        and (
            not isinstance(data, ComplaintFiled)
            or (_exact(data.received_at) and _exact(data.recorded_at))
        )
    )


Key = tuple[uuid.UUID, int]


async def store_events(
    conn: Conn, facts: list[Fact]
) -> tuple[list[Key], dict[uuid.UUID, list[Fact]]]:
    """Store every fact not stored yet, in one statement (``facts`` hold no equal keys).

    Returns the keys that were stored already (so changed nothing), and per case of the
    batch the events stored before that wait above its applied version (all of its events
    when it has no case yet).
    """
    batch = _to_json(
        [
            {
                "complaint_id": f.complaint_id,
                "version": f.version,
                "kind": f.data.kind,
                "occurred_at": f.occurred_at,
                "recorded_at": f.recorded_at,
                "data": orjson.Fragment(f.data.model_dump_json()),
            }
            for f in facts
        ]
    )
    rows = await conn.fetch(_STORE_MANY_SQL, batch)
    old: list[Key] = []
    waiting: dict[uuid.UUID, list[Fact]] = {}
    for r in rows:
        if r["occurred_at"] is None:
            old.append((r["complaint_id"], r["version"]))
        else:
            waiting.setdefault(r["complaint_id"], []).append(_fact(r))
    return old, waiting


async def load_cases(conn: Conn, complaint_ids: list[uuid.UUID]) -> dict[uuid.UUID, CaseRow]:
    """The stored cases among ``complaint_ids``, by id (one statement)."""
    rows = await conn.fetch(
        f"SELECT {_CASE_COLUMNS} FROM cases WHERE complaint_id = ANY ("
        "ARRAY(SELECT value::uuid FROM json_array_elements_text($1::text::json)))",
        _to_json(complaint_ids),
    )
    return {r["complaint_id"]: _case(r) for r in rows}


async def save_cases(conn: Conn, cases: list[CaseRow]) -> None:
    """Insert new cases and update changed ones (one statement)."""
    if cases:
        await conn.execute(_SAVE_CASES_SQL, _to_json(cases))


@dataclass(frozen=True, slots=True)
class Progress:
    events_applied: int
    cases: int
    last_recorded_at: dt.datetime | None


async def progress(conn: Db) -> Progress:
    """How far the projection is: events folded into cases, cases, latest recorded time."""
    row = await conn.fetchrow(
        "SELECT coalesce(sum(applied_version), 0)::bigint AS events_applied, "
        "count(*)::bigint AS cases, max(last_recorded_at) AS last_recorded_at FROM cases"
    )
    assert row is not None
    return Progress(row["events_applied"], row["cases"], row["last_recorded_at"])
