"""Every service's database connections cut about once a second while work streams in.

What a failover, a pooler restart or an administrator does: ``pg_terminate_backend`` of
every connection whose application name is ``damrong-*``, from a connection of the test's
own, while filings and transitions stream in.  At the end every acknowledged filing is
there, every case is where its officer left it, the KPI totals are exact, nothing went to
the dead-letter topic, and every service is healthy again without being restarted from
outside.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import httpx
import pytest

from damrong.embedded.platform import Platform
from shared.config import DLQ_TOPIC, Settings
from shared.topic_reader import read_topic
from tests.e2e.driver import Driver
from tests.e2e.test_crash import fiscal_year_now
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

DISTRICTS = ["9401", "9402", "9403", "9301"]
COMPLAINTS = 400
CUT_EVERY_S = 1.0
CUT = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE application_name LIKE 'damrong-%'"
)


class Cutter:
    """Cuts every service connection every ``CUT_EVERY_S`` until stopped; counts them."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.rounds = 0
        self.cut = 0  # connections terminated, all rounds together
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        conn = await asyncpg.connect(
            self.database_url, server_settings={"application_name": "connection-cutter"}
        )
        try:
            while True:
                self.cut += await conn.fetchval(CUT)
                self.rounds += 1
                await asyncio.sleep(CUT_EVERY_S)  # the cadence itself, not a wait for a state
        finally:
            await conn.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        assert self._task is not None
        if self._task.done():
            self._task.result()  # the cutter itself failed: say why
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def _dead_letters(platform: Platform) -> list[str]:
    topic = platform.base_env.get("DLQ_TOPIC") or DLQ_TOPIC
    settings = Settings(kafka_bootstrap_servers=platform.kafka_bootstrap, events_topic=topic)
    return [dict(rec.headers).get("dlq_error", b"").decode() async for rec in read_topic(settings)]


async def _health(client: httpx.AsyncClient, platform: Platform) -> dict[str, int]:
    codes = {}
    for name in platform.service_names:
        try:
            codes[name] = (await client.get(f"{platform.url(name)}/healthz")).status_code
        except httpx.HTTPError:
            codes[name] = 0
    return codes


async def test_cut_connections_halt_nothing(own_platform: Platform) -> None:
    platform = own_platform
    driver = Driver(
        platform.url("intake"),
        platform.url("status"),
        DISTRICTS,
        seed=11,
        headers=platform.auth_headers(),
    )
    cutter = Cutter(platform.database_url)
    cutter.start()
    try:
        await asyncio.wait_for(driver.run(COMPLAINTS), timeout=150)
    finally:
        await cutter.stop()
    # The cuts really landed, many times over, while the stream ran.
    assert cutter.rounds >= 5 and cutter.cut >= cutter.rounds, (cutter.rounds, cutter.cut)

    want = driver.truth.counts()
    fy = fiscal_year_now()
    try:
        async with httpx.AsyncClient(timeout=10, headers=platform.auth_headers()) as c:
            # Healthy again by themselves: nobody restarted a process.
            await eventually(
                lambda: _health(c, platform), lambda codes: set(codes.values()) == {200}, timeout=60
            )
            assert platform.dead_children() == []

            async def summary() -> dict:
                r = await c.get(f"{platform.url('kpi')}/v1/kpi/summary", params={"fiscal_year": fy})
                return dict(r.json())

            got = await eventually(
                summary, lambda s: {k: s.get(k) for k in want} == want, timeout=60, interval=0.25
            )
            for channel, counts in driver.truth.by_channel().items():
                assert got["by_channel"][channel]["received"] == counts["received"]
                assert got["by_channel"][channel]["closed"] == counts["closed"]
            for case in driver.truth.cases.values():
                filed = await c.get(f"{platform.url('intake')}/v1/complaints/{case.complaint_id}")
                assert filed.status_code == 200, filed.text
                r = await c.get(f"{platform.url('status')}/v1/complaints/{case.complaint_id}")
                assert r.status_code == 200, r.text
                assert (r.json()["status"], r.json()["version"]) == (case.status, case.version)
        assert want["received"] == COMPLAINTS and want["closed"] > 0
        assert await _dead_letters(platform) == []
    finally:
        await driver.close()
