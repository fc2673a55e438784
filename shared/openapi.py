"""The answers every operation documents, declared once for every service.

A route declares what is its own (a filing's 201 and 200, a transition's 409, an erased
complainant's 410); ``declare_answers`` adds what follows from the frame every service
shares: 401 with its ``WWW-Authenticate`` and 403 (``shared.auth.deps``: every route
authenticates), 404 for a path that names a resource, 400 and 413 for a route that takes a
body (unparsable, or over the ``shared.http.BodyLimit``), 422 for a route with parameters
or a body, 503 with ``Retry-After`` (``shared.http.TransientFaults``); every refusal as
``application/problem+json`` with the one ``Problem`` schema; and ``text/csv`` beside JSON
for a route whose ``format`` parameter offers ``csv``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from shared.http import PROBLEM

PROBLEM_CONTENT = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}
CHALLENGE = {
    "WWW-Authenticate": {
        "required": True,
        "schema": {"type": "string"},
        "description": 'Bearer realm="damrong", and why',
    }
}
RETRY = {
    "Retry-After": {
        "required": True,
        "schema": {"type": "string"},
        "description": "seconds to wait (shared.http.TransientFaults)",
    }
}

# RFC 9457 members, and ``errors`` naming every bad field of a 422.  Further members
# (e.g. a conflict's ``current_version``) are extensions the RFC allows.
COMPONENTS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "RFC 9457 problem details",
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "description": "a URI naming the kind of problem"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string", "description": "the request's path"},
            "errors": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/FieldProblem"},
                "description": "every bad field of an invalid request (422)",
            },
        },
    },
    "FieldProblem": {
        "title": "FieldProblem",
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
}

UNREADABLE = "the body cannot be parsed as its media type"
UNAUTHORIZED = "no valid credential (bearer token or API key)"
FORBIDDEN = "the caller's role or jurisdiction does not allow this"
NOT_FOUND = "no such resource, or one outside the caller's jurisdiction"
TOO_LARGE = "the request body is larger than this endpoint's limit"
INVALID = "invalid parameters or body: every bad field in `errors`"
UNAVAILABLE = "a transient database fault that could not be retried safely; try again"


def _answers(route: APIRoute) -> dict[int, str]:
    """The refusals the shared frame may give on ``route``."""
    answers = {401: UNAUTHORIZED, 403: FORBIDDEN, 503: UNAVAILABLE}
    if route.param_convertors:
        answers[404] = NOT_FOUND
    if route.body_field is not None:
        answers[400] = UNREADABLE
        answers[413] = TOO_LARGE
    if route.body_field is not None or get_flat_params(route.dependant):
        answers[422] = INVALID
    return answers


def _answers_csv(route: APIRoute) -> bool:
    """Whether ``route`` takes a query parameter ``format`` with the choice ``csv``."""
    for param in get_flat_params(route.dependant):
        annotation = param.field_info.annotation
        if param.alias == "format" and annotation is not None:
            return "csv" in TypeAdapter(annotation).json_schema().get("enum", ())
    return False


def _declared(responses: dict[int | str, Any], code: int) -> dict[str, Any] | None:
    return responses.get(code) or responses.get(str(code))


def _declare(route: APIRoute) -> None:
    responses: dict[int | str, Any] = dict(route.responses)
    for code, description in _answers(route).items():
        if _declared(responses, code) is None:
            responses[code] = {"description": description}
    for code, headers in ((401, CHALLENGE), (503, RETRY)):
        key = code if code in responses else str(code)
        responses[key] = {"headers": headers, **responses[key]}
    # A refusal the route declares itself (a 409, a 410) gets the problem schema too.
    for key, entry in list(responses.items()):
        if str(key)[0] in "45" and "content" not in entry and "model" not in entry:
            responses[key] = {**entry, "content": PROBLEM_CONTENT}
    if _answers_csv(route):
        success = route.status_code or 200
        entry = _declared(responses, success) or {}
        responses[success] = {**entry, "content": {**entry.get("content", {}), **CSV_CONTENT}}
    route.responses = responses


def declare_answers(app: FastAPI, routes: Iterable[Any]) -> None:
    """Declare the shared answers on every documented route of ``routes`` and put the
    ``Problem`` schema among the app's OpenAPI components."""
    for route in routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            _declare(route)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        doc = build()  # FastAPI's, cached after the first call
        doc.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
        return doc

    # FastAPI's documented way to change the schema: replace the app's method.
    app.openapi = openapi  # type: ignore[method-assign]
