"""The ``case_intervals`` table: every case's history as rectangles (``timeline``).

Maintained beside ``cases`` by both consumer paths: whenever a case's applied version
moves, its rectangles are recomputed from its stored events by the pure
``timeline.intervals`` and replace the old ones (a case has a handful of events, so a
rebuild is cheaper than working out an in-place patch, and can never drift).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

import asyncpg

from services.kpi.domain import timeline
from services.kpi.domain.cases import CaseRow, Fact
from services.kpi.domain.timeline import Interval, Step
from services.kpi.store import _to_json, load_case
from shared.dbtypes import Conn

_COLUMNS = (
    "complaint_id, fiscal_year, province_code, district_code, channel, category, "
    "received_at, recorded_at, valid_from, valid_to, recorded_from, recorded_to, "
    "closed_at"
)

# Open upper bounds travel as null and are stored as infinity, so that range tests need
# no IS NULL branches.
_INSERT_SQL = f"""
INSERT INTO case_intervals ({_COLUMNS})
SELECT complaint_id, fiscal_year, province_code, district_code, channel, category,
       received_at, recorded_at, valid_from, coalesce(valid_to, 'infinity'), recorded_from,
       coalesce(recorded_to, 'infinity'), closed_at
  FROM json_to_recordset($1::text::json) AS r(
       complaint_id uuid, fiscal_year int, province_code text, district_code text,
       channel text, category text, received_at timestamptz, recorded_at timestamptz,
       valid_from timestamptz, valid_to timestamptz, recorded_from timestamptz,
       recorded_to timestamptz, closed_at timestamptz)
"""

_IDS = "ARRAY(SELECT value::uuid FROM json_array_elements_text($1::text::json))"


def step(fact: Fact) -> Step:
    return Step(fact.version, fact.kind, fact.occurred_at, fact.recorded_at)


async def load_steps(conn: Conn, complaint_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Step]]:
    """The stored events of ``complaint_ids`` (one statement), by case."""
    rows = await conn.fetch(
        "SELECT complaint_id, version, kind, occurred_at, recorded_at FROM events "
        f"WHERE complaint_id = ANY ({_IDS})",
        _to_json(list(complaint_ids)),
    )
    out: dict[uuid.UUID, list[Step]] = {}
    for r in rows:
        out.setdefault(r["complaint_id"], []).append(
            Step(r["version"], r["kind"], r["occurred_at"], r["recorded_at"])
        )
    return out


async def replace(
    conn: Conn,
    cases: Iterable[CaseRow],
    steps: Mapping[uuid.UUID, Iterable[Step]],
    *,
    new: Iterable[uuid.UUID] = (),
) -> None:
    """Replace the rectangles of ``cases`` by those of their ``steps`` (two statements);
    ``new`` cases have none yet, so need no delete."""
    cases = list(cases)
    fresh = set(new)
    old = [c.complaint_id for c in cases if c.complaint_id not in fresh]
    if old:
        await conn.execute(
            f"DELETE FROM case_intervals WHERE complaint_id = ANY ({_IDS})", _to_json(old)
        )
    rows: list[Interval] = []
    for case in cases:
        rows.extend(timeline.intervals(case, steps.get(case.complaint_id, ())))
    if rows:
        await conn.execute(_INSERT_SQL, _to_json(rows))


async def rebuild(conn: Conn, complaint_id: uuid.UUID) -> None:
    """Recompute one case's rectangles from what is stored (the per-event path)."""
    case = await load_case(conn, complaint_id)
    if case is None:
        return
    steps = await load_steps(conn, [complaint_id])
    await replace(conn, [case], steps)


async def fill_missing(pool: asyncpg.Pool, *, batch: int = 1000) -> int:
    """Give every projected case without history rows its rectangles; return how many.

    Cases projected before ``case_intervals`` existed have none, and replays skip events
    already stored, so they would never get any: this runs once at start-up (and costs a
    single empty query when nothing is missing).
    """
    filled = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            ids = [
                r["complaint_id"]
                for r in await conn.fetch(
                    "SELECT c.complaint_id FROM cases c WHERE NOT EXISTS "
                    "(SELECT 1 FROM case_intervals i WHERE i.complaint_id = c.complaint_id) "
                    "LIMIT $1",
                    batch,
                )
            ]
            if not ids:
                return filled
            cases = [case for cid in ids if (case := await load_case(conn, cid)) is not None]
            await replace(conn, cases, await load_steps(conn, ids), new=ids)
            filled += len(ids)
