"""Stop and start the platform: data survive, and the emptied broker is re-fed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from damrong.embedded.platform import Platform
from tests.e2e.driver import Driver
from tests.e2e.test_crash import fiscal_year_now
from tests.infra import embedded_only
from tests.waiting import eventually

pytestmark = [
    pytest.mark.e2e,
    embedded_only("a restart starts a new, empty broker and checks that it is re-fed"),
]


async def _count_topic(bootstrap: str, expected: int) -> int:
    """Read complaints.events from the start until ``expected`` records (or 30 s) passed."""
    consumer = AIOKafkaConsumer(
        "complaints.events",
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        seen = 0
        deadline = asyncio.get_running_loop().time() + 30
        while seen < expected and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            seen += sum(len(records) for records in batches.values())
        return seen
    finally:
        await consumer.stop()


async def test_restart_keeps_every_case_and_kpi_total(tmp_path: Path) -> None:
    async with Platform.for_tests(tmp_path) as first:
        epoch = first.broker_epoch
        driver = Driver(
            first.url("intake"), first.url("status"), ["3001", "3002"], headers=first.auth_headers()
        )
        try:
            await driver.run(120)
        finally:
            await driver.close()
        want = driver.truth.counts()
        async with httpx.AsyncClient(timeout=10, headers=first.auth_headers()) as c:
            await eventually(
                lambda: c.get(
                    f"{first.url('kpi')}/v1/kpi/summary", params={"fiscal_year": fiscal_year_now()}
                ),
                lambda r: {k: r.json()[k] for k in want} == want,
                timeout=60,
            )

    async with Platform.for_tests(tmp_path) as second:
        assert second.broker_epoch != epoch  # a new, empty broker
        # The data dir keeps the token secret: the first run's tokens still work.
        async with httpx.AsyncClient(timeout=10, headers=first.auth_headers()) as c:
            summary = (
                await c.get(
                    f"{second.url('kpi')}/v1/kpi/summary", params={"fiscal_year": fiscal_year_now()}
                )
            ).json()
            assert {k: summary[k] for k in want} == want
            for case in driver.truth.cases.values():
                r = await c.get(f"{second.url('status')}/v1/complaints/{case.complaint_id}")
                assert (r.json()["status"], r.json()["version"]) == (case.status, case.version)
            # The re-fed broker carries every stored event again, in a fresh topic.
            want_events = len(driver.truth.cases) + driver.truth.transitions
            assert await _count_topic(second.kafka_bootstrap, want_events) == want_events
            new = await c.post(
                f"{second.url('intake')}/v1/complaints",
                json={
                    "channel": "web",
                    "district_code": "3001",
                    "category": "other",
                    "subject": "หลังเริ่มระบบใหม่",
                    "description": "ทดสอบ",
                    "complainant": {"anonymous": True},
                },
            )
            assert new.status_code == 201
            await eventually(
                lambda: c.get(
                    f"{second.url('kpi')}/v1/kpi/summary", params={"fiscal_year": fiscal_year_now()}
                ),
                lambda r: r.json()["received"] == want["received"] + 1,
                timeout=60,
            )
