"""The CaseStore contract against PostgreSQL, plus what only the real store does (outbox)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.status.domain import evolve
from services.status.main import MIGRATIONS
from services.status.store import ConcurrencyConflict, PgCaseStore
from shared.db import create_pool, migrate
from tests.unit.status.factories import filed
from tests.unit.status.store_contract import CaseStoreContract, _accepted

pytestmark = pytest.mark.integration

TOPIC = "complaints.events.contract"


@pytest.fixture
async def pool(fresh_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_db, "status", max_size=8)
    await migrate(pool, "status", MIGRATIONS)
    try:
        yield pool
    finally:
        await pool.close()


class TestPgCaseStore(CaseStoreContract):
    @pytest.fixture
    def store(self, pool: asyncpg.Pool) -> PgCaseStore:
        return PgCaseStore(pool, TOPIC)


async def test_append_writes_outbox_in_same_transaction(pool: asyncpg.Pool) -> None:
    store = PgCaseStore(pool, TOPIC)
    env1 = filed()
    s1 = evolve(None, env1)
    await store.create(env1, s1)
    # Filing came from intake: status stores it but does not publish it again.
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    env2 = _accepted(env1)
    await store.append(env2, evolve(s1, env2))
    rows = await pool.fetch("SELECT topic, key, headers FROM outbox")
    assert len(rows) == 1 and rows[0]["topic"] == TOPIC
    assert rows[0]["key"] == str(env1.complaint_id).encode()
    headers = dict(rows[0]["headers"])
    assert headers["ce_type"] == "th.go.dopa.damrong.case.accepted.v1"
    assert headers["ce_version"] == "2"
    # A failed append leaves no outbox row behind.
    dup = _accepted(env1)
    with pytest.raises(ConcurrencyConflict):
        await store.append(dup, evolve(s1, dup))
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
