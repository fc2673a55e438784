"""Many imports waiting for their turn do not take the database connections the filing
one needs: a replica's job locks share one pooled connection, and go on after it is lost
(on the real PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from services.intake.backfill.staged.store import JobStore
from services.intake.main import create_app
from tests.integration.intake.conftest import IntakeService
from tests.integration.intake.test_import import malformed_file
from tests.service_app import running_app
from tests.waiting import eventually

pytestmark = pytest.mark.integration

POOL = 4


async def test_more_jobs_than_pooled_connections_all_finish(infra: dict[str, str]) -> None:
    # Twice as many imports as the pool has connections, sent at once: one files at a
    # time (IMPORT_FILINGS_AT_ONCE 1), the others wait their turn. Were each waiting job
    # to hold a pooled connection, the filing one could get none and every job would
    # wait forever (and so would every request needing the database).
    async with running_app(create_app, infra, db_pool_max=POOL) as app:
        sent = await asyncio.gather(
            *(
                app.client.post(
                    "/v1/imports", files={"file": ("r.csv", malformed_file(uuid.uuid4().hex[:8]))}
                )
                for _ in range(2 * POOL)
            )
        )
        assert [r.status_code for r in sent] == [202] * (2 * POOL), [r.text for r in sent]

        async def jobs() -> list[Any]:
            return [(await app.client.get(r.headers["location"])).json() for r in sent]

        done = await eventually(jobs, lambda js: {j["status"] for j in js} == {"done"}, timeout=60)
        assert [j["result"]["filed"] for j in done] == [3] * (2 * POOL)  # an admin: row 10 too


async def test_locks_go_on_after_their_connection_is_lost(intake: IntakeService) -> None:
    # The connection holding a replica's locks is cut (a database restart, a proxy): a lock
    # asked for then may fail with the error, but a later one is taken on a new connection.
    pool = await asyncpg.create_pool(intake.settings.database_url, min_size=1, max_size=3)
    try:
        jobs = JobStore(pool)

        async def lock_another() -> bool:
            try:
                async with jobs.running_lock(uuid.uuid4()) as held:
                    return held
            except (
                asyncpg.PostgresConnectionError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
            ):
                return False

        async with jobs.running_lock(uuid.uuid4()) as held:
            assert held
            pid = await intake.db.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_try_advisory_lock%' "
                "AND pid <> pg_backend_pid()"
            )
            assert await intake.db.fetchval("SELECT pg_terminate_backend($1)", pid)
            assert await eventually(lock_another)
        job = uuid.uuid4()
        async with jobs.running_lock(job) as held:
            assert held
            async with jobs.running_lock(job) as again:
                assert not again  # this replica's own job: not granted twice
    finally:
        await pool.close()
