"""A service's runtime under faults, on the real database and broker, over its HTTP app.

* a background task that dies is started again with a growing pause and counted, and
  ``/healthz`` says 503 while it is down and 200 once the restarted task works;
* ``/healthz`` stays 200 through a cut of every connection (no outage) and says 503 while
  the database is unreachable;
* a request that meets a lost connection is run again when that is safe, else answered
  503 problem+json with Retry-After; never 500.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from fastapi import APIRouter, Request

from shared.config import Settings
from shared.runtime import Runtime
from shared.service import build_app
from tests.auth import admin_headers
from tests.infra import backend
from tests.integration.consumer_rig import SCHEMA, Rig, notes
from tests.integration.tcp_hop import TcpHop
from tests.waiting import eventually

CUT_SELF = "SELECT pg_terminate_backend(pg_backend_pid())"


@contextlib.asynccontextmanager
async def serving(
    runtime: Runtime, routers: list[APIRouter] | None = None, **build: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app("ctest", runtime, routers or [], **build)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=admin_headers()
        ) as client:
            yield client


async def _health(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    r = await client.get("/healthz")
    return r.status_code, r.json()


@pytest.fixture
async def rig(make_settings: Callable[..., Settings], tmp_path: Path) -> AsyncIterator[Rig]:
    """The consumer rig's database, topic and handlers (a ``boom`` note is a bug), without
    its own consumer: the runtime runs one."""
    # A restarted consumer joins its group anew: quicker with a short session on the
    # embedded broker (Apache Kafka refuses sessions under 6 s).
    quick = (
        {}
        if backend() == "containers"
        else {"kafka_session_timeout_ms": 2000, "kafka_heartbeat_interval_ms": 400}
    )
    r = Rig(make_settings(topic_partitions=1, **quick))
    await r.open(tmp_path)
    try:
        yield r
    finally:
        await r.close()


async def test_a_dead_consumer_is_restarted_with_backoff_and_counted(
    rig: Rig, tmp_path: Path
) -> None:
    runtime = Runtime(
        rig.settings,
        SCHEMA,
        tmp_path,
        consumer_group=rig.group,
        handler=rig.handle,
        batch_handler=rig.handle_batch,
        relay=False,
    )
    async with serving(runtime) as client:
        await eventually(lambda: _health(client), lambda h: h[0] == 200, timeout=30)
        first = notes(5)
        await rig.send(first)
        await eventually(lambda: rig.applied(first), lambda n: n == 5)

        with structlog.testing.capture_logs() as logs:
            stream = notes(3) + notes(1, "boom") + notes(3)  # a bug at the fourth
            await rig.send(stream)
            code, body = await eventually(lambda: _health(client), lambda h: h[0] == 503)
            assert "consumer" in body["detail"], body
            assert body["tasks"]["consumer"]["state"] == "down", body
            assert body["tasks"]["consumer"]["last_error"] == "KeyError", body
            # It keeps dying on the same event, restarted each time after a longer pause.
            await eventually(
                lambda: asyncio.sleep(0, runtime.tasks["consumer"].restarts),
                lambda n: n >= 3,
                timeout=60,
            )
            code, body = await _health(client)
            assert code == 503 and body["tasks"]["consumer"]["restarts"] >= 3, body
        pauses = [e["restart_in_s"] for e in logs if e["event"] == "runtime.task_died"]
        assert pauses[:3] == [0.5, 1.0, 2.0], pauses
        assert await rig.applied(stream[3:]) == 0  # the bug's event is not skipped

        rig.fixed = True  # the bug is fixed: the next restart goes through
        code, body = await eventually(lambda: _health(client), lambda h: h[0] == 200, timeout=60)
        assert body["status"] == "ok" and body["tasks"]["consumer"]["state"] == "running"
        assert body["tasks"]["consumer"]["restarts"] >= 3
        await eventually(lambda: rig.applied(stream), lambda n: n == len(stream))
        assert await rig.applied() == 5 + len(stream)  # each once: no duplicate key
        assert await rig.stored_offset() == rig.produced


async def test_healthz_rides_out_a_cut_and_says_503_while_the_database_is_away(
    rig: Rig, tmp_path: Path
) -> None:
    hop = TcpHop(rig.settings.database_url)
    settings = rig.settings.model_copy(update={"database_url": await hop.open()})
    runtime = Runtime(settings, SCHEMA, tmp_path, relay=False)
    try:
        async with serving(runtime) as client:
            await eventually(lambda: _health(client), lambda h: h[0] == 200, timeout=30)
            assert await rig.terminate_consumer_connections() >= 1  # the runtime's pool
            assert (await _health(client))[0] == 200  # a cut is no outage

            await hop.close()
            _, body = await eventually(lambda: _health(client), lambda h: h[0] == 503)
            assert "database" in body["detail"], body
            await hop.open()
            await eventually(lambda: _health(client), lambda h: h[0] == 200, timeout=30)
    finally:
        await hop.close(for_good=True)


def _cutting_router(calls: Counter[str]) -> APIRouter:
    """Endpoints whose first run loses its database connection (the backend terminates
    itself, as ``pg_terminate_backend`` does), and one with a bug."""
    router = APIRouter()

    async def first_run_cut(request: Request, name: str) -> int:
        calls[name] += 1
        if calls[name] == 1:
            await request.app.state.runtime.pool.execute(CUT_SELF)
        return int(await request.app.state.runtime.pool.fetchval("SELECT $1::int", calls[name]))

    @router.get("/read")
    async def read(request: Request) -> dict[str, int]:
        return {"run": await first_run_cut(request, "read")}

    @router.post("/write")
    async def write(request: Request) -> dict[str, int]:
        return {"run": await first_run_cut(request, "write")}

    @router.post("/keyed")
    async def keyed(request: Request) -> dict[str, Any]:
        body = await request.json()
        return {"run": await first_run_cut(request, "keyed"), "body": body}

    @router.get("/bug")
    async def bug() -> None:
        raise KeyError("a bug")

    return router


async def test_requests_that_lose_their_connection(rig: Rig, tmp_path: Path) -> None:
    calls: Counter[str] = Counter()
    runtime = Runtime(rig.settings, SCHEMA, tmp_path, relay=False)
    async with serving(runtime, [_cutting_router(calls)]) as client:
        await eventually(lambda: _health(client), lambda h: h[0] == 200, timeout=30)

        r = await client.get("/read")  # safe to repeat: repeated
        assert r.status_code == 200, r.text
        assert r.json() == {"run": 2}

        r = await client.post("/write", json={})  # not safe: said so, never a 500
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "1"
        assert r.json()["type"].endswith("/unavailable") and r.json()["status"] == 503
        assert calls["write"] == 1

        assert (await client.get("/bug")).status_code == 500  # a bug stays a bug


async def test_a_keyed_post_is_repeated_on_the_body_it_read(rig: Rig, tmp_path: Path) -> None:
    calls: Counter[str] = Counter()
    runtime = Runtime(rig.settings, SCHEMA, tmp_path, relay=False)
    async with serving(runtime, [_cutting_router(calls)], keyed={"/keyed"}) as client:
        await eventually(lambda: _health(client), lambda h: h[0] == 200, timeout=30)
        r = await client.post("/keyed", json={"n": "๑๒๓"}, headers={"Idempotency-Key": "k-1"})
        assert (r.status_code, r.json()) == (200, {"run": 2, "body": {"n": "๑๒๓"}})
        calls["keyed"] = 0
        r = await client.post("/keyed", json={"n": 1})  # the same path without a key
        assert r.status_code == 503 and calls["keyed"] == 1
