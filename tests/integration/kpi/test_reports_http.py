"""Every KPI endpoint over HTTP on a real PostgreSQL, as of past dates and as known at
past times, with the exact figures of ``scenario_asof`` (and CSV read back).

Events go in through the consumer's handlers in transactions, without a broker: no
consumer-group join, and the API is the service's own router on that database.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from services.kpi.consumer import handle, handle_batch
from services.kpi.deps import load_sla
from services.kpi.domain import asof, metrics
from services.kpi.domain.asof import Scope, end_of_day
from services.kpi.main import MIGRATIONS, create_app
from services.kpi.reports import answers
from services.kpi.reports import store as queries
from shared.batches import pooled
from shared.config import Settings
from shared.db import create_pool, migrate
from shared.events import Envelope
from shared.thai_calendar import fiscal_year_bounds
from tests.auth import TEST_SECRET, admin_headers
from tests.unit.kpi import reference, scenario, scenario_asof

Params = dict[str, Any]


async def _feed(pool: asyncpg.Pool, envs: list[Envelope], seed: int) -> None:
    """Shuffled batches, half through ``handle_batch`` and half event by event."""
    rng = random.Random(seed)
    order = list(envs)
    rng.shuffle(order)
    i = 0
    while i < len(order):
        batch = order[i : i + rng.randint(1, 6)]
        i += len(batch)
        async with pooled(pool) as conn, conn.transaction():
            if rng.random() < 0.5:
                await handle_batch(conn, batch)
            else:
                for env in batch:
                    await handle(conn, env)


@pytest.fixture
async def client(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(auth_jwt_secret=SecretStr(TEST_SECRET)))
    app.state.runtime.pool = pool  # no lifespan: no broker, no consumer
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=admin_headers()
    ) as c:
        yield c


def _axes(as_of: dt.date | None, known_at: dt.datetime | None) -> Params:
    params: Params = {}
    if as_of is not None:
        params["as_of"] = as_of.isoformat()
    if known_at is not None:
        params["known_at"] = known_at.isoformat()
    return params


def _head(
    fy: int | None, as_of: dt.date | None = None, known_at: dt.datetime | None = None
) -> Params:
    return {
        "fiscal_year": fy,
        "province_code": None,
        "district_code": None,
        "channel": None,
        "category": None,
        "as_of": None if as_of is None else as_of.isoformat(),
        "known_at": None if known_at is None else known_at.isoformat().replace("+00:00", "Z"),
    }


async def _get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    r = await client.get(f"/v1/kpi/{path}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def _csv(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, str]]:
    r = await client.get(f"/v1/kpi/{path}", params={**params, "format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    # A byte-order mark first, or Excel shows the Thai text garbled.
    assert r.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


async def test_every_report_as_of_and_known_at(
    pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    cases = scenario_asof.build()
    await _feed(pool, [e for es in cases.values() for e in es], seed=2569)

    for (as_of, known_at), (figs, by_ch, by_cat) in scenario_asof.SUMMARY_2569.items():
        got = await _get(client, "summary", fiscal_year=2569, **_axes(as_of, known_at))
        assert got == {
            **_head(2569, as_of, known_at),
            **figs,
            "by_channel": by_ch,
            "by_category": by_cat,
        }, (as_of, known_at)

    for (as_of, known_at), by_fy in scenario_asof.BACKLOG.items():
        got = await _get(client, "backlog", **_axes(as_of, known_at))
        assert got == {
            **_head(None, as_of, known_at),
            "open": sum(by_fy.values()),
            "by_fiscal_year": [
                {"origin_fiscal_year": fy, "open": n} for fy, n in sorted(by_fy.items())
            ],
        }

    for known_at, rows in scenario_asof.CARRY_OVER_2569.items():
        got = await _get(client, "carry-over", fiscal_year=2569, **_axes(None, known_at))
        assert [tuple(r.values()) for r in got["rows"]] == rows
        assert (got["open_at_start"], got["closed_during"]) == (
            sum(r[1] for r in rows),
            sum(r[2] for r in rows),
        )

    got = await _get(client, "aging", as_of="2025-12-31")
    assert {b["bucket"]: b["open"] for b in got["buckets"]} == scenario_asof.AGING_2025_12_31
    assert got["open"] == 3 and got["reference_date"] == "2025-12-31"

    got = await _get(client, "recording", as_of="2026-03-10")
    assert {k: got[k] for k in scenario_asof.RECORDING_2026_03_10} == (
        scenario_asof.RECORDING_2026_03_10
    )
    only = await _get(client, "recording", fiscal_year=2569)  # R, T, U: 30 minutes each
    assert (only["filings"], only["median_lag_days"], only["share_within_7_days"]) == (3, 0.02, 1.0)

    for (as_of, known_at), months in scenario_asof.MONTHLY_2569.items():
        got = await _get(client, "monthly", fiscal_year=2569, **_axes(as_of, known_at))
        assert got["months"] == months, (as_of, known_at)

    got = await _get(client, "districts", fiscal_year=2569)
    assert got["districts"] == scenario_asof.DISTRICTS_2569

    # Filters narrow every report the same way.
    got = await _get(client, "backlog", as_of="2025-09-30", province_code="50")
    assert got["by_fiscal_year"] == [{"origin_fiscal_year": 2568, "open": 1}]  # S
    got = await _get(
        client, "summary", fiscal_year=2569, channel="walk_in", category="informal_debt"
    )
    assert (got["received"], got["closed"], got["closed_within_sla"]) == (1, 1, 0)
    got = await _get(client, "monthly", fiscal_year=2569, district_code="5001")
    assert [(m["carried_in"], m["received"], m["closed"]) for m in got["months"][:4]] == [
        (1, 0, 1),
        (0, 0, 0),
        (0, 1, 0),
        (1, 0, 1),
    ]  # S closed in Oct; T in Dec, out Jan


async def test_csv_is_the_same_table(pool: asyncpg.Pool, client: httpx.AsyncClient) -> None:
    await _feed(pool, [e for es in scenario_asof.build().values() for e in es], seed=7)
    rows = await _csv(client, "monthly", fiscal_year=2569)
    assert [int(r["remaining"]) for r in rows] == scenario_asof.OPEN_AT_MONTH_END
    assert list(rows[0]) == [
        "month",
        "carried_in",
        "received",
        "closed",
        "reopened",
        "remaining",
        "cumulative_received",
        "cumulative_closed",
    ]
    rows = await _csv(client, "summary", fiscal_year=2569)
    assert [(r["dimension"], r["key"]) for r in rows] == [
        ("all", ""),
        ("channel", "line"),
        ("channel", "walk_in"),
        ("channel", "web"),
        ("category", "drugs"),
        ("category", "informal_debt"),
        ("category", "land"),
    ]
    assert rows[0]["p90_days_to_close"] == "80.4" and rows[0]["sla_rate"] == "0.5"
    assert rows[1]["median_days_to_close"] == ""  # line: nothing closed
    rows = await _csv(client, "districts", fiscal_year=2569)
    assert [
        (r["district_code"], r["rank_backlog"], r["closure_rate_lower_bound"]) for r in rows
    ] == [("1001", "1", "0.2065"), ("5001", "3", "0.2065"), ("5002", "2", "0.0")]
    rows = await _csv(client, "aging", as_of="2025-12-31")
    assert {r["bucket"]: int(r["open"]) for r in rows} == scenario_asof.AGING_2025_12_31
    rows = await _csv(client, "carry-over", fiscal_year=2569)
    assert [r["still_open"] for r in rows] == ["0", "1"]
    rows = await _csv(client, "recording", as_of="2026-03-10")
    assert [(r["district_code"], r["silent"]) for r in rows] == [
        ("1001", "True"),
        ("5001", "False"),
        ("5002", "True"),
    ]
    empty = await _csv(client, "backlog", province_code="99")
    assert empty == []


async def test_sql_agrees_with_the_pure_history_on_every_day(
    pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    """Both scenarios, every few days across two years, on both axes: the SQL summary,
    districts table, monthly moves and recording continuity equal the in-memory ones
    (rectangles folded by ``timeline``, counted by ``metrics``).  The districts table is
    two indexed statements (the year's cases, the open segments), the moves read only the
    segments starting or ending in the period and continuity probes each district's
    latest filing, so this also checks them against one plain pass."""
    cases = {**scenario.build(), **{k + "2": v for k, v in scenario_asof.build().items()}}
    await _feed(pool, [e for es in cases.values() for e in es], seed=1)
    hist = reference.history(cases)
    stored = await pool.fetchval("SELECT count(*) FROM case_intervals")
    assert stored == sum(len(rows) for rows in hist.values())
    policy = load_sla()
    day = dt.date(2025, 6, 1)
    while day < dt.date(2026, 4, 1):
        for known_at in (None, scenario_asof.BEFORE_LATE, scenario.utc("2025-11-01T00:00")):
            for fy in (2568, 2569):
                want = reference.summary(hist, Scope(fy, as_of=day, known_at=known_at), policy)
                got = await _get(client, "summary", fiscal_year=fy, **_axes(day, known_at))
                want["as_of"] = day.isoformat()
                want["known_at"] = _head(fy, None, known_at)["known_at"]
                assert got == want, (day, known_at, fy)
                table = await _get(client, "districts", fiscal_year=fy, **_axes(day, known_at))
                scope = Scope(fy, as_of=day, known_at=known_at)
                assert table["districts"] == metrics.rank_districts(
                    reference.districts(hist, scope)
                ), (day, known_at, fy)
                # The monthly moves from the start of the year to the cut.
                start = asof.month_starts(fy)[0]
                end = max(start, end_of_day(day))
                assert await queries.month_moves(pool, scope, start, end) == (
                    reference.month_moves(hist, scope, start, end)
                ), (day, known_at, fy)
                # The recording lag (read from each case's first segment, by lag) and
                # continuity up to the cut, nationally and for one province.
                bounds = fiscal_year_bounds(fy)
                for area in (scope, Scope(fy, "50", as_of=day, known_at=known_at)):
                    n, med, d1, d7 = await queries.recording_lag(pool, area)
                    want_n, want_med, want_d1, want_d7 = reference.recording_lag(hist, area)
                    assert (n, metrics.days(med), d1, d7) == (
                        want_n,
                        metrics.days(want_med),
                        want_d1,
                        want_d7,
                    ), (day, known_at, fy, area.province_code)
                    got_records = await queries.continuity(pool, area, area.cut, bounds)
                    want_records = reference.continuity(hist, area, area.cut, bounds)
                    assert sorted(got_records, key=lambda r: r.district_code) == want_records, (
                        day,
                        known_at,
                        fy,
                        area.province_code,
                    )
        day += dt.timedelta(days=9)


async def test_monthly_moves_of_a_case_closed_again_on_a_back_dated_closure(
    pool: asyncpg.Pool,
) -> None:
    """A closure back-dated into a period already closed splits it: closed on 25 October,
    then (as known once the late closure is recorded) closed again on 5 November.  The
    second segment is neither a closure nor a reopening, though it is closed and not the
    case's first; before the late record the case shows its December reopening."""
    cid = uuid.uuid4()
    late = scenario.step(cid, 4, "closed", "2025-11-05T03:00")
    late = late.model_copy(update={"recorded_at": scenario.utc("2025-12-10T03:00")})
    events = [
        scenario.filed(cid, "2025-10-02T03:00", "1001", "web", "land"),
        scenario.step(cid, 2, "closed", "2025-10-25T03:00"),
        scenario.step(cid, 3, "reopened", "2025-12-01T03:00"),
        late,
    ]
    await _feed(pool, events, seed=3)
    hist = reference.history({"X": events})
    now = sorted((r for r in hist["X"] if r.recorded_to is None), key=lambda r: r.valid_from)
    assert [r.closed_at is not None for r in now] == [False, True, True]
    start = asof.month_starts(2569)[0]
    for known_at in (None, scenario.utc("2025-12-05T00:00")):
        for day in (dt.date(2025, 10, 31), dt.date(2025, 11, 30), dt.date(2025, 12, 31)):
            scope = Scope(2569, as_of=day, known_at=known_at)
            end = end_of_day(day)
            got = await queries.month_moves(pool, scope, start, end)
            assert got == reference.month_moves(hist, scope, start, end), (known_at, day)
    moves = await queries.month_moves(pool, Scope(2569), start, end_of_day(dt.date(2025, 12, 31)))
    assert moves == {
        dt.date(2025, 10, 1): metrics.MonthMoves(1, 1, 0),
        dt.date(2025, 11, 1): metrics.MonthMoves(0, 0, 0),
    }


async def test_a_district_filing_every_day_records_in_every_week_once(
    pool: asyncpg.Pool,
) -> None:
    """A district with a filing every day of the fiscal year recorded in each of its 53
    weeks (the last one a single day), each counted once; the country's other district in
    its one week."""
    start, end = fiscal_year_bounds(2569)
    days = (end - start).days
    stamps = [
        (start + dt.timedelta(days=d, hours=1)).strftime("%Y-%m-%dT%H:%M") for d in range(days)
    ]
    events = [scenario.filed(uuid.uuid4(), at, "1001", "web", "land") for at in stamps]
    events.append(scenario.filed(uuid.uuid4(), "2026-02-02T03:00", "5001", "web", "land"))
    await _feed(pool, events, seed=5)
    for known_at in (None, end + dt.timedelta(days=1)):
        records = await queries.continuity(pool, Scope(2569, known_at=known_at), None, (start, end))
        weeks = {r.district_code: r.weeks_with_records for r in records}
        assert weeks == {"1001": 53, "5001": 1}, known_at


async def test_bad_parameters_are_problems(client: httpx.AsyncClient) -> None:
    bad: list[tuple[str, dict[str, str | int]]] = [
        ("summary", {}),
        ("monthly", {}),
        ("districts", {}),
        ("carry-over", {}),
        ("backlog", {"as_of": "2025-13-01"}),
        ("aging", {"known_at": "yesterday"}),
        ("summary", {"fiscal_year": 2569, "channel": "pigeon"}),
        ("summary", {"fiscal_year": 2569, "category": "lnad"}),
        ("backlog", {"format": "xml"}),
        ("recording", {"district_code": "12"}),
    ]
    for path, params in bad:
        r = await client.get(f"/v1/kpi/{path}", params=params)
        assert r.status_code == 422, (path, params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_answers_are_kept_while_the_projection_stands_still(pool: asyncpg.Pool) -> None:
    """Asked twice with nothing applied in between, a report is computed once; a batch
    applied as the consumer applies one (its offset stored in the same transaction)
    makes the next answer a new one, with the new case in it."""
    app = create_app(Settings(auth_jwt_secret=SecretStr(TEST_SECRET)))
    app.state.runtime.pool = pool
    kept = app.state.answers
    offset = 0

    async def apply(env: Envelope) -> None:
        nonlocal offset
        offset += 1
        async with pooled(pool) as conn, conn.transaction():
            await handle_batch(conn, [env])
            await conn.execute(
                "INSERT INTO consumer_offsets (group_id, topic, partition, epoch, next_offset) "
                "VALUES ('damrong-kpi', 'complaints.events', 0, '', $1) "
                "ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = $1",
                offset,
            )

    def case() -> Envelope:
        return scenario.filed(uuid.uuid4(), "2026-01-05T03:00:00", "1001", "walk_in", "land")

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=admin_headers()
    ) as c:
        await apply(case())
        first = await _get(c, "summary", fiscal_year=2569)
        assert await _get(c, "summary", fiscal_year=2569) == first
        assert (kept.computed, kept.hits) == (1, 1)
        # Another filter, or the same as CSV, is another answer; asked again, kept too.
        await _get(c, "summary", fiscal_year=2569, district_code="1001")
        table = await _csv(c, "summary", fiscal_year=2569)
        assert await _csv(c, "summary", fiscal_year=2569) == table
        assert (kept.computed, kept.hits) == (3, 2)

        await apply(case())
        second = await _get(c, "summary", fiscal_year=2569)
        assert (first["received"], second["received"]) == (1, 2)
        assert kept.computed == 4


async def test_the_dashboard_is_the_five_reports_as_their_endpoints_answer(
    pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    cases = scenario_asof.build()
    await _feed(pool, [e for es in cases.values() for e in es], seed=7)
    for axes in (_axes(None, None), _axes(dt.date(2026, 3, 31), None)):
        for area in ({}, {"province_code": "50"}, {"district_code": "1001"}):
            params = {"fiscal_year": 2569, **area, **axes}
            bundle = await _get(client, "dashboard", **params)
            assert set(bundle) == {"summary", "monthly", "aging", "recording", "satisfaction"}
            for part, doc in bundle.items():
                assert doc == await _get(client, part, **params), (part, params)
            assert bundle["summary"]["received"] > 0 or area


SEEN = "SELECT pg_backend_pid() AS pid, count(*)::int AS n FROM cases"


async def test_an_answer_counts_one_state_of_the_projection(pool: asyncpg.Pool) -> None:
    """Inside ``answers.snapshot`` every statement, on each of its connections, sees the
    state at its first: a batch applied meanwhile shows only after it.  Statements
    started together run on different connections.  It cannot write."""
    cases = scenario.build()
    names = list(cases)
    await _feed(pool, [e for n in names[:-1] for e in cases[n]], seed=3)
    async with answers.snapshot(pool) as db:
        first = await db.fetchval("SELECT count(*) FROM cases")
        async with pooled(pool) as conn, conn.transaction():
            await handle_batch(conn, cases[names[-1]])
        seen = await queries.together(*(db.fetchrow(SEEN) for _ in range(4)))
        assert {r["n"] for r in seen} == {first}
        assert len({r["pid"] for r in seen}) == answers.WIDTH
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await db.fetch("DELETE FROM cases RETURNING complaint_id")
    assert await pool.fetchval("SELECT count(*) FROM cases") == first + 1


async def test_an_answer_on_a_busy_pool_takes_one_connection_without_waiting(
    fresh_db: str,
) -> None:
    """With no connection to lend beside its first, an answer runs its statements one
    after another instead of waiting for another (which a pool held by answers that all
    wait would never give)."""
    small = await create_pool(fresh_db, "kpi", max_size=2)
    try:
        await migrate(small, "kpi", MIGRATIONS)
        # Another request holds one of the two.
        async with small.acquire(), answers.snapshot(small) as db:
            seen = await queries.together(*(db.fetchrow(SEEN) for _ in range(3)))
        assert len({r["pid"] for r in seen}) == 1
        assert {r["n"] for r in seen} == {0}
    finally:
        await small.close()
