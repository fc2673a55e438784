"""Kept answers (services/kpi/reports/answers.py): one computation per question and state
of the projection, never an answer kept across a change of that state."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest

from services.kpi.reports import store as queries
from services.kpi.reports.answers import Answers


class Projection:
    """A position to read, and a computation that counts its calls and can be held."""

    def __init__(self) -> None:
        self.at = 0
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.move_during = False
        self.fail: Exception | None = None
        self.started = asyncio.Event()

    async def where(self) -> Hashable:
        return self.at

    async def compute(self) -> str:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.move_during:
            self.at += 1  # a batch commits while the report runs
        if self.fail is not None:
            raise self.fail
        return f"answer {self.calls} at {self.at}"


async def test_the_same_question_at_the_same_position_is_computed_once() -> None:
    p, kept = Projection(), Answers(8)
    first = await kept.get("summary", p.compute, p.where)
    assert await kept.get("summary", p.compute, p.where) == first
    assert (p.calls, kept.hits) == (1, 1)
    assert await kept.get("monthly", p.compute, p.where) != first  # another question
    assert p.calls == 2


async def test_a_new_position_computes_afresh() -> None:
    p, kept = Projection(), Answers(8)
    first = await kept.get("summary", p.compute, p.where)
    p.at += 1
    second = await kept.get("summary", p.compute, p.where)
    assert (first, second) == ("answer 1 at 0", "answer 2 at 1")


async def test_an_answer_whose_position_moved_while_computing_is_not_kept() -> None:
    p, kept = Projection(), Answers(8)
    p.move_during = True
    assert await kept.get("summary", p.compute, p.where) == "answer 1 at 1"
    p.move_during = False
    # Asked again at the new position: computed, not the one that straddled two states.
    assert await kept.get("summary", p.compute, p.where) == "answer 2 at 1"
    assert kept.hits == 0


async def test_concurrent_askers_share_one_computation_and_one_leaving_stops_nothing() -> None:
    p, kept = Projection(), Answers(8)
    p.gate = asyncio.Event()
    askers = [asyncio.create_task(kept.get("summary", p.compute, p.where)) for _ in range(5)]
    await p.started.wait()
    askers[0].cancel()  # a browser closed: the others still get their answer
    p.gate.set()
    answers = await asyncio.gather(*askers[1:])
    assert answers == ["answer 1 at 0"] * 4
    assert p.calls == 1
    with pytest.raises(asyncio.CancelledError):
        await askers[0]


async def test_a_failure_reaches_every_asker_and_is_not_kept() -> None:
    p, kept = Projection(), Answers(8)
    p.fail = ConnectionError("database away")
    with pytest.raises(ConnectionError):
        await kept.get("summary", p.compute, p.where)
    p.fail = None
    assert await kept.get("summary", p.compute, p.where) == "answer 2 at 0"


async def test_the_least_recently_used_answer_goes_first_and_size_zero_keeps_none() -> None:
    p, kept = Projection(), Answers(2)
    for q in ("a", "b"):
        await kept.get(q, p.compute, p.where)
    await kept.get("a", p.compute, p.where)  # a used again: b is now the oldest
    await kept.get("c", p.compute, p.where)
    assert p.calls == 3
    await kept.get("a", p.compute, p.where)
    assert p.calls == 3  # a kept
    await kept.get("b", p.compute, p.where)
    assert p.calls == 4  # b was dropped

    off = Answers(0)
    for _ in range(3):
        await off.get("a", p.compute, p.where)
    assert (p.calls, off.hits) == (7, 0)


async def test_statements_started_together_fail_as_one_after_another_would() -> None:
    """``together``: the results in order; the first failure is raised as it is (a
    database away stays the error the API answers 503 for, not a group of errors), and
    the statements still running are cancelled, not left on their connections."""
    assert await queries.together(asyncio.sleep(0, "a"), asyncio.sleep(0, "b")) == ["a", "b"]
    never = asyncio.Event()
    cancelled = asyncio.Event()

    async def waits() -> None:
        try:
            await never.wait()
        finally:
            cancelled.set()

    async def fails() -> None:
        raise ConnectionResetError("the database went away")

    with pytest.raises(ConnectionResetError, match="went away"):
        await queries.together(waits(), fails())
    assert cancelled.is_set()
