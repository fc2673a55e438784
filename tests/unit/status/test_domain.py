"""The case state machine: every state x every action, required fields, folding, purity."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from services.status.domain import (
    Action,
    CaseState,
    CaseStatus,
    IllegalTransition,
    InvalidField,
    MissingField,
    decide,
    effective_time,
    evolve,
    fold,
)
from shared.codes import ClosureReason
from shared.events import (
    CaseAccepted,
    CaseClosed,
    CaseForwarded,
    CaseRejected,
    CaseReopened,
    CaseStarted,
    ComplaintFiled,
    Envelope,
    EventData,
)
from tests.unit.status.factories import T0, command, filed

NOW = dt.datetime(2025, 11, 10, 3, 0, tzinfo=dt.UTC)

S, A = CaseStatus, Action
# The expected table, written out independently of domain.TRANSITIONS.
ALLOWED: dict[tuple[CaseStatus, Action], CaseStatus] = {
    (S.filed, A.accept): S.accepted,
    (S.filed, A.reject): S.rejected,
    (S.filed, A.close): S.closed,
    (S.accepted, A.start): S.in_progress,
    (S.accepted, A.close): S.closed,
    (S.in_progress, A.forward): S.forwarded,
    (S.in_progress, A.close): S.closed,
    (S.forwarded, A.start): S.in_progress,
    (S.forwarded, A.close): S.closed,
    (S.reopened, A.start): S.in_progress,
    (S.reopened, A.close): S.closed,
    (S.closed, A.reopen): S.reopened,
    (S.rejected, A.reopen): S.reopened,
}
EVENT_OF = {
    A.accept: CaseAccepted,
    A.reject: CaseRejected,
    A.start: CaseStarted,
    A.forward: CaseForwarded,
    A.close: CaseClosed,
    A.reopen: CaseReopened,
}


def state_in(status: CaseStatus, version: int = 3) -> CaseState:
    base = evolve(None, filed())
    return base.model_copy(update={"status": status, "version": version})


def wrap(state: CaseState, payload: EventData, at: dt.datetime = NOW) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        complaint_id=state.complaint_id,
        version=state.version + 1,
        source="/damrong/status",
        occurred_at=at,
        recorded_at=at,
        data=payload,
    )


@pytest.mark.parametrize("status", list(CaseStatus))
@pytest.mark.parametrize("action", list(Action))
def test_transition_table(status: CaseStatus, action: Action) -> None:
    state = state_in(status)
    if (status, action) in ALLOWED:
        payload = decide(state, command(action), NOW)
        assert isinstance(payload, EVENT_OF[action])
        assert payload.actor == "officer-1"
        assert evolve(state, wrap(state, payload)).status is ALLOWED[(status, action)]
    else:
        with pytest.raises(IllegalTransition) as err:
            decide(state, command(action), NOW)
        assert err.value.status is status and err.value.action is action


def test_table_covers_every_pair() -> None:
    assert len(list(CaseStatus)) * len(list(Action)) == 42
    assert len(ALLOWED) == 13


@pytest.mark.parametrize(
    ("status", "action", "field", "override"),
    [
        (S.filed, A.reject, "reason", {"reason": None}),
        (S.filed, A.reject, "reason", {"reason": "   "}),
        (S.in_progress, A.close, "reason", {"reason": None}),
        (S.in_progress, A.forward, "agency", {"agency": None}),
        (S.in_progress, A.forward, "due_date", {"due_date": None}),
        (S.filed, A.accept, "actor", {"actor": " "}),
    ],
)
def test_missing_field(
    status: CaseStatus, action: Action, field: str, override: dict[str, object]
) -> None:
    with pytest.raises(MissingField) as err:
        decide(state_in(status), command(action, **override), NOW)
    assert err.value.field == field


def test_illegal_transition_wins_over_missing_field() -> None:
    with pytest.raises(IllegalTransition):
        decide(state_in(S.closed), command(A.close, reason=None), NOW)


def test_close_needs_a_known_closure_reason() -> None:
    with pytest.raises(InvalidField) as err:
        decide(state_in(S.accepted), command(A.close, reason="bored"), NOW)
    assert err.value.field == "reason"
    for reason in ClosureReason:
        payload = decide(state_in(S.accepted), command(A.close, reason=reason.value), NOW)
        assert isinstance(payload, CaseClosed) and payload.reason is reason


def test_forward_due_date_not_before_action_date_in_bangkok() -> None:
    # 2025-11-10 18:00 UTC is already 2025-11-11 in Bangkok.
    late = dt.datetime(2025, 11, 10, 18, 0, tzinfo=dt.UTC)
    state = state_in(S.in_progress)
    with pytest.raises(InvalidField) as err:
        decide(state, command(A.forward, due_date=dt.date(2025, 11, 10)), late)
    assert err.value.field == "due_date"
    ok = decide(state, command(A.forward, due_date=dt.date(2025, 11, 11)), late)
    assert isinstance(ok, CaseForwarded) and ok.due_date == dt.date(2025, 11, 11)


def test_optional_texts_are_carried() -> None:
    payload = decide(state_in(S.closed), command(A.reopen, reason="new evidence", note="n"), NOW)
    assert isinstance(payload, CaseReopened)
    assert (payload.reason, payload.note) == ("new evidence", "n")
    bare = decide(state_in(S.closed), command(A.reopen), NOW)
    assert isinstance(bare, CaseReopened) and bare.reason is None


def test_fold_full_lifecycle() -> None:
    env1 = filed(at=T0)
    events = [env1]
    state = evolve(None, env1)
    assert (state.status, state.version, state.last_event_at) == (S.filed, 1, T0)
    assert isinstance(env1.data, ComplaintFiled)
    assert state.tracking_no == env1.data.tracking_no
    steps: list[tuple[Action, dict[str, Any]]] = [
        (A.accept, {}),
        (A.start, {}),
        (A.forward, {"agency": "Land Office", "due_date": dt.date(2025, 12, 1)}),
        (A.start, {}),
        (A.close, {"reason": "mediated"}),
    ]
    for i, (action, kw) in enumerate(steps, start=1):
        at = T0 + dt.timedelta(days=i)
        env = wrap(state, decide(state, command(action, **kw), at), at)
        events.append(env)
        state = evolve(state, env)
    closed_at = T0 + dt.timedelta(days=5)
    assert state.status is S.closed and state.version == 6
    assert (state.closed_at, state.closure_reason) == (closed_at, ClosureReason.mediated)
    assert (state.agency, state.due_date) == ("Land Office", dt.date(2025, 12, 1))
    assert state.last_event_at == closed_at
    assert fold(events) == state
    reopened_at = T0 + dt.timedelta(days=9)
    state = evolve(state, wrap(state, CaseReopened(actor="x"), reopened_at))
    assert (state.status, state.closed_at, state.closure_reason) == (S.reopened, None, None)
    assert state.last_event_at == reopened_at


def test_evolve_rejects_inconsistent_history() -> None:
    env1 = filed()
    state = evolve(None, env1)
    with pytest.raises(ValueError):
        evolve(state, env1)  # a second filing
    with pytest.raises(ValueError):
        evolve(None, filed(version=2))
    skip = wrap(state.model_copy(update={"version": 2}), CaseAccepted(actor="x"))
    with pytest.raises(ValueError):
        evolve(state, skip)  # version 3 after version 1
    with pytest.raises(ValueError):
        evolve(None, wrap(state, CaseAccepted(actor="x")))
    assert fold([]) is None


def test_backdated_transition_takes_its_effective_time() -> None:
    state = fold([filed()])
    assert state is not None
    now = state.last_event_at + dt.timedelta(days=30)
    past = state.last_event_at + dt.timedelta(days=3)
    assert effective_time(state, command("accept", occurred_at=past), now) == past
    assert effective_time(state, command("accept"), now) == now


def test_effective_time_may_not_be_future_or_before_previous_event() -> None:
    state = fold([filed()])
    assert state is not None
    now = state.last_event_at + dt.timedelta(days=30)
    with pytest.raises(InvalidField):
        effective_time(state, command("accept", occurred_at=now + dt.timedelta(hours=1)), now)
    with pytest.raises(InvalidField):
        effective_time(
            state, command("accept", occurred_at=state.last_event_at - dt.timedelta(seconds=1)), now
        )


def test_the_actions_allowed_from_each_status_are_exactly_the_transitions_from_it() -> None:
    from services.status.domain import Action, CaseStatus
    from services.status.domain.cases import TRANSITIONS, allowed_actions

    assert allowed_actions(CaseStatus.filed) == [Action.accept, Action.reject, Action.close]
    assert allowed_actions(CaseStatus.closed) == [Action.reopen]
    assert allowed_actions(CaseStatus.forwarded) == [Action.start, Action.close]
    for status in CaseStatus:
        for action in allowed_actions(status):
            assert status in TRANSITIONS[action][0]
