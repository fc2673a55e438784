"""``import_identities``: the first row of each row identity an import run has read, kept
by the database instead of the run's memory (migration 011)."""

from __future__ import annotations

import uuid

import asyncpg


class Identities:
    """``import_identities`` over intake's pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def first_rows(self, run_id: uuid.UUID, first: dict[bytes, int]) -> dict[bytes, int]:
        """Record ``first`` (identity digest -> its first row in a chunk) for import run
        ``run_id``; answer the digests an earlier chunk of the run recorded, with their
        first rows.  One statement: its SELECT sees the table as before its INSERT."""
        if not first:
            return {}
        rows = await self.pool.fetch(
            """
            WITH new AS (
                INSERT INTO import_identities (run_id, digest, first_row, created_at)
                SELECT $1, d, r, now() FROM unnest($2::bytea[], $3::int[]) AS u(d, r)
                ON CONFLICT DO NOTHING)
            SELECT digest, first_row FROM import_identities
             WHERE run_id = $1 AND digest = ANY($2::bytea[])""",
            run_id,
            list(first),
            list(first.values()),
        )
        return {bytes(r["digest"]): r["first_row"] for r in rows}

    async def forget_run(self, run_id: uuid.UUID) -> None:
        """An import run's identities, when it ends; and any a run that died left (no run
        lasts a day: the database's clock, as it stamped them)."""
        await self.pool.execute(
            "DELETE FROM import_identities "
            "WHERE run_id = $1 OR created_at < now() - interval '1 day'",
            run_id,
        )
