"""Feedback errors as HTTP answers (RFC 9457): one place, one ``type`` per kind, so that the
feedback page can tell the complainant exactly what happened to their link."""

from __future__ import annotations

from services.status import usecases
from services.status.domain.feedback import (
    AlreadyAnswered,
    InvalidScore,
    LinkSuperseded,
    NothingToRecord,
)
from services.status.problems import problem_for as case_problem
from shared.feedback_links import ExpiredLink, InvalidLink
from shared.http import Problem, problem_type

FEEDBACK_ERRORS = (
    InvalidLink,
    LinkSuperseded,
    AlreadyAnswered,
    NothingToRecord,
    InvalidScore,
    usecases.CaseNotFound,
    usecases.VersionConflict,
)


def not_configured() -> Problem:
    return Problem(
        503,
        "Feedback not available",
        "feedback links are not configured on this service (FEEDBACK_LINK_SECRET)",
        type_=problem_type("feedback-not-configured"),
    )


def problem_for(exc: Exception) -> Problem:
    """The problem answering ``exc``; re-raises ``exc`` if it is not one of ours."""
    if isinstance(exc, ExpiredLink):
        return Problem(
            401,
            "Feedback link expired",
            "this feedback link has expired",
            type_=problem_type("feedback-link-expired"),
            field="token",
        )
    if isinstance(exc, InvalidLink):
        # Deliberately vague: which check failed helps only someone forging links.
        return Problem(
            400,
            "Invalid feedback link",
            "this is not a valid feedback link",
            type_=problem_type("feedback-link-invalid"),
            field="token",
            errors=[{"field": "token", "message": "not a valid feedback link"}],
        )
    if isinstance(exc, LinkSuperseded):
        return Problem(
            410,
            "Feedback link no longer valid",
            str(exc),
            type_=problem_type("feedback-link-superseded"),
            field="token",
        )
    if isinstance(exc, AlreadyAnswered):
        return Problem(
            409,
            "Feedback already given",
            str(exc),
            type_=problem_type("feedback-already-given"),
            field=exc.field,
            errors=[{"field": exc.field, "message": str(exc)}],
        )
    if isinstance(exc, NothingToRecord | InvalidScore):
        field = "score" if isinstance(exc, InvalidScore) else "body"
        return Problem(
            422,
            "Invalid request",
            str(exc),
            type_=problem_type("validation"),
            errors=[{"field": field, "message": str(exc)}],
        )
    if isinstance(exc, usecases.CaseNotFound):
        # A genuine link to a case this service does not hold: the link is of no use, and
        # what it names is not here (404, as for any unknown resource).
        return Problem(
            404,
            "Feedback link no longer valid",
            "the case this link answers is not known here",
            type_=problem_type("feedback-link-superseded"),
            field="token",
        )
    return case_problem(exc)
