"""One contract suite for every CaseStore: subclass it and provide a ``store`` fixture.

Run against the in-memory fake (tests/unit/status/test_store_fake.py) and PostgreSQL
(tests/integration/status/test_store_pg.py), so the fake cannot drift from the real thing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from services.status import usecases
from services.status.domain import Action, CaseStatus, evolve
from services.status.store import CaseStore, ConcurrencyConflict
from shared.chain import GENESIS, link_of, verify_case
from shared.events import CaseAccepted, Envelope
from tests.unit.status.factories import T0, command, filed


def _accepted(env1: Envelope, version: int = 2) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        complaint_id=env1.complaint_id,
        version=version,
        source="/damrong/status",
        occurred_at=T0 + dt.timedelta(hours=1),
        recorded_at=T0 + dt.timedelta(hours=1),
        correlation_id="c-1",
        data=CaseAccepted(actor="officer-1", note="ok"),
    )


class CaseStoreContract:
    async def test_unknown_case(self, store: CaseStore) -> None:
        assert await store.load(uuid.uuid4()) is None
        assert await store.history(uuid.uuid4()) == []

    async def test_create_then_load(self, store: CaseStore) -> None:
        env = filed()
        state = evolve(None, env)
        assert await store.create(env, state) is True
        assert await store.load(env.complaint_id) == state
        assert await store.history(env.complaint_id) == [env]

    async def test_create_is_idempotent(self, store: CaseStore) -> None:
        env = filed()
        state = evolve(None, env)
        assert await store.create(env, state)
        dup = filed(env.complaint_id, at=T0 + dt.timedelta(days=1))
        assert await store.create(dup, evolve(None, dup)) is False
        assert await store.create(env, state) is False
        assert await store.load(env.complaint_id) == state
        assert await store.history(env.complaint_id) == [env]

    async def test_append_moves_case_and_extends_history(self, store: CaseStore) -> None:
        env1 = filed()
        s1 = evolve(None, env1)
        await store.create(env1, s1)
        env2 = _accepted(env1)
        s2 = evolve(s1, env2)
        stored = await store.append(env2, s2)
        assert await store.load(env1.complaint_id) == s2
        assert [e.version for e in await store.history(env1.complaint_id)] == [1, 2]
        assert (await store.history(env1.complaint_id))[1] == stored
        # Stored as given, chained onto the filing.
        assert stored.model_copy(update={"prev_hash": None, "hash": None}) == env2
        assert (env1.prev_hash, stored.prev_hash) == (GENESIS, env1.hash)

    async def test_append_same_version_twice_conflicts(self, store: CaseStore) -> None:
        env1 = filed()
        s1 = evolve(None, env1)
        await store.create(env1, s1)
        first = _accepted(env1)
        first = await store.append(first, evolve(s1, first))
        second = _accepted(env1)
        with pytest.raises(ConcurrencyConflict):
            await store.append(second, evolve(s1, second))
        assert await store.history(env1.complaint_id) == [env1, first]
        loaded = await store.load(env1.complaint_id)
        assert loaded is not None and loaded.version == 2

    async def test_append_gap_conflicts(self, store: CaseStore) -> None:
        env1 = filed()
        s1 = evolve(None, env1)
        await store.create(env1, s1)
        env3 = _accepted(env1, version=3)
        with pytest.raises(ConcurrencyConflict):
            await store.append(env3, s1.model_copy(update={"version": 3}))
        assert await store.load(env1.complaint_id) == s1

    async def test_handler_full_lifecycle(self, store: CaseStore) -> None:
        env1 = filed()
        await store.create(env1, evolve(None, env1))
        cid = env1.complaint_id
        now = T0 + dt.timedelta(days=1)
        for action in ("accept", "start", "forward", "start", "close", "reopen", "start"):
            await usecases.transition(store, cid, command(action), now=now)
        state = await store.load(cid)
        assert state is not None
        assert (state.status, state.version) == (CaseStatus.in_progress, 8)
        events = await store.history(cid)
        verdict = verify_case(link_of(e) for e in events)
        assert (verdict.events, verdict.breaks, verdict.unchained) == (8, [], [])
        kinds = [e.kind for e in events]
        assert kinds == [
            "complaint.filed",
            "case.accepted",
            "case.started",
            "case.forwarded",
            "case.started",
            "case.closed",
            "case.reopened",
            "case.started",
        ]

    async def test_handler_concurrent_same_expected_version(self, store: CaseStore) -> None:
        env1 = filed()
        await store.create(env1, evolve(None, env1))
        results = await asyncio.gather(
            *(
                usecases.transition(
                    store, env1.complaint_id, command(Action.accept), now=T0, expected_version=1
                )
                for _ in range(5)
            ),
            return_exceptions=True,
        )
        ok = [r for r in results if not isinstance(r, BaseException)]
        conflicts = [r for r in results if isinstance(r, usecases.VersionConflict)]
        assert len(ok) == 1 and len(conflicts) == 4
        assert all(c.version == 2 for c in conflicts)
        assert len(await store.history(env1.complaint_id)) == 2
