"""``rebuild`` on a running kpi service: every report answers the same, field by field,
the API answers while it runs, and events published afterwards are still applied."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from services.kpi.main import create_app
from services.kpi.rebuild.usecases import rebuild
from services.kpi.reports.answers import Answers
from shared.config import Settings
from shared.envelope_codec import to_record
from shared.events import Envelope
from tests.auth import admin_headers
from tests.signing import signed_record
from tests.unit.kpi import scenario, scenario_asof
from tests.waiting import eventually

# Every report, with filters and both time axes (aging and recording pinned by as_of:
# without it they count days up to the wall clock).
LATE = scenario_asof.BEFORE_LATE.isoformat()
REPORTS: list[tuple[str, dict[str, Any]]] = [
    ("summary", {"fiscal_year": 2569}),
    ("summary", {"fiscal_year": 2568}),
    ("summary", {"fiscal_year": 2569, "province_code": "50"}),
    ("summary", {"fiscal_year": 2569, "district_code": "1001", "channel": "web"}),
    ("summary", {"fiscal_year": 2569, "category": "land", "as_of": "2025-12-31"}),
    ("summary", {"fiscal_year": 2569, "known_at": LATE}),
    ("summary", {"fiscal_year": 2569, "as_of": "2026-01-15", "known_at": LATE}),
    ("backlog", {}),
    ("backlog", {"as_of": "2025-09-30", "province_code": "50"}),
    ("backlog", {"known_at": LATE}),
    ("carry-over", {"fiscal_year": 2569}),
    ("carry-over", {"fiscal_year": 2569, "known_at": LATE}),
    ("aging", {"as_of": "2025-12-31"}),
    ("aging", {"as_of": "2026-03-10", "district_code": "5001"}),
    ("monthly", {"fiscal_year": 2569}),
    ("monthly", {"fiscal_year": 2569, "district_code": "5001", "known_at": LATE}),
    ("districts", {"fiscal_year": 2569}),
    ("districts", {"fiscal_year": 2568, "as_of": "2025-11-30"}),
    ("recording", {"as_of": "2026-03-10"}),
    ("recording", {"fiscal_year": 2569, "as_of": "2026-03-10"}),
]


async def _publish(settings: Settings, records: list[tuple[bytes, Any, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for key, headers, value in records:
            await producer.send_and_wait(settings.events_topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def _reports(client: httpx.AsyncClient) -> list[Any]:
    out = []
    for path, params in REPORTS:
        r = await client.get(f"/v1/kpi/{path}", params=params)
        assert r.status_code == 200, (path, params, r.text)
        out.append(r.json())
    return out


async def _progress(client: httpx.AsyncClient) -> dict[str, Any]:
    return (await client.get("/v1/kpi/progress")).json()


async def test_rebuild_equals_live_and_switches_under_load(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    envs: list[Envelope] = [
        e for es in (*scenario.build().values(), *scenario_asof.build().values()) for e in es
    ]
    garbage = (b"k", [("ce_specversion", b"0.3")], b"{}")  # dead-lettered; skipped later
    # A filing nobody signed: dead-lettered live, skipped by the rebuild alike.
    unsigned = to_record(scenario.filed(uuid.uuid4(), "2026-03-01T03:00", "5001", "web", "land"))
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", headers=admin_headers()
        ) as client,
    ):
        pool = app.state.runtime.pool
        await _publish(
            settings,
            [signed_record(e) for e in envs[:10]]
            + [garbage, unsigned]
            + [signed_record(e) for e in envs[10:]],
        )
        await eventually(lambda: _progress(client), lambda p: p["events_applied"] == len(envs))
        live = await _reports(client)
        assert (live[0]["received"], live[0]["closed"]) == (9, 6)  # both scenarios, FY 2569
        offsets = await pool.fetch("SELECT * FROM consumer_offsets ORDER BY partition")
        old_oid = await pool.fetchval("SELECT 'cases'::regclass::oid")
        # Damage the live projection: the rebuild must restore it from the topic.
        await pool.execute(
            "DELETE FROM case_intervals WHERE complaint_id = $1", envs[0].complaint_id
        )
        # Damage done behind the consumer's back moves no offset, so the answers kpi keeps
        # would still be the undamaged ones: forget them.  The rebuild's new tables are
        # new answers by themselves (checked below, the answers being kept again).
        app.state.answers = Answers(settings.kpi_answer_cache)
        assert await _reports(client) != live

        task = asyncio.create_task(rebuild(settings, batch=7))
        answered = 0
        while not task.done() or answered == 0:  # the API keeps answering meanwhile
            r = await client.get("/v1/kpi/summary", params={"fiscal_year": 2569})
            assert r.status_code == 200, r.text
            answered += 1
            await asyncio.sleep(0.01)
        done = await task
        assert (done.events, done.undecodable, done.refused) == (len(envs), 2, 0)
        assert done.old_schema is None
        assert answered >= 1

        rebuilt = await _reports(client)
        for (path, params), want, got in zip(REPORTS, live, rebuilt, strict=True):
            assert got.keys() == want.keys(), (path, params)
            for field in want:
                assert got[field] == want[field], (path, params, field)
        # New tables (the pool's cached statements followed the rename), same offsets,
        # no leftover schema.
        assert await pool.fetchval("SELECT 'cases'::regclass::oid") != old_oid
        assert await pool.fetch("SELECT * FROM consumer_offsets ORDER BY partition") == offsets
        assert (
            await pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'kpi\\_%'")
            == 0
        )

        # The live consumer goes on applying into the new tables.
        late = scenario.filed(uuid.uuid4(), "2026-03-20T03:00", "5001", "web", "land")
        await _publish(settings, [signed_record(late)])
        await eventually(lambda: _progress(client), lambda p: p["events_applied"] == len(envs) + 1)
        r = await client.get("/v1/kpi/summary", params={"fiscal_year": 2569})
        assert r.json()["received"] == live[0]["received"] + 1
