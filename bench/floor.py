"""The database's share of a run, for the benchmarks' floors: tables dumped in binary and
written again by COPY, each timed (one connection: each second is one core's)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterable

import asyncpg


async def dump(
    conn: asyncpg.Connection, tables: Iterable[str], schema: str | None = None
) -> dict[str, bytes]:
    """Each table's rows in COPY's binary format."""
    out: dict[str, bytes] = {}
    for table in tables:
        buf = io.BytesIO()
        await conn.copy_from_table(table, schema_name=schema, output=buf, format="binary")
        out[table] = buf.getvalue()
    return out


async def copy_again(
    conn: asyncpg.Connection, dumps: dict[str, bytes], schema: str | None = None
) -> dict[str, float]:
    """Write each dump into its table (in the order given); the seconds each took."""
    seconds: dict[str, float] = {}
    for table, rows in dumps.items():
        t0 = time.perf_counter()
        await conn.copy_to_table(
            table, schema_name=schema, source=io.BytesIO(rows), format="binary"
        )
        seconds[table] = time.perf_counter() - t0
    return seconds
