"""The consumer under faults that pass, on the real database and broker: the batch is
rolled back and retried on a fresh connection until the fault clears, then every event is
applied exactly once and nothing goes to the dead-letter topic (consumer_rig says how the
faults are injected).  A genuinely poison record amid them still goes there, alone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings
from tests.integration.consumer_rig import GATE, LingeringProxy, Rig, dead_letters, notes
from tests.waiting import eventually

# Deadlock, serialization failure, lock timeout, statement timeout, terminated by an
# administrator, too many connections, disk full, connection failure.
TRANSIENT = ["40P01", "40001", "55P03", "57014", "57P01", "53300", "53100", "08006"]
BATCH = pytest.mark.parametrize("batch", [True, False], ids=["batch", "one-by-one"])


def _retried_or_moved(state: dict[str, Any], *, since: int) -> bool:
    """Retried twice more since ``since``, or anything else happened."""
    return bool(state["retries"] >= since + 2 or state["applied"] or state["dead"] or state["done"])


OpenRig = Callable[[bool], Awaitable[Rig]]


@pytest.fixture
async def open_rig(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> AsyncIterator[OpenRig]:
    rigs: list[Rig] = []

    async def build(batch: bool) -> Rig:
        rig = Rig(make_settings(topic_partitions=1), batch=batch)
        await rig.open(tmp_path)
        rigs.append(rig)
        rig.start()
        return rig

    yield build
    for rig in rigs:
        await rig.close()


@BATCH
async def test_raised_transient_sqlstates_are_retried_never_dead_lettered(
    open_rig: OpenRig, batch: bool
) -> None:
    rig = await open_rig(batch)
    for code in TRANSIENT:
        round_ = notes(10)
        await rig.arm(round_[5], code, times=2)  # mid-batch, on two attempts
        retries = rig.consumer.retries
        await rig.send(round_)
        assert await rig.settled(round_) == {
            "applied": 10,
            "dead": 0,
            "done": False,
            "retries": retries + 2,
        }, code
        assert await rig.fired() == 3, code  # twice the fault, then through
        assert code in (rig.consumer.last_fault or ""), rig.consumer.last_fault
    assert await rig.applied() == 10 * len(TRANSIENT)  # each once: no duplicate key
    assert await rig.stored_offset() == rig.produced

    # A poison event amid a fault: retried with its batch, then dead-lettered once.
    mixed = notes(3) + notes(1, "bad") + notes(3)
    await rig.arm(mixed[5], "40P01", times=1)
    await rig.send(mixed)
    # Both counts together: the transaction that applies the six commits before the
    # consumer counts its dead letter, so "six applied" alone may be seen a moment early.
    state = await eventually(
        partial(rig.state, mixed[:3] + mixed[4:]),
        lambda s: (s["applied"], s["dead"]) == (6, 1) or s["dead"] > 1 or s["done"],
    )
    assert (state["applied"], state["dead"], state["done"]) == (6, 1, False)
    marker = await rig.send_raw(b"not an event")
    letters = await dead_letters(rig.settings, 2)
    assert letters[0]["dlq_error"] == f"refused: {mixed[3]}"
    assert letters[1]["dlq_origin"] == f"{rig.settings.events_topic}/0/{marker}"
    # The letter is on the topic before the consumer counts it and stores its offset.

    async def counted() -> tuple[int, int | None]:
        return rig.consumer.dead_lettered, await rig.stored_offset()

    settled = await eventually(counted, lambda c: c[0] >= 2 and c[1] == rig.produced)
    assert settled == (2, rig.produced)


async def test_lock_and_statement_timeouts_hold_the_batch_until_the_lock_goes(
    open_rig: OpenRig,
) -> None:
    rig = await open_rig(True)
    for setting, error in (
        ("lock_timeout", "LockNotAvailableError"),
        ("statement_timeout", "QueryCanceledError"),
    ):
        rig.timeouts = {"lock_timeout": "0", "statement_timeout": "0", setting: "150ms"}
        round_ = notes(10)
        await rig.arm(round_[5], gate=True)
        await rig.admin.execute("SELECT pg_advisory_lock($1)", GATE)
        try:
            retries = rig.consumer.retries
            await rig.send(round_)
            state = await eventually(
                partial(rig.state, round_), partial(_retried_or_moved, since=retries)
            )
            assert (state["applied"], state["dead"], state["done"]) == (0, 0, False)
            assert (rig.consumer.last_fault or "").startswith(error), rig.consumer.last_fault
        finally:
            await rig.admin.execute("SELECT pg_advisory_unlock($1)", GATE)
        state = await rig.settled(round_)
        assert (state["applied"], state["dead"], state["done"]) == (10, 0, False), setting
    assert await rig.applied() == 20
    assert await rig.stored_offset() == rig.produced


@BATCH
async def test_connections_terminated_mid_batch_are_replaced(
    open_rig: OpenRig, batch: bool
) -> None:
    """What a failover or a pooler restart does: pg_terminate_backend of every connection
    of the service, the consumer's among them stuck in the middle of a batch."""
    rig = await open_rig(batch)
    for _ in range(2):
        round_ = notes(10)
        await rig.arm(round_[5], gate=True)
        await rig.admin.execute("SELECT pg_advisory_lock($1)", GATE)
        try:
            await rig.send(round_)
            await eventually(rig.waiting_at_gate, lambda n: n >= 1)
            assert await rig.applied(round_) == 0
            assert await rig.terminate_consumer_connections() >= 1
        finally:
            await rig.admin.execute("SELECT pg_advisory_unlock($1)", GATE)
        state = await rig.settled(round_)
        assert (state["applied"], state["dead"], state["done"]) == (10, 0, False)
        assert state["retries"] >= 1
    after = notes(5)  # and on the fresh connections, business as usual
    await rig.send(after)
    state = await rig.settled(after)
    assert (state["applied"], state["dead"], state["done"]) == (5, 0, False)
    assert await rig.applied() == 25
    assert await rig.stored_offset() == rig.produced


async def test_a_batch_that_hangs_is_abandoned_at_its_deadline_and_retried(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """A batch waiting on something that never answers (no lock or statement timeout is
    set): past its deadline it is rolled back with its connection and tried again, with
    twice the time each round, until it goes through, applied once."""
    rig = Rig(make_settings(topic_partitions=1))
    rig.batch_deadline_s = 0.5
    await rig.open(tmp_path)
    rig.start()
    try:
        round_ = notes(10)
        await rig.arm(round_[5], gate=True)
        await rig.admin.execute("SELECT pg_advisory_lock($1)", GATE)
        try:
            await rig.send(round_)
            state = await eventually(partial(rig.state, round_), lambda s: s["retries"] >= 2)
            assert (state["applied"], state["dead"], state["done"]) == (0, 0, False)
            assert (rig.consumer.last_fault or "").startswith("BatchTimeout: batch not done within")
            # Abandoned means its connection is gone, not left waiting at the gate: only
            # the attempt under way waits there.
            await eventually(rig.waiting_at_gate, lambda n: n <= 1)
        finally:
            await rig.admin.execute("SELECT pg_advisory_unlock($1)", GATE)
        state = await rig.settled(round_)
        assert (state["applied"], state["dead"], state["done"]) == (10, 0, False)
        assert await rig.stored_offset() == rig.produced
    finally:
        await rig.close()


async def test_a_pooled_connection_that_read_its_termination_is_discarded(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """The pool hands out a connection whose server already said FATAL (terminated while
    idle) but whose socket has not closed yet: asyncpg then refuses any statement with
    InternalClientError ("cannot switch to state 15; another operation (2) is in
    progress").  The consumer drops that connection and goes on with a fresh one."""
    settings = make_settings(topic_partitions=1)
    proxy = LingeringProxy(settings.database_url)
    rig = Rig(settings, pool_dsn=await proxy.start())
    await rig.open(tmp_path)
    rig.start()
    try:
        first = notes(5)
        await rig.send(first)
        assert (await rig.settled(first))["applied"] == 5
        assert await rig.terminate_consumer_connections() >= 1
        await eventually(rig.consumer_backends, lambda n: n == 0)
        second = notes(5)
        await rig.send(second)  # read by the consumer while the old sockets linger
        state = await rig.settled(second)
        assert (state["applied"], state["dead"], state["done"]) == (5, 0, False), (
            rig.task and rig.task.done() and rig.task.exception()
        )
        assert "InternalClientError" in (rig.consumer.last_fault or ""), rig.consumer.last_fault
        assert await rig.applied() == 10
        assert await rig.stored_offset() == rig.produced
    finally:
        await rig.close()
        await proxy.stop()
