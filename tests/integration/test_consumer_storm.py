"""The status and kpi services' own consumers while every connection of the service is
terminated again and again (a failover, a pooler restart), behind a hop that keeps a
closed connection half-open a while (consumer_rig.LingeringProxy): each filing becomes
exactly one case, nothing is dead-lettered, and the consumer never died (the runtime
would have restarted it: it counts restarts)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import asyncpg
import pytest
from fastapi import FastAPI

from services.kpi.main import create_app as kpi_app
from services.status.main import create_app as status_app
from shared.config import Settings
from shared.kafka import make_producer
from tests.integration.consumer_rig import LingeringProxy
from tests.service_app import running_app
from tests.signing import signed_record
from tests.unit.status.factories import filed
from tests.waiting import eventually

FILINGS = 3000


@pytest.mark.parametrize(
    "create_app,schema", [(status_app, "status"), (kpi_app, "kpi")], ids=["status", "kpi"]
)
async def test_consumer_outlives_terminated_connections(
    infra: dict[str, str], create_app: Callable[[Settings], FastAPI], schema: str
) -> None:
    proxy = LingeringProxy(infra["database_url"], linger=1.0)
    proxied = {**infra, "database_url": await proxy.start()}
    async with running_app(create_app, proxied) as running:
        settings = running.settings
        runtime = running.app.state.runtime
        consumer = runtime.tasks["consumer"]
        admin = await asyncpg.connect(settings.database_url)
        producer = make_producer(settings)
        await producer.start()
        terminated = 0

        async def storm() -> None:
            nonlocal terminated
            while True:
                await asyncio.sleep(0.05)
                terminated += await admin.fetchval(
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM "
                    "pg_stat_activity WHERE application_name = $1 "
                    "AND datname = current_database()) AS t",
                    f"damrong-{schema}",
                )

        storming = asyncio.create_task(storm())
        try:
            for _ in range(FILINGS // 100):
                sent = []
                for _ in range(100):
                    key, headers, value = signed_record(filed())
                    sent.append(
                        await producer.send(settings.events_topic, value, key=key, headers=headers)
                    )
                await asyncio.gather(*sent)
                await asyncio.sleep(0.05)  # many small batches: many connections used
        finally:
            storming.cancel()
            await asyncio.gather(storming, return_exceptions=True)
        try:
            assert terminated > 0

            async def progress() -> tuple[int, int, str | None]:
                # The consumer's retries and last fault say where it stands if it stalls.
                cases = await admin.fetchval(f"SELECT count(*) FROM {schema}.cases")
                return cases, runtime.consumer.retries, runtime.consumer.last_fault

            # A batch stuck on a connection that never answers is abandoned after
            # shared.consumer.BATCH_DEADLINE_S: the wait leaves room for one.
            try:
                count, _, _ = await eventually(
                    progress, lambda p: p[0] >= FILINGS or consumer.restarts, timeout=90
                )
            except AssertionError:
                # Where everything waits: a stall shows its await chain in the report.
                for task in asyncio.all_tasks():
                    task.print_stack(file=sys.stderr)
                raise
            assert consumer.describe() == {"state": "running", "restarts": 0, "last_error": None}
            assert count == FILINGS
            assert runtime.consumer.dead_lettered == 0
            assert runtime.consumer.retries > 0  # the storm did reach it
        finally:
            await producer.stop()
            await admin.close()
    await proxy.stop()
