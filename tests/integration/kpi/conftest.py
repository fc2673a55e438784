"""A kpi projection on a fresh database (and a second one beside it, for comparisons)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.kpi.main import MIGRATIONS
from shared.db import create_pool, migrate


@pytest.fixture
async def pool(fresh_db: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(fresh_db, "kpi")
    await migrate(p, "kpi", MIGRATIONS)
    yield p
    await p.close()


@pytest.fixture
async def ref_pool(fresh_db: str) -> AsyncIterator[asyncpg.Pool]:
    """The same tables in schema ``kpi_ref`` of the same database: a reference projection."""
    p = await create_pool(fresh_db, "kpi_ref")
    await migrate(p, "kpi_ref", MIGRATIONS)
    yield p
    await p.close()
