"""Cases projected before the history table existed get their rows at start-up."""

from __future__ import annotations

import asyncpg

from services.kpi import history
from services.kpi.consumer import handle_batch
from shared.batches import pooled
from tests.unit.kpi import scenario

ROWS = "SELECT * FROM case_intervals ORDER BY complaint_id, recorded_from, valid_from"


async def test_fill_missing_restores_exactly_the_rows_the_consumer_writes(
    pool: asyncpg.Pool,
) -> None:
    envs = [e for es in scenario.build().values() for e in es]
    async with pooled(pool) as conn, conn.transaction():
        await handle_batch(conn, envs)
    written = [dict(r) for r in await pool.fetch(ROWS)]
    assert written

    await pool.execute("DELETE FROM case_intervals")
    cases = await pool.fetchval("SELECT count(*) FROM cases")
    assert await history.fill_missing(pool, batch=3) == cases
    assert [dict(r) for r in await pool.fetch(ROWS)] == written
    assert await history.fill_missing(pool) == 0
