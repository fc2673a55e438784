"""The one place where errors of the status service become HTTP answers (RFC 9457).

Used by the single-case routes (raised as problem+json) and by the bulk route (one problem
per failed item), so that a failure reads the same either way.
"""

from __future__ import annotations

from services.status import usecases
from services.status.domain import DomainError, IllegalTransition, InvalidField, MissingField
from shared.http import Problem, problem_type

# The errors a transition may end in; anything else is a defect and propagates.
TRANSITION_ERRORS = (
    DomainError,
    usecases.CaseNotFound,
    usecases.VersionConflict,
    usecases.DuplicateItem,
    usecases.OutOfJurisdiction,
)


def problem_for(exc: Exception) -> Problem:
    """The problem answering ``exc``; re-raises ``exc`` if it is not one of ours."""
    if isinstance(exc, usecases.CaseNotFound):
        return Problem(
            404,
            "Case not found",
            str(exc),
            type_=problem_type("case-not-found"),
            complaint_id=str(exc.complaint_id),
        )
    if isinstance(exc, usecases.OutOfJurisdiction):
        return Problem(
            403,
            "Forbidden",
            str(exc),
            type_=problem_type("forbidden"),
            complaint_id=str(exc.complaint_id),
        )
    if isinstance(exc, usecases.VersionConflict):
        return Problem(
            409,
            "Version conflict",
            str(exc),
            type_=problem_type("version-conflict"),
            complaint_id=str(exc.complaint_id),
            current_status=exc.status.value if exc.status else None,
            current_version=exc.version,
            expected_version=exc.expected,
        )
    if isinstance(exc, usecases.DuplicateItem):
        return Problem(
            409,
            "Duplicate item",
            str(exc),
            type_=problem_type("duplicate-item"),
            complaint_id=str(exc.complaint_id),
            first_index=exc.first_index,
        )
    if isinstance(exc, IllegalTransition):
        return Problem(
            409,
            "Illegal transition",
            str(exc),
            type_=problem_type("illegal-transition"),
            action=exc.action.value,
            current_status=exc.status.value,
        )
    if isinstance(exc, MissingField):
        return Problem(
            422,
            "Missing field",
            str(exc),
            type_=problem_type("missing-field"),
            field=exc.field,
            errors=[{"field": exc.field, "message": "required"}],
        )
    if isinstance(exc, InvalidField):
        return Problem(
            422,
            "Invalid field",
            str(exc),
            type_=problem_type("invalid-field"),
            field=exc.field,
            errors=[{"field": exc.field, "message": exc.message}],
        )
    raise exc
