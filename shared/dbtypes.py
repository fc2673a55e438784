"""What runs a statement, as annotations say it.

A pool hands out its connections as ``PoolConnectionProxy`` objects, which are not
``asyncpg.Connection`` instances but answer every query method alike; code that takes "a
connection" takes either, and code that runs single statements may take the pool itself
(each statement then runs on a connection the pool lends for it).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy
"""One connection, bare or lent by a pool: what a transaction, or several statements that
must see each other, run on."""

Db: TypeAlias = Conn | asyncpg.Pool
"""A connection or a pool: enough for statements that stand alone."""


class Reads(Protocol):
    """What runs read statements: a connection, a pool, or anything that lends one of
    them per statement (kpi's snapshot of one answer)."""

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]: ...

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None: ...

    async def fetchval(self, query: str, *args: Any) -> Any: ...
