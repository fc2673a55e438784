"""Scale-out: two instances each of status and kpi in one consumer group.  One of each
is killed with kill -9 mid-stream; the survivors finish with exact totals, and every kpi
instance answers the same."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import httpx
import pytest

from damrong.embedded.platform import Platform
from tests.e2e.driver import Driver
from tests.e2e.test_crash import COMPLAINTS, DISTRICTS, fiscal_year_now
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


async def test_survivors_finish_with_exact_totals(own_platform: Platform) -> None:
    p = own_platform
    status_2 = await p.start_replica("status")
    kpi_2 = await p.start_replica("kpi")
    # Officers keep using the status instance that survives; the one killed held the
    # outbox relay's lock and half the partitions (it started first).
    driver = Driver(p.url("intake"), p.url(status_2), DISTRICTS, seed=11, headers=p.auth_headers())
    try:
        stream = asyncio.create_task(driver.run(COMPLAINTS))
        await eventually(
            lambda: asyncio.sleep(0, len(driver.truth.cases)),
            lambda n: n >= COMPLAINTS // 3,
            timeout=120,
        )
        assert p.kill_service("status", signal.SIGKILL) == -signal.SIGKILL
        assert p.kill_service("kpi", signal.SIGKILL) == -signal.SIGKILL
        await stream

        want = driver.truth.counts()
        fy = fiscal_year_now()
        async with httpx.AsyncClient(timeout=10, headers=p.auth_headers()) as c:

            async def summary(key: str) -> dict[str, Any]:
                r = await c.get(f"{p.url(key)}/v1/kpi/summary", params={"fiscal_year": fy})
                return dict(r.json())

            channels = {
                channel: {"received": counts["received"], "closed": counts["closed"]}
                for channel, counts in driver.truth.by_channel().items()
            }

            def caught_up(s: dict[str, Any]) -> bool:
                # Totals alone can match while kpi still lags: a close not yet applied in
                # one channel and a reopen not yet applied in another cancel out.
                by_channel = {
                    ch: {"received": c["received"], "closed": c["closed"]}
                    for ch, c in s["by_channel"].items()
                }
                return {k: s[k] for k in want} == want and by_channel == channels

            await eventually(lambda: summary(kpi_2), caught_up, timeout=120, interval=0.25)
            for case in driver.truth.cases.values():
                r = await c.get(f"{p.url(status_2)}/v1/complaints/{case.complaint_id}")
                assert (r.json()["status"], r.json()["version"]) == (case.status, case.version)

            # The killed kpi instance comes back and answers exactly as the survivor.
            await p.start_service("kpi")
            assert await summary("kpi") == await summary(kpi_2)
            for path in ("/v1/kpi/backlog", "/v1/kpi/districts"):
                a = await c.get(f"{p.url('kpi')}{path}", params={"fiscal_year": fy})
                b = await c.get(f"{p.url(kpi_2)}{path}", params={"fiscal_year": fy})
                assert a.status_code == b.status_code == 200
                assert a.json() == b.json()
        assert want["closed"] > 0 and driver.truth.transitions > COMPLAINTS
    finally:
        await driver.close()
