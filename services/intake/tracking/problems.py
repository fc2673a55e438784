"""Public tracking's errors as problem+json (one place)."""

from __future__ import annotations

from services.intake.tracking.ratelimit import Refusal
from shared.http import Problem, problem_type


def not_tracked() -> Problem:
    """One 404 for an unknown number, a wrong proof and a case that cannot be tracked:
    the same body, so the answer tells nothing about which it was."""
    return Problem(
        404,
        "Not found",
        "no case with this tracking number and proof",
        type_=problem_type("not-found"),
    )


def too_many(refusal: Refusal) -> Problem:
    return Problem(
        429,
        "Too many attempts",
        f"too many tracking attempts; try again in {refusal.retry_after} seconds",
        type_=problem_type("rate-limited"),
        headers={"Retry-After": str(refusal.retry_after)},
        retry_after=refusal.retry_after,
    )


def bad_proof(field: str, message: str) -> Problem:
    """422 naming the query parameter (its shape is public: nothing is revealed)."""
    return Problem(
        422,
        "Invalid request",
        f"{field}: {message}",
        type_=problem_type("validation"),
        errors=[{"field": field, "message": message}],
    )
