"""The console's feedback form rules (services/console/feedback/form.py): what is sent to
status, and hostile input refused with a message, never an exception."""

from __future__ import annotations

import pytest

from services.console.feedback.form import FeedbackForm, parse_form, plausible_token


def test_a_score_and_the_checkbox() -> None:
    form = parse_form({"score": "4", "not_solved": "yes"}, rated=False, disputed=False)
    assert form == FeedbackForm(score=4, not_solved=True)
    assert form.body("t.o.k") == {"token": "t.o.k", "score": 4, "not_solved": True}
    assert parse_form({"score": "๒"}, rated=False, disputed=False).score == 2
    assert parse_form({"not_solved": "on"}, rated=False, disputed=False).body("x") == {
        "token": "x",
        "not_solved": True,
    }


def test_parts_already_given_are_ignored() -> None:
    form = parse_form({"score": "5", "not_solved": "yes"}, rated=True, disputed=False)
    assert (form.score, form.not_solved, form.errors) == (None, True, {})
    form = parse_form({"score": "5", "not_solved": "yes"}, rated=True, disputed=True)
    assert form.errors == {"score": "feedback.error.nothing"}


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"score": ""},
        {"not_solved": "no"},
        {"score": "0"},
        {"score": "6"},
        {"score": "45"},
        {"score": "4.5"},
        {"score": "๔" * 100_000},
        {"score": "\x00"},
        {"score": ["4"]},
        {"score": 4},
        {"score": "ห้า"},
    ],
)
def test_hostile_or_empty_answers_name_the_score(data: dict[str, object]) -> None:
    form = parse_form(data, rated=False, disputed=False)
    assert set(form.errors) == {"score"} and form.score is None


@pytest.mark.parametrize(
    ("token", "ok"),
    [
        ("aaa.bbb.ccc", True),
        ("eyJh-_.eyJ0.c2ln", True),
        ("", False),
        ("a.b", False),
        ("a..c", False),
        ("a.b.c.d", False),
        ("../../v1/complaints.x.y", False),
        ("a.b.c?x=1", False),
        ("a.b.c%2F", False),
        ("ก.ข.ค", False),
        ("a.b." + "c" * 2000, False),
    ],
)
def test_only_token_shaped_text_reaches_status(token: str, ok: bool) -> None:
    assert plausible_token(token) is ok
