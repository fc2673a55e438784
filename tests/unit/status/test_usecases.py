"""Handlers against the in-memory store: load, decide, commit, and their errors."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from services.status import usecases
from services.status.domain import Action, CaseStatus, IllegalTransition, MissingField, evolve
from shared.events import CaseAccepted
from tests.unit.status.factories import T0, command, filed
from tests.unit.status.fakes import FakeCaseStore

NOW = T0 + dt.timedelta(days=2)


async def _store_with_case() -> tuple[FakeCaseStore, uuid.UUID]:
    store = FakeCaseStore()
    env = filed()
    await store.create(env, evolve(None, env))
    return store, env.complaint_id


async def test_transition_builds_the_envelope() -> None:
    store, cid = await _store_with_case()
    state = await usecases.transition(
        store,
        cid,
        command(Action.accept, note="ok"),
        now=NOW,
        expected_version=1,
        correlation_id="corr-9",
    )
    assert (state.status, state.version) == (CaseStatus.accepted, 2)
    [env] = store.published
    assert (env.complaint_id, env.version, env.source) == (cid, 2, "/damrong/status")
    assert env.occurred_at == env.recorded_at == NOW
    assert env.correlation_id == "corr-9"
    assert env.type == "th.go.dopa.damrong.case.accepted.v1"
    assert isinstance(env.data, CaseAccepted) and env.data.note == "ok"


async def test_unknown_case() -> None:
    store = FakeCaseStore()
    with pytest.raises(usecases.CaseNotFound):
        await usecases.transition(store, uuid.uuid4(), command(Action.accept), now=NOW)
    with pytest.raises(usecases.CaseNotFound):
        await usecases.get_case(store, uuid.uuid4())
    with pytest.raises(usecases.CaseNotFound):
        await usecases.get_history(store, uuid.uuid4())


async def test_stale_expected_version_writes_nothing() -> None:
    store, cid = await _store_with_case()
    await usecases.transition(store, cid, command(Action.accept), now=NOW)
    with pytest.raises(usecases.VersionConflict) as err:
        await usecases.transition(store, cid, command(Action.start), now=NOW, expected_version=1)
    assert (err.value.status, err.value.version, err.value.expected) == (CaseStatus.accepted, 2, 1)
    assert len(await store.history(cid)) == 2


async def test_domain_errors_write_nothing() -> None:
    store, cid = await _store_with_case()
    with pytest.raises(IllegalTransition):
        await usecases.transition(store, cid, command(Action.start), now=NOW)
    with pytest.raises(MissingField):
        await usecases.transition(store, cid, command(Action.reject, reason=None), now=NOW)
    assert len(await store.history(cid)) == 1
    assert store.published == []


async def test_bulk_items_stand_alone_in_request_order() -> None:
    store, cid = await _store_with_case()
    other_env = filed()
    await store.create(other_env, evolve(None, other_env))
    unknown = uuid.uuid4()
    items = [
        usecases.BulkItem(cid, command(Action.close)),
        usecases.BulkItem(unknown, command(Action.close)),
        usecases.BulkItem(other_env.complaint_id, command(Action.start)),  # illegal: filed
        usecases.BulkItem(cid, command(Action.reopen)),  # same case again
        usecases.BulkItem(other_env.complaint_id, command(Action.accept)),  # also a repeat
    ]
    results = await usecases.bulk_transition(store, items, now=NOW, correlation_id="c")
    assert [r.complaint_id for r in results] == [i.complaint_id for i in items]
    assert results[0].state is not None and results[0].state.status is CaseStatus.closed
    assert isinstance(results[1].error, usecases.CaseNotFound)
    assert isinstance(results[2].error, IllegalTransition)
    assert isinstance(results[3].error, usecases.DuplicateItem)
    assert results[3].error.first_index == 0
    assert isinstance(results[4].error, usecases.DuplicateItem)
    assert results[4].error.first_index == 2
    assert [e.complaint_id for e in store.published] == [cid]
    assert len(await store.history(other_env.complaint_id)) == 1
