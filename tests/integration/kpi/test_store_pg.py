"""The handler's SQL on a real PostgreSQL, checked against the pure fold and the
expected scenario figures (no broker: the handler is called directly)."""

from __future__ import annotations

import random
import uuid

import asyncpg
import pytest

from services.kpi import store
from services.kpi.consumer import handle
from services.kpi.deps import load_sla
from services.kpi.domain import cases as domain
from services.kpi.domain.asof import Scope
from services.kpi.reports import usecases as reports
from shared.batches import pooled
from shared.consumer import PoisonEvent
from shared.events import Envelope
from tests.unit.kpi import scenario


async def _feed(pool: asyncpg.Pool, envs: list[Envelope], batch: int = 3) -> None:
    """Feed like the consumer does: several events per transaction."""
    for i in range(0, len(envs), batch):
        async with pooled(pool) as conn, conn.transaction():
            for env in envs[i : i + batch]:
                await handle(conn, env)


def _expected(envs: list[Envelope]) -> domain.CaseRow | None:
    case = None
    for env in envs:
        case = domain.apply(case, domain.Fact.of(env))
    return case


async def test_any_arrival_order_with_duplicates_matches_the_fold(pool: asyncpg.Pool) -> None:
    rng = random.Random(2569)
    cases = scenario.build()
    for name, envs in cases.items():
        for _ in range(6):
            order = envs + envs  # every event twice
            rng.shuffle(order)
            # Same events under a new id per trial, so trials do not share a case.
            cid = uuid.UUID(int=rng.getrandbits(128))
            fresh = [e.model_copy(update={"complaint_id": cid}) for e in envs]
            by_version = {e.version: f for e, f in zip(envs, fresh, strict=True)}
            await _feed(pool, [by_version[e.version] for e in order])
            async with pool.acquire() as conn:
                got = await store.load_case(conn, fresh[0].complaint_id)
            assert got == _expected(fresh), name


async def _live_counts(
    pool: asyncpg.Pool, fy: int, prov: str | None, dist: str | None
) -> dict[str, tuple[int, int]]:
    """(received, closed) per channel, straight from the per-case projection."""
    rows = await pool.fetch(
        "SELECT channel, count(*)::int AS received, count(closed_at)::int AS closed "
        "FROM cases WHERE fiscal_year = $1 AND ($2::text IS NULL OR province_code = $2) "
        "AND ($3::text IS NULL OR district_code = $3) GROUP BY channel",
        fy,
        prov,
        dist,
    )
    return {r["channel"]: (r["received"], r["closed"]) for r in rows}


async def test_summary_sql_gives_the_expected_figures(pool: asyncpg.Pool) -> None:
    cases = scenario.build()
    a, c = cases["A"], cases["C"]
    envs = [a[1], a[0], a[2], *reversed(c)]  # A's v2 before its v1; C backwards
    envs += [e for name, es in cases.items() if name not in "AC" for e in es]
    await _feed(pool, envs)
    await _feed(pool, envs, batch=5)  # a replay changes nothing
    policy = load_sla()
    for (fy, prov, dist), expected in scenario.EXPECTED.items():
        report = await reports.summary(pool, Scope(fy, prov, dist), policy)
        assert report.doc == expected, (fy, prov, dist)
        # The history's "now" agrees with the live per-case projection (table ``cases``).
        live = await _live_counts(pool, fy, prov, dist)
        assert {
            ch: (c["received"], c["closed"])
            for ch, c in report.doc["by_channel"].items()
            if c["received"]
        } == live
    p = await store.progress(pool)
    assert p.cases == 8
    assert p.events_applied == sum(len(es) for es in cases.values()) == 25
    assert p.last_recorded_at == scenario.utc("2026-02-04T00:00") + scenario.LAG
    assert await pool.fetchval("SELECT count(*) FROM events") == 25


async def test_impossible_event_is_poison_and_writes_nothing(pool: asyncpg.Pool) -> None:
    bad = scenario.build()["A"][1].model_copy(update={"version": 1})
    async with pooled(pool) as conn:
        with pytest.raises(PoisonEvent):
            await handle(conn, bad)
    assert await pool.fetchval("SELECT count(*) FROM events") == 0
