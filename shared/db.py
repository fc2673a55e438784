"""PostgreSQL access: one pool per service, each service in its own schema, with migrations.

Every service owns a schema (``intake``, ``status``, ``kpi``) and never reads another's
tables.  Migrations are plain SQL files applied once, in name order, under an advisory
lock so that several instances starting together do not race.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import asyncpg
import structlog

log = structlog.get_logger()

_SHARED_MIGRATIONS = Path(str(files("shared").joinpath("migrations")))


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, schema: str, *, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections see ``schema`` first; the schema is created if missing."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=max_size,
        init=_init_connection,
        server_settings={"search_path": schema, "application_name": f"damrong-{schema}"},
    )
    assert pool is not None
    return pool


def _migration_files(service_dir: Path) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for folder, prefix in ((_SHARED_MIGRATIONS, "shared"), (service_dir, "service")):
        for path in sorted(folder.glob("*.sql")):
            found.append((f"{prefix}/{path.name}", path.read_text(encoding="utf-8")))
    return found


async def migrate(pool: asyncpg.Pool, schema: str, service_dir: Path) -> list[str]:
    """Apply the shared and the service's pending migrations; return the names applied."""
    applied: list[str] = []
    async with pool.acquire() as conn:
        # One lock per schema: instances of one service serialise, services do not wait.
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"migrate:{schema}")
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            for name, sql in _migration_files(service_dir):
                if name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_migrations(name) VALUES ($1)", name)
                applied.append(name)
                log.info("migration.applied", schema=schema, migration=name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"migrate:{schema}")
    return applied
