"""Backfilled outcomes become the state machine's own events, dated the original date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.status.domain import CaseStatus, InvalidField, MissingField, fold
from services.status.domain.outcomes import outcome_event_id, outcome_events
from shared.codes import ClosureReason
from shared.events import BackfilledOutcome, CaseClosed, CaseRejected, ComplaintFiled, Envelope
from shared.thai_calendar import BANGKOK
from tests.unit.status.factories import T0, filed

NOW = dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC)
SRC = "/damrong/status"
AT = T0 + dt.timedelta(days=20)  # 2025-11-23 02:30 UTC


def backfilled(**outcome: Any) -> Envelope:
    env = filed()
    assert isinstance(env.data, ComplaintFiled)
    data = env.data.model_copy(
        update={
            "backfilled": True,
            "outcome": BackfilledOutcome(**{"at": AT, **outcome}) if outcome else None,
        }
    )
    return env.model_copy(update={"data": data, "correlation_id": "imp-1"})


def kinds(pairs: list[tuple[Envelope, Any]]) -> list[str]:
    return [env.kind for env, _ in pairs]


@pytest.mark.parametrize(
    ("outcome", "expected_kinds", "status"),
    [
        ({"status": "accepted"}, ["case.accepted"], CaseStatus.accepted),
        ({"status": "in_progress"}, ["case.accepted", "case.started"], CaseStatus.in_progress),
        (
            {"status": "forwarded", "agency": "Land Office", "due_date": dt.date(2025, 12, 31)},
            ["case.accepted", "case.started", "case.forwarded"],
            CaseStatus.forwarded,
        ),
        ({"status": "closed", "closure_reason": "mediated"}, ["case.closed"], CaseStatus.closed),
        ({"status": "rejected"}, ["case.rejected"], CaseStatus.rejected),
    ],
)
def test_each_outcome_becomes_its_path(
    outcome: dict[str, Any], expected_kinds: list[str], status: CaseStatus
) -> None:
    env = backfilled(**outcome)
    pairs = outcome_events(env, NOW, source=SRC)
    assert kinds(pairs) == expected_kinds
    assert [e.version for e, _ in pairs] == list(range(2, 2 + len(expected_kinds)))
    for e, _ in pairs:
        assert (e.occurred_at, e.recorded_at, e.source) == (AT, NOW, SRC)
        assert e.complaint_id == env.complaint_id and e.correlation_id == "imp-1"
        assert not isinstance(e.data, ComplaintFiled) and e.data.actor == "backfill"
    final = pairs[-1][1]
    assert final.status is status and final.version == len(expected_kinds) + 1
    assert final == fold([env, *(e for e, _ in pairs)])


def test_closed_and_forwarded_carry_their_details() -> None:
    [(closed, state)] = outcome_events(
        backfilled(status="closed", closure_reason="withdrawn", reason="ผู้ร้องถอนเรื่อง"),
        NOW,
        source=SRC,
    )
    assert isinstance(closed.data, CaseClosed)
    assert closed.data.reason is ClosureReason.withdrawn
    assert closed.data.note == "ผู้ร้องถอนเรื่อง"
    assert (state.closed_at, state.closure_reason) == (AT, ClosureReason.withdrawn)
    *_, (_fwd, fstate) = outcome_events(
        backfilled(status="forwarded", agency="Police", due_date=dt.date(2025, 12, 1)),
        NOW,
        source=SRC,
    )
    assert (fstate.agency, fstate.due_date) == ("Police", dt.date(2025, 12, 1))
    [(rej, _)] = outcome_events(backfilled(status="rejected"), NOW, source=SRC)
    assert isinstance(rej.data, CaseRejected) and rej.data.reason == "backfilled: rejected"
    [(rej, _)] = outcome_events(backfilled(status="rejected", reason="ซ้ำ"), NOW, source=SRC)
    assert isinstance(rej.data, CaseRejected) and rej.data.reason == "ซ้ำ"


def test_no_outcome_no_events_and_ids_are_stable() -> None:
    assert outcome_events(backfilled(), NOW, source=SRC) == []
    env = backfilled(status="in_progress")
    first = outcome_events(env, NOW, source=SRC)
    again = outcome_events(env, NOW + dt.timedelta(hours=1), source=SRC)
    assert (
        [e.event_id for e, _ in first]
        == [e.event_id for e, _ in again]
        == [outcome_event_id(env.event_id, 2), outcome_event_id(env.event_id, 3)]
    )
    assert len({e.event_id for e, _ in first} | {env.event_id}) == 3


@pytest.mark.parametrize(
    ("outcome", "error", "field"),
    [
        ({"status": "closed"}, MissingField, "reason"),
        ({"status": "forwarded", "due_date": dt.date(2025, 12, 31)}, MissingField, "agency"),
        ({"status": "forwarded", "agency": "X"}, MissingField, "due_date"),
        # due before the forwarding date
        (
            {"status": "forwarded", "agency": "X", "due_date": dt.date(2025, 11, 1)},
            InvalidField,
            "due_date",
        ),
        ({"status": "accepted", "at": NOW + dt.timedelta(days=1)}, InvalidField, "occurred_at"),
        # the day before the filing
        ({"status": "accepted", "at": T0 - dt.timedelta(days=1)}, InvalidField, "occurred_at"),
    ],
)
def test_unreachable_outcomes_are_refused(
    outcome: dict[str, Any], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as exc:
        outcome_events(backfilled(**outcome), NOW, source=SRC)
    assert isinstance(exc.value, MissingField | InvalidField) and exc.value.field == field


def test_a_date_only_outcome_on_the_filing_day_is_not_before_the_filing() -> None:
    # Filed 09:30 Bangkok; the register says closed "3 Nov 2025" (midnight Bangkok).
    midnight = dt.datetime(2025, 11, 3)  # naive = Bangkok
    [(env, _)] = outcome_events(
        backfilled(status="closed", closure_reason="resolved", at=midnight), NOW, source=SRC
    )
    assert env.occurred_at == T0
    # A naive time later that day is read as Bangkok time.
    [(env, _)] = outcome_events(
        backfilled(status="accepted", at=dt.datetime(2025, 11, 3, 15, 0)), NOW, source=SRC
    )
    assert env.occurred_at == dt.datetime(2025, 11, 3, 15, 0, tzinfo=BANGKOK)


def test_a_transition_event_carries_no_outcome() -> None:
    env = backfilled(status="accepted")
    [(accepted, _)] = outcome_events(env, NOW, source=SRC)
    with pytest.raises(ValueError):
        outcome_events(accepted, NOW, source=SRC)
