"""Many imports waiting for their turn do not take the database connections the filing
one needs: a queued job holds no pooled connection (on the real PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from services.intake.main import create_app
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
