"""The outbox relay survives ``pg_terminate_backend`` of its connections, again and again.

Every cut takes the relay's lock connection (and its batch connection when it is in use).
The relay must take the lock again on a fresh connection and go on: every row published
exactly once, each case's events in version order, none lost, the lock held again after.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import operator
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest

from shared.config import Settings
from shared.db import create_pool, migrate
from shared.events import CaseAccepted, Envelope
from shared.kafka import ensure_topics, make_producer
from shared.outbox import OutboxRelay, append
from shared.topic_reader import read_topic
from tests.integration.tcp_hop import TcpHop
from tests.signing import signer
from tests.waiting import eventually

SCHEMA = "relaycuts"
CASES, VERSIONS = 12, 15
TOTAL = CASES * VERSIONS
CUT_EVERY = 15  # rows published between two cuts
NOW = dt.datetime(2026, 1, 5, 3, tzinfo=dt.UTC)
CUT = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE application_name = $1 AND datname = current_database()"
)


def _event(case: uuid.UUID, version: int) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        complaint_id=case,
        version=version,
        source="/test",
        occurred_at=NOW,
        recorded_at=NOW,
        data=CaseAccepted(actor="t", note=f"v{version}"),
    )


class Bench:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, admin: asyncpg.Connection) -> None:
        self.settings, self.pool, self.admin = settings, pool, admin
        self.producer = make_producer(settings)

    def relay(self) -> OutboxRelay:
        return OutboxRelay(
            self.pool,
            self.producer,
            name=SCHEMA,
            signer=signer("/test"),
            batch_size=3,
            idle_poll_s=0.05,
        )

    async def cut(self) -> int:
        """Terminate every connection of the relay's pool (not the test's own)."""
        return int(await self.admin.fetchval(CUT, f"damrong-{SCHEMA}"))


@pytest.fixture
async def bench(make_settings: Callable[..., Settings], tmp_path: Path) -> AsyncIterator[Bench]:
    settings = make_settings()
    pool = await create_pool(settings.database_url, SCHEMA, max_size=4)
    await migrate(pool, SCHEMA, tmp_path)  # the shared migrations: the outbox
    await ensure_topics(settings)
    # The test's own connection: not named damrong-*, so no cut reaches it.
    admin = await asyncpg.connect(settings.database_url, server_settings={"search_path": SCHEMA})
    for typ in ("json", "jsonb"):  # as the pools do: outbox headers are JSON
        await admin.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    b = Bench(settings, pool, admin)
    await b.producer.start()
    try:
        yield b
    finally:
        await b.producer.stop()
        await admin.close()
        await pool.close()


async def _published(relay: OutboxRelay) -> int:
    return relay.published


async def test_relay_retakes_its_lock_and_publishes_each_row_once_in_order(bench: Bench) -> None:
    cases = [uuid.uuid4() for _ in range(CASES)]
    for version in range(1, VERSIONS + 1):  # each case's events appended in version order
        await append(
            bench.admin, bench.settings.events_topic, [_event(case, version) for case in cases]
        )
    relay = bench.relay()
    task = asyncio.create_task(relay.run())
    cut = 0
    try:
        for mark in range(CUT_EVERY, TOTAL, CUT_EVERY):
            # Only a relay that came back from the previous cut gets this far.
            await eventually(
                lambda: _published(relay),
                functools.partial(operator.le, mark),
                timeout=30,
                interval=0.005,
            )
            cut += await bench.cut()
        await eventually(lambda: _published(relay), lambda n: n >= TOTAL, timeout=30)
        assert not task.done()
        assert cut >= TOTAL // CUT_EVERY - 1  # the lock's connection, every time
        assert relay.faults >= TOTAL // CUT_EVERY - 1, relay.faults
        assert (
            await bench.admin.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            == 0
        )

        seen: Counter[str] = Counter()
        versions: dict[str, list[int]] = defaultdict(list)
        async for rec in read_topic(bench.settings):
            headers = {k: v.decode() for k, v in rec.headers}
            seen[headers["ce_id"]] += 1
            versions[headers["ce_subject"]].append(int(headers["ce_version"]))
        assert sum(seen.values()) == TOTAL and set(seen.values()) == {1}  # once each
        assert versions == {str(c): list(range(1, VERSIONS + 1)) for c in cases}

        # The lock is held again: a second relay stands by, the first goes on publishing.
        second = bench.relay()
        standby = asyncio.create_task(second.run())
        try:
            await eventually(lambda: asyncio.sleep(0, second.standing_by))
            assert second.ready() and second.published == 0
            await append(bench.admin, bench.settings.events_topic, [_event(cases[0], VERSIONS + 1)])
            await eventually(lambda: _published(relay), lambda n: n == TOTAL + 1)
            assert second.published == 0
        finally:
            standby.cancel()
            await asyncio.gather(standby, return_exceptions=True)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_relay_waits_out_an_unreachable_database(bench: Bench) -> None:
    """The database unreachable for a while (connections dropped, new ones refused): the
    relay keeps trying with back-off instead of dying, and publishes once it is back."""
    hop = TcpHop(bench.settings.database_url)
    pool = await create_pool(await hop.open(), SCHEMA, max_size=2)
    relay = OutboxRelay(pool, bench.producer, name=SCHEMA, signer=signer("/test"), idle_poll_s=0.05)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: asyncio.sleep(0, relay.caught_up.is_set()), timeout=20)
        await hop.close()
        await append(bench.admin, bench.settings.events_topic, [_event(uuid.uuid4(), 1)])
        # Several attempts to connect meet the outage, and none of them ends the relay.
        # The relay counts a fault just after the hop refuses it: wait for both.
        await eventually(
            lambda: asyncio.sleep(0, task.done() or (hop.refused >= 3 and relay.faults >= 3)),
            timeout=20,
        )
        assert not task.done(), task.exception()
        assert relay.published == 0 and relay.faults >= 3
        await hop.open()
        await eventually(lambda: _published(relay), lambda n: n == 1, timeout=30)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await hop.close(for_good=True)
        pool.terminate()
