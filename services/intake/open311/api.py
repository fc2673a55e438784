"""Open311 GeoReport v2 on intake, under ``/open311/v2/``, every resource in ``.xml`` and
``.json``: discovery, services, service definitions, ``POST requests`` (form-encoded, with
a channel's ``api_key``), ``GET requests``, one request, tokens.

Routers parse, call one use case and answer.  Every refusal on these paths is the
specification's error document with 400, 403 or 404 (never problem+json): the routes
catch ``Open311Error`` themselves, read the body themselves (under intake's
``max_body_bytes``) and answer unknown paths and methods under the prefix.  They are left
out of intake's OpenAPI document: the GeoReport v2 specification documents them, and
``discovery`` is the entry point clients use.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from starlette.routing import Match

from services.intake.deps import store_of
from services.intake.open311 import problems, usecases
from services.intake.open311.config import get_open311_settings
from services.intake.open311.domain import answers, location
from services.intake.open311.domain.catalogue import service
from services.intake.open311.domain.documents import Document, render
from services.intake.open311.domain.errors import Open311Error
from services.intake.open311.domain.filters import parse_filter
from services.intake.open311.domain.form import read_form
from shared.auth.credentials import Authenticator, Unauthenticated
from shared.auth.policy import Operation, permits
from shared.auth.principal import Principal

PREFIX = "/open311/v2"
FORMATS = ("xml", "json")
# Lets the shared 413 (problem+json) through, so that the routes can refuse an oversize
# body in the specification's format; they apply intake's own max_body_bytes.
_UNCAPPED = 1 << 40

log = structlog.get_logger()
router = APIRouter(include_in_schema=False)
Handler = Callable[..., Awaitable[Response]]


def _answer(doc: Document, fmt: str, status: int = 200) -> Response:
    body, media_type = render(doc, fmt)
    return Response(body, status_code=status, media_type=media_type)


def _format_of(path: str) -> str:
    return "json" if path.endswith(".json") else "xml"  # XML is the required format


def open311(handler: Handler) -> Handler:
    """Answer ``Open311Error`` as the specification's error document, in the request's
    format, and an unknown format as 404."""

    @functools.wraps(handler)
    async def wrapped(request: Request, fmt: str, **params: Any) -> Response:
        try:
            if fmt not in FORMATS:
                raise problems.not_found(f"format {fmt[:16]!r} is not offered: use .xml or .json")
            return await handler(request, fmt, **params)
        except Open311Error as exc:
            # The route and codes only: a path or a description may echo what was sent.
            route = request.scope.get("route")
            log.info(
                "open311.refused",
                route=getattr(route, "path", PREFIX),
                status=exc.status,
                codes=[e.code for e in exc.errors],
            )
            return problems.error_response(exc, fmt if fmt in FORMATS else "xml")

    return wrapped


@router.get(PREFIX + "/discovery.{fmt}")
@open311
async def discovery(request: Request, fmt: str) -> Response:
    s = get_open311_settings()
    return _answer(answers.discovery(s.public_url, s.contact, s.key_service, s.endpoint_type), fmt)


@router.get(PREFIX + "/services.{fmt}")
@open311
async def services(request: Request, fmt: str) -> Response:
    return _answer(answers.services(), fmt)


@router.get(PREFIX + "/services/{code}.{fmt}")
@open311
async def service_definition(request: Request, fmt: str, code: str) -> Response:
    found = service(code)
    if found is None:
        raise problems.not_found(f"service_code {code[:64]!r} was not found (see services.{fmt})")
    return _answer(answers.definition(found), fmt)


async def _body(request: Request) -> bytes:
    """The body, refused past intake's ``max_body_bytes`` (declared or as it streams)."""
    limit: int = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise problems.too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise problems.too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _principal(request: Request, form: dict[str, list[str]]) -> Principal:
    """The channel that files: the ``api_key`` parameter (or ``X-API-Key``) of a channel."""
    keys = {k for k in (*form.get("api_key", []), request.headers.get("x-api-key", "")) if k}
    if not keys:
        raise problems.missing_key()
    if len(keys) > 1:  # two different keys: no one channel to file for
        raise problems.wrong_key()
    auth: Authenticator = request.app.state.auth
    try:
        principal = auth.authenticate(None, keys.pop())
    except Unauthenticated:
        raise problems.wrong_key() from None
    if principal.channel is None or not permits(principal, Operation.file):
        raise problems.wrong_key()
    return principal


@open311
async def post_request(request: Request, fmt: str) -> Response:
    form = read_form(await _body(request), request.headers.get("content-type"))
    principal = _principal(request, form)
    assert principal.channel is not None
    filed = await usecases.file_request(
        store_of(request),
        request.app.state.settings,
        request.app.state.pii_keys,
        form,
        channel=principal.channel.value,
        filed_by=principal.subject,
        now=dt.datetime.now(dt.UTC),
        idempotency_key=request.headers.get("idempotency-key"),
    )
    return _answer(answers.receipt(filed.tracking_no), fmt, 200 if filed.replayed else 201)


# One literal path per format: the shared body limit is looked up by the request's path.
@router.post(PREFIX + "/requests.json")
async def post_request_json(request: Request) -> Response:
    return await post_request(request, fmt="json")


@router.post(PREFIX + "/requests.xml")
async def post_request_xml(request: Request) -> Response:
    return await post_request(request, fmt="xml")


def _pool(request: Request) -> Any:
    return request.app.state.runtime.pool


@router.get(PREFIX + "/requests.{fmt}")
@open311
async def get_requests(request: Request, fmt: str) -> Response:
    f = parse_filter(request.query_params.multi_items(), dt.datetime.now(dt.UTC))
    return _answer(answers.requests(await usecases.find_requests(_pool(request), f)), fmt)


@router.get(PREFIX + "/requests/{request_id}.{fmt}")
@open311
async def get_request(request: Request, fmt: str, request_id: str) -> Response:
    found = await usecases.requests_by_number(_pool(request), [request_id])
    if not found:
        raise problems.not_found(f"service_request_id {request_id[:64]!r} was not found")
    return _answer(answers.requests(found), fmt)


@router.get(PREFIX + "/tokens/{token}.{fmt}")
@open311
async def get_token(request: Request, fmt: str, token: str) -> Response:
    # Requests are filed at once (type realtime): a token is the request id itself.
    found = await usecases.requests_by_number(_pool(request), [token])
    if not found:
        raise problems.not_found(f"token {token[:64]!r} was not found")
    return _answer(answers.token(found[0].tracking_no), fmt)


async def start(app: FastAPI, runtime: Any) -> None:
    """Build the place-name indexes off the event loop before the first request needs them."""
    await asyncio.to_thread(location.warm)


_ROUTES = list(router.routes)
for _route in _ROUTES:
    if "POST" in getattr(_route, "methods", ()):
        _route.max_body_size = _UNCAPPED  # type: ignore[attr-defined]


@router.api_route(
    PREFIX + "/{rest:path}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
)
async def elsewhere(request: Request, rest: str) -> Response:
    """Any other path or method under the prefix: 404, or 400 for a method the resource
    does not take (the specification's 400 for any request it cannot fulfil)."""
    fmt = _format_of(request.url.path)
    allowed = sorted(
        {
            m
            for r in _ROUTES
            if r.matches(request.scope)[0] is Match.PARTIAL
            for m in getattr(r, "methods", ())
        }
    )
    if allowed:
        method = request.method
        exc = Open311Error.one(400, f"{method} is not allowed here: use {', '.join(allowed)}", 405)
        return problems.error_response(exc, fmt, headers={"Allow": ", ".join(allowed)})
    missing = problems.not_found(f"{request.url.path[:120]} is not a GeoReport v2 resource")
    return problems.error_response(missing, fmt)
