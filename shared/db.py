"""PostgreSQL access: one pool per service, each service in its own schema, with migrations.

Every service owns a schema (``intake``, ``status``, ``kpi``) and never reads another's
tables.  Migrations are plain SQL files applied once, in name order, under an advisory
lock so that several instances starting together do not race.

A connection can be lost at any moment (a failover, a pooler restart, an administrator's
``pg_terminate_backend``).  The pool replaces a closed connection on the next acquire;
work that is safe to run again goes through ``retry_transient``, which waits a growing
pause between attempts so that the pool has noticed every connection the server closed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import TypeVar

import asyncpg
import structlog

from shared.dbtypes import Conn
from shared.faults import Backoff, is_transient

log = structlog.get_logger()

T = TypeVar("T")

_SHARED_MIGRATIONS = Path(str(files("shared").joinpath("migrations")))


def connection_lost(conn: Conn) -> bool:
    """Whether ``conn`` is gone: closed, or closed by the server and so already taken back
    by its pool (the proxy then refuses every call)."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    dsn: str,
    schema: str,
    *,
    max_size: int = 10,
    server_settings: Mapping[str, str] | None = None,
) -> asyncpg.Pool:
    """A pool whose connections see ``schema`` first (and any other ``server_settings``);
    the schema is created if missing."""
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
        server_settings={
            **(server_settings or {}),
            "search_path": schema,
            "application_name": f"damrong-{schema}",
        },
    )
    assert pool is not None
    return pool


def _migration_files(service_dir: Path) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for folder, prefix in ((_SHARED_MIGRATIONS, "shared"), (service_dir, "service")):
        found.extend(
            (f"{prefix}/{path.name}", path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob("*.sql"))
        )
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


async def retry_transient(
    op: Callable[[], Awaitable[T]],
    *,
    what: str,
    attempts: int | None = 5,
    backoff: Backoff | None = None,
    retried: Callable[[Exception], None] | None = None,
    **context: object,
) -> T:
    """``op()``, run again after a transient fault (``shared.faults``) up to ``attempts``
    times in all (``None``: until it passes), with back-off, each retry logged as
    ``db.retry`` with ``what`` and ``context`` and counted by ``retried``; the last fault,
    or any other, is raised at once.

    ``op`` must be safe to run again: a read, or a write that is idempotent or whose
    outcome cannot be lost (one transaction that the server rolls back with the session).
    """
    backoff = backoff or Backoff(first=0.05, cap=1.0)
    for attempt in itertools.count(1):
        try:
            return await op()
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            if retried is not None:
                retried(exc)
            delay = backoff.next()
            log.warning(
                "db.retry", what=what, attempt=attempt, error=repr(exc), retry_in_s=delay, **context
            )
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


async def reachable(pool: asyncpg.Pool, *, timeout: float = 0.8) -> bool:
    """Whether the database answers on a pool connection, retried on a fresh one after a
    transient fault (connections cut a moment ago are no outage): at most ``3 * timeout``
    and the pauses between."""

    async def ping() -> object:
        # The wait for a free connection counts too: a pool that hands none out in time
        # cannot serve a request either.
        return await asyncio.wait_for(pool.fetchval("SELECT 1"), timeout)

    try:
        await retry_transient(ping, what="probe", attempts=3)
    except Exception as exc:  # noqa: BLE001 - whatever the cause, the answer is no
        log.warning("db.unreachable", error=repr(exc))
        return False
    return True
