"""The kpi service on a real PostgreSQL and broker: hand-built envelopes in, exact
figures out, unchanged by duplicates and by versions arriving out of order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from services.kpi.main import create_app
from shared.config import Settings
from shared.events import Envelope
from tests.auth import admin_headers
from tests.signing import signed_record
from tests.unit.kpi import scenario


async def eventually(fn: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """Poll ``fn`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await fn()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


async def _publish(settings: Settings, envs: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for env in envs:
            key, headers, value = signed_record(env)
            await producer.send_and_wait(settings.events_topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


def _query(key: tuple[int, str | None, str | None]) -> dict[str, Any]:
    fy, prov, dist = key
    params: dict[str, Any] = {"fiscal_year": fy}
    if prov:
        params["province_code"] = prov
    if dist:
        params["district_code"] = dist
    return params


async def _assert_expected(client: httpx.AsyncClient) -> None:
    for key, expected in scenario.EXPECTED.items():
        r = await client.get("/v1/kpi/summary", params=_query(key))
        assert r.status_code == 200, r.text
        assert r.json() == expected, key


async def test_kpi_service_end_to_end(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    cases = scenario.build()
    a, c = cases["A"], cases["C"]
    # A's v2 before its v1, C entirely backwards (as after a re-feed by two publishers).
    envs = [a[1], a[0], a[2], *reversed(c)]
    envs += [e for name, es in cases.items() if name not in "AC" for e in es]
    total = sum(len(es) for es in cases.values())
    assert len(envs) == total == 25

    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", headers=admin_headers()
        ) as client,
    ):
        before = (await client.get("/v1/kpi/progress")).json()
        assert before == {"events_applied": 0, "cases": 0, "last_recorded_at": None}
        # Reports are planned for their own cut every time (services.kpi.main.SESSION).
        pool = app.state.runtime.pool
        assert await pool.fetchval("SHOW plan_cache_mode") == "force_custom_plan"

        await _publish(settings, envs)

        async def caught_up() -> dict[str, Any] | None:
            p = (await client.get("/v1/kpi/progress")).json()
            return p if p["events_applied"] == total and p["cases"] == 8 else None

        progress = await eventually(caught_up)
        assert progress["last_recorded_at"] == "2026-02-04T00:30:00Z"
        await _assert_expected(client)

        # Every record a second time: consumed, stored nowhere twice, counted once.
        await _publish(settings, envs)
        consumer = app.state.runtime.consumer

        async def consumed_twice() -> bool:
            return bool(consumer.applied >= 2 * total)

        await eventually(consumed_twice)
        assert consumer.dead_lettered == 0
        assert (await client.get("/v1/kpi/progress")).json() == progress
        await _assert_expected(client)
        pool = app.state.runtime.pool
        assert await pool.fetchval("SELECT count(*) FROM events") == total

        health = await client.get("/healthz")
        assert health.status_code == 200, health.text
        # Validation shares this running service: a consumer-group join costs seconds.
        await _assert_validation(client)


async def _assert_validation(client: httpx.AsyncClient) -> None:
    bad: list[dict[str, str | int]] = [
        {},
        {"fiscal_year": "abc"},
        {"fiscal_year": 2499},
        {"fiscal_year": 2701},
        {"fiscal_year": 2569, "province_code": "5"},
        {"fiscal_year": 2569, "province_code": "5a"},
        {"fiscal_year": 2569, "district_code": "50011"},
        {"fiscal_year": 2569, "district_code": "501"},
    ]
    for params in bad:
        r = await client.get("/v1/kpi/summary", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == 422
    ok = await client.get("/v1/kpi/summary", params={"fiscal_year": 2700})
    assert ok.status_code == 200
    assert ok.json()["received"] == 0 and ok.json()["closure_rate"] is None
