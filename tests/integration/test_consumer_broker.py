"""Stored offsets belong to the broker they were stored in (its cluster id): a consumer
reads a broker whose id its offsets do not carry from the beginning, and one it has
offsets for from them; offsets stored before brokers were told apart count as the
current broker's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shared.config import Settings
from shared.kafka import cluster_id
from tests.integration.consumer_rig import Rig, notes
from tests.waiting import eventually

pytestmark = [pytest.mark.integration]


@pytest.mark.parametrize(
    ("stored_under", "read_from"),
    [("another", 0), ("this", 3), ("untold", 3)],
    ids=["another broker's offsets", "this broker's offsets", "offsets from before"],
)
async def test_stored_offsets_count_only_in_their_own_broker(
    make_settings: Callable[..., Settings], tmp_path: Path, stored_under: str, read_from: int
) -> None:
    rig = Rig(make_settings(topic_partitions=1))
    await rig.open(tmp_path)
    try:
        sent = notes(6)
        await rig.send(sent)
        broker = await cluster_id(rig.producer.client)
        epoch = {"another": "a-broker-gone-since", "this": broker, "untold": ""}[stored_under]
        await rig.admin.execute(
            "INSERT INTO consumer_offsets (group_id, topic, partition, epoch, next_offset) "
            "VALUES ($1, $2, 0, $3, 3)",
            rig.group,
            rig.settings.events_topic,
            epoch,
        )
        rig.start()
        await eventually(rig.stored_offset, lambda offset: offset == 6)
        # The projection's plain INSERT would stop the consumer on a note applied twice:
        # what is there is exactly what was read.
        assert await rig.applied() == 6 - read_from
        assert await rig.applied(sent[read_from:]) == 6 - read_from
        assert rig.consumer.broker == broker
        assert (
            await rig.admin.fetchval(
                "SELECT epoch FROM consumer_offsets WHERE group_id = $1", rig.group
            )
            == broker
        )
    finally:
        await rig.close()
