"""kill -9 a consumer mid-stream; after restart the KPI totals and case states are exact."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal

import httpx
import pytest

from damrong.embedded.platform import Platform
from shared.thai_calendar import fiscal_year
from tests.e2e.driver import Driver
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

# Two provinces of their own, so the totals can be compared exactly.
DISTRICTS = ["9601", "9602", "9603", "9501", "9502"]
COMPLAINTS = 1500


def fiscal_year_now() -> int:
    return fiscal_year(dt.datetime.now(dt.UTC))


async def _crash_mid_stream(platform: Platform, victim: str) -> Driver:
    driver = Driver(
        platform.url("intake"), platform.url("status"), DISTRICTS, headers=platform.auth_headers()
    )
    stream = asyncio.create_task(driver.run(COMPLAINTS))
    await eventually(lambda: _count(driver), lambda n: n >= COMPLAINTS // 3, timeout=120)
    assert platform.kill_service(victim, signal.SIGKILL) == -signal.SIGKILL
    await platform.start_service(victim)
    await stream
    return driver


async def _count(driver: Driver) -> int:
    return len(driver.truth.cases)


async def _assert_truth(platform: Platform, driver: Driver) -> None:
    want = driver.truth.counts()
    fy = fiscal_year_now()
    async with httpx.AsyncClient(timeout=10, headers=platform.auth_headers()) as c:

        async def summary() -> dict:
            r = await c.get(f"{platform.url('kpi')}/v1/kpi/summary", params={"fiscal_year": fy})
            return dict(r.json())

        by_channel = {
            channel: (counts["received"], counts["closed"])
            for channel, counts in driver.truth.by_channel().items()
        }

        def shown(s: dict) -> dict[str, tuple[int, int]]:
            return {
                channel: (s["by_channel"][channel]["received"], s["by_channel"][channel]["closed"])
                for channel in by_channel
                if channel in s.get("by_channel", {})
            }

        # The totals and every channel's, together: while kpi catches up after its restart,
        # the totals alone can equal the truth for a moment (one case's closure applied,
        # another case's reopening not yet) with two channels one apart.
        got = await eventually(
            summary,
            lambda s: {k: s[k] for k in want} == want and shown(s) == by_channel,
            timeout=120,
            interval=0.25,
        )
        assert shown(got) == by_channel
        for case in driver.truth.cases.values():
            r = await c.get(f"{platform.url('status')}/v1/complaints/{case.complaint_id}")
            assert r.status_code == 200
            assert (r.json()["status"], r.json()["version"]) == (case.status, case.version)
    assert want["closed"] > 0 and driver.truth.transitions > len(driver.truth.cases)


async def test_kpi_killed_mid_stream_recovers_exact_totals(own_platform: Platform) -> None:
    driver = await _crash_mid_stream(own_platform, "kpi")
    try:
        await _assert_truth(own_platform, driver)
    finally:
        await driver.close()


async def test_status_killed_mid_stream_recovers_exact_states(own_platform: Platform) -> None:
    driver = await _crash_mid_stream(own_platform, "status")
    try:
        await _assert_truth(own_platform, driver)
    finally:
        await driver.close()
