"""The one place where intake's errors become HTTP answers (RFC 9457 problem+json)."""

from __future__ import annotations

import uuid

from services.intake.domain.validation import FieldError
from shared.http import Problem, problem_type


def invalid(errors: list[FieldError]) -> Problem:
    """422 naming every bad field at once."""
    return Problem(
        422,
        "Invalid request",
        "; ".join(f"{e.field}: {e.message}" for e in errors),
        type_=problem_type("validation"),
        errors=[{"field": e.field, "message": e.message} for e in errors],
    )


def idempotency_conflict() -> Problem:
    return Problem(
        409,
        "Idempotency conflict",
        "this Idempotency-Key or channel_ref was already used for a different request",
        type_=problem_type("idempotency-conflict"),
    )


def not_found(what: str) -> Problem:
    return Problem(404, "Not found", what, type_=problem_type("not-found"))


def complaint_not_found(complaint_id: uuid.UUID) -> Problem:
    return Problem(
        404, "Complaint not found", f"no complaint {complaint_id}", type_=problem_type("not-found")
    )


def unreadable_import(reason: str) -> Problem:
    return Problem(422, "Unreadable import file", reason, type_=problem_type("import-unreadable"))
