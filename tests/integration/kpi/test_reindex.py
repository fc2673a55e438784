"""``damrong kpi reindex`` on the real PostgreSQL: the indexes of the tables the live
consumer updates are rebuilt compact and valid, the answers stay the same, and the copy a
failed run left behind is dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import pytest
from typer.testing import CliRunner

from damrong.cli.main import app
from services.kpi.main import MIGRATIONS
from services.kpi.rebuild.usecases import LIVE, REINDEXED, Reindexed, reindex
from shared.config import Settings
from shared.db import create_pool, migrate

pytestmark = pytest.mark.integration

ROWS = 20_000

# As the consumer leaves them: every case's row known "now", then superseded by later
# knowledge (its recorded_to set), which moves it out of the partial indexes.
FILL = f"""
INSERT INTO case_intervals (complaint_id, fiscal_year, province_code, district_code,
                            channel, category, received_at, recorded_at, valid_from,
                            valid_to, recorded_from, recorded_to, closed_at)
SELECT gen_random_uuid(), 2569, '10', '10' || lpad((n % 50)::text, 2, '0'), 'walk_in',
       'other', t, t, t, 'infinity', t, 'infinity', NULL
  FROM generate_series(1, {ROWS}) AS n, LATERAL (SELECT now() - n * interval '1 minute') AS x(t)
"""


async def test_reindex_rebuilds_compact_valid_indexes_and_drops_a_failed_runs_copy(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    pool = await create_pool(settings.database_url, LIVE)
    try:
        await migrate(pool, LIVE, MIGRATIONS)
        await pool.execute(FILL)
        await pool.execute(
            "UPDATE case_intervals SET recorded_to = recorded_from + interval '1 day' "
            "WHERE district_code <> '1000'"
        )
        await pool.execute("VACUUM case_intervals")
        # A REINDEX CONCURRENTLY cut off midway leaves its invalid copy, as this failed
        # build does (a unique index over repeated values).
        with pytest.raises(asyncpg.UniqueViolationError):
            await pool.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY case_intervals_fy_ccnew "
                "ON case_intervals (fiscal_year)"
            )
        answer = "SELECT count(*) FROM case_intervals WHERE recorded_to = 'infinity'"
        known_now = await pool.fetchval(answer)

        told: list[Reindexed] = []
        rebuilt = await reindex(settings, done=told.append)

        assert told == rebuilt
        indexes = await pool.fetch(
            "SELECT c.relname, i.indisvalid FROM pg_index AS i "
            "JOIN pg_class AS c ON c.oid = i.indexrelid "
            "JOIN pg_class AS t ON t.oid = i.indrelid "
            "WHERE t.relnamespace = to_regnamespace($1) AND t.relname = ANY($2::text[])",
            LIVE,
            list(REINDEXED),
        )
        assert all(r["indisvalid"] for r in indexes)
        assert "case_intervals_fy_ccnew" not in {r["relname"] for r in indexes}
        assert {r.index for r in rebuilt} == {r["relname"] for r in indexes}
        by_name = {r.index: r for r in rebuilt}
        # The index of the rows known now held every row once; now only the 400 still in it.
        now = by_name["case_intervals_now"]
        assert now.after < now.before / 4, now
        assert await pool.fetchval(answer) == known_now == ROWS // 50

        # The command line says what it rebuilt, and refuses a database without kpi's tables.
        runner = CliRunner()
        args = ["kpi", "reindex", "--database-url", settings.database_url]
        ran = await asyncio.to_thread(runner.invoke, app, args)
        assert ran.exit_code == 0, ran.output
        assert f"rebuilt {len(rebuilt)} kpi indexes" in ran.output
        await pool.execute(f"DROP SCHEMA {LIVE} CASCADE")
        refused = await asyncio.to_thread(runner.invoke, app, args)
        assert refused.exit_code == 1 and "no kpi tables" in refused.output
    finally:
        await pool.close()
