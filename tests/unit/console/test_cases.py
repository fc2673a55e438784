"""The case page's pure rules: the transition a form asks for, the 'as of' moment, the
complainant's answers to a closure in the timeline and a reopen request still pending."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from services.console.domain.cases import (
    TimelineRow,
    as_of_moment,
    pending_reopen,
    read_transition,
    timeline,
    transition_body,
)
from services.console.templating import load_catalogue
from shared.thai_calendar import BANGKOK


def test_forwarding_needs_an_agency_and_a_due_date() -> None:
    _, errors = read_transition({"action": "forward", "expected_version": "3"})
    assert errors == {"agency": "cases.error.agency", "due_date": "cases.error.due_date"}


def test_a_bad_due_date_or_reason_or_action_is_named() -> None:
    _, errors = read_transition(
        {"action": "forward", "agency": "Police", "due_date": "31/02/2569", "expected_version": "1"}
    )
    assert errors == {"due_date": "cases.error.due_date"}
    _, errors = read_transition({"action": "close", "reason": "whim"})
    assert errors == {"reason": "cases.error.reason"}
    _, errors = read_transition({"action": "explode"})
    assert errors == {"action": "cases.error.action"}


def test_transition_body_carries_the_expected_version_and_only_its_fields() -> None:
    form, errors = read_transition(
        {"action": "close", "reason": "resolved", "agency": "x", "expected_version": "7"}
    )
    assert errors == {}
    assert transition_body(form) == {"action": "close", "expected_version": 7, "reason": "resolved"}


def test_as_of_is_bangkok_wall_time() -> None:
    assert as_of_moment("") is None
    moment = as_of_moment("2026-12-04T09:30")
    assert moment == dt.datetime(2026, 12, 4, 9, 30, tzinfo=BANGKOK)
    assert moment is not None and moment.utcoffset() == dt.timedelta(hours=7)
    with pytest.raises(ValueError):
        as_of_moment("yesterday")


def _row(version: int, type_: str, **details: object) -> TimelineRow:
    at = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC) + dt.timedelta(hours=version)
    return TimelineRow(version, type_, "x", at, at, dict(details), None, None, True)


def test_a_reopen_request_on_the_latest_closure_of_a_closed_case_is_pending() -> None:
    rows = [
        _row(1, "complaint.filed"),
        _row(2, "case.closed", reason="resolved"),
        _row(3, "case.satisfaction_rated", score=2, closed_version=2),
        _row(4, "case.reopen_requested", closed_version=2),
    ]
    assert pending_reopen("closed", rows) == rows[3]
    assert pending_reopen("closed", rows[:3]) is None  # only rated
    # Reopened (and closed again): the old request is history, not work.
    later = [*rows, _row(5, "case.reopened"), _row(6, "case.closed", reason="resolved")]
    assert pending_reopen("closed", later) is None
    assert pending_reopen("reopened", later[:5]) is None
    assert pending_reopen("closed", [*later, _row(7, "case.reopen_requested", closed_version=6)])
    assert pending_reopen("closed", []) is None


def test_the_timeline_shows_the_score_and_the_closure_answered() -> None:
    cid = uuid.uuid4()

    def event(version: int, type_: str, actor: str, **data: object) -> dict[str, object]:
        at = f"2026-12-0{version}T09:00:00+00:00"
        return {
            "event_id": str(uuid.uuid4()),
            "version": version,
            "source": "damrong/status",
            "type": f"th.go.dopa.damrong.{type_}.v1",
            "occurred_at": at,
            "recorded_at": at,
            "actor": actor,
            "data": {"kind": type_, **data},
            "prev_hash": None,
            "hash": None,
        }

    rows, _ = timeline(
        cid,
        [
            event(3, "case.satisfaction_rated", "complainant", score=4, closed_version=2),
            event(2, "case.closed", "officer", reason="resolved"),
            event(4, "case.reopen_requested", "complainant", closed_version=2),
        ],
    )
    assert [(r.type, r.details) for r in rows] == [
        ("case.closed", {"reason": "resolved"}),
        ("case.satisfaction_rated", {"score": 4, "closed_version": 2}),
        ("case.reopen_requested", {"closed_version": 2}),
    ]


def test_feedback_texts_exist_in_both_languages() -> None:
    catalogue = load_catalogue()
    keys = ["cases.event.case.satisfaction_rated", "cases.event.case.reopen_requested"]
    keys += ["cases.score", "cases.actor.complainant"]
    keys += ["cases.field.score", "cases.field.closed_version"]
    keys += [f"cases.reopen_request.{k}" for k in ("title", "said", "todo", "todo_reopen")]
    for key in keys:
        assert catalogue[key]["th"] and catalogue[key]["en"], key
    assert catalogue["cases.score"]["th"].format(score=4) == "4 จาก 5"
    reopen = catalogue["cases.event.case.reopen_requested"]["th"]
    assert reopen == "ผู้ร้องแจ้งว่าปัญหายังไม่ได้รับการแก้ไข"
