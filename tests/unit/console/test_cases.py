"""The case page's pure rules: the transition a form asks for and the 'as of' moment."""

from __future__ import annotations

import datetime as dt

import pytest

from services.console.domain.cases import as_of_moment, read_transition, transition_body
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
