"""The one place where Open311's errors become HTTP answers: the specification's error
documents (``<errors><error>`` / an array of ``{code, description}``), never problem+json."""

from __future__ import annotations

from fastapi import Response

from services.intake.open311.domain.answers import errors
from services.intake.open311.domain.documents import render
from services.intake.open311.domain.errors import ErrorItem, Open311Error


def error_response(exc: Open311Error, fmt: str, headers: dict[str, str] | None = None) -> Response:
    body, media_type = render(errors(exc.errors), fmt)
    return Response(body, status_code=exc.status, media_type=media_type, headers=headers)


def not_found(what: str) -> Open311Error:
    return Open311Error.one(404, what)


def missing_key() -> Open311Error:
    return Open311Error.one(403, "api_key is required to create a request")


def wrong_key() -> Open311Error:
    return Open311Error.one(403, "Invalid api_key received - can't proceed with create_request")


def too_large(limit: int) -> Open311Error:
    # 400 as the specification asks for any request it cannot fulfil; the code says why.
    return Open311Error(400, [ErrorItem(413, f"the body is larger than {limit:,} bytes")])
