"""What the consumer does when it must not go on: a bug in a handler stops it with its
offsets where they were and nothing dead-lettered (the valid event is applied once the
code is fixed), and it never applies records before the stored offsets, even when the
database did not answer during the rebalance."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from shared.config import Settings
from shared.kafka import cluster_id
from tests.integration.consumer_rig import Rig, dead_letters, notes
from tests.waiting import eventually


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "one-by-one"])
async def test_a_bug_stops_the_consumer_and_keeps_its_offsets(
    make_settings: Callable[..., Settings], tmp_path: Path, batch: bool
) -> None:
    rig = Rig(make_settings(topic_partitions=1), batch=batch)
    await rig.open(tmp_path)
    rig.start()
    try:
        first = notes(4)
        await rig.send(first)
        assert (await rig.settled(first))["applied"] == 4
        assert await rig.stored_offset() == 4

        bugged = notes(2) + notes(1, "boom") + notes(2)
        await rig.send(bugged)
        state = await rig.settled(bugged)
        assert (state["applied"], state["dead"], state["done"]) == (0, 0, True)
        assert rig.task is not None and isinstance(rig.task.exception(), KeyError)
        assert await rig.stored_offset() == 4  # the failed batch stored nothing
        assert await rig.applied() == 4
        # Nothing went to the dead-letter topic: a record put there now is its first.
        await rig.producer.send_and_wait(rig.settings.dlq_topic, b"marker")
        assert [d["value"] for d in await dead_letters(rig.settings, 1)] == ["marker"]

        # The code is fixed and the service restarted: it resumes at the stored offset.
        await rig.consumer.stop()
        rig.fixed = True
        rig.start()
        state = await rig.settled(bugged)
        assert (state["applied"], state["dead"], state["done"]) == (5, 0, False)
        assert await rig.applied() == 9
        assert await rig.stored_offset() == rig.produced == 9
    finally:
        await rig.close()


async def test_partitions_wait_for_their_stored_offsets(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """The stored offsets cannot be read while the partitions are assigned (the table is
    locked past ``lock_timeout``): nothing is applied until they can, and then nothing
    before them (the records there would stop the consumer if it read them)."""
    settings = make_settings(topic_partitions=1)
    admin = await asyncpg.connect(settings.database_url)
    try:
        name = await admin.fetchval("SELECT current_database()")
        await admin.execute(f"ALTER DATABASE \"{name}\" SET lock_timeout = '200ms'")
    finally:
        await admin.close()
    rig = Rig(settings)
    await rig.open(tmp_path)
    try:
        before = notes(3, "boom")  # applied and stored long ago, as far as we know
        after = notes(4)
        await rig.send(before + after)
        await rig.admin.execute(
            "INSERT INTO consumer_offsets (group_id, topic, partition, epoch, next_offset) "
            "VALUES ($1, $2, 0, $3, 3)",
            rig.group,
            settings.events_topic,
            await cluster_id(rig.producer.client),
        )
        lock = rig.admin.transaction()
        await lock.start()
        try:
            await rig.admin.execute("LOCK TABLE consumer_offsets IN ACCESS EXCLUSIVE MODE")
            rig.start()
            await eventually(
                lambda: rig.state(after),
                lambda s: s["retries"] >= 2 or s["applied"] or s["dead"] or s["done"],
            )
            state = await rig.state(after)
            assert (state["applied"], state["dead"], state["done"]) == (0, 0, False)
            assert "LockNotAvailableError" in (rig.consumer.last_fault or "")
        finally:
            await lock.rollback()
        state = await rig.settled(after)
        assert (state["applied"], state["dead"], state["done"]) == (4, 0, False)
        assert await rig.applied() == 4
        assert await rig.stored_offset() == 7
    finally:
        await rig.close()
