"""HTTP edges shared by the services: RFC 9457 problem+json, correlation ids, health.

Domain errors map to problem responses here, in one place; routers only raise.  A
request that meets a transient fault (a lost database connection) is run again where
that is safe, and otherwise answered 503 with ``Retry-After`` (``TransientFaults``).
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.faults import Backoff, is_transient

log = structlog.get_logger()

PROBLEM = "application/problem+json"
PROBLEMS = "https://damrong.dopa.go.th/problems"


def problem_type(slug: str) -> str:
    """The ``type`` URI of one kind of problem: every service names its problems here."""
    return f"{PROBLEMS}/{slug}"


class Problem(Exception):
    """An error to answer as problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.type, self.extra = (
            status,
            title,
            detail,
            type_,
            extra,
        )
        self.headers = headers  # e.g. WWW-Authenticate on a 401


def problem_response(
    status: int,
    title: str,
    detail: str = "",
    type_: str = "about:blank",
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        out.append({"field": ".".join(loc) or "body", "message": err.get("msg", "invalid")})
    return out


def install(app: FastAPI, *, keyed: Collection[str] = ()) -> None:
    """Register the problem+json handlers, the transient-fault answer and the
    correlation-id middleware.  ``keyed``: paths whose POST answers a repeat of the same
    ``Idempotency-Key`` with the first outcome, and so may be run again."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            exc.type,
            instance=request.url.path,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        return problem_response(
            422,
            "Invalid request",
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            problem_type("validation"),
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Routing's own headers kept: a 405 names the path's methods in Allow (RFC 9110).
        return problem_response(
            exc.status_code, str(exc.detail), instance=request.url.path, headers=exc.headers
        )

    # Inside the correlation id: a retry or a 503 is logged and answered with it.
    app.add_middleware(TransientFaults, keyed=frozenset(keyed))
    app.add_middleware(CorrelationId)


class CorrelationId:
    """Bind ``correlation_id`` (from ``x-correlation-id`` or a new uuid4) for one request
    and echo it in the response.

    Pure ASGI on purpose: Starlette's ``BaseHTTPMiddleware`` costs a task group and memory
    streams per request, measured at about 390 µs of CPU, more than a whole filing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-correlation-id"), None
        )
        # A caller's id is logged and echoed: a short printable one only, never a payload.
        if not cid or len(cid) > 128 or not cid.isprintable():
            cid = str(uuid.uuid4())
        raw = cid.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-correlation-id", raw)]
            await send(message)

        structlog.contextvars.bind_contextvars(correlation_id=cid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")


# Idempotent methods (RFC 9110 section 9.2.2): running one again has the effect of once.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_AFTER_S = 1
_REPLAY_LIMIT = 1 << 20  # a larger body is not kept for a second run


class TransientFaults:
    """A request that meets a transient fault (``shared.faults``: a lost or broken
    database connection, a deadlock, ...) never gets a 500.

    If running it again is safe (an idempotent method, or a POST to a ``keyed`` path with
    an ``Idempotency-Key``) it runs again, with back-off, up to ``attempts`` times in all,
    on the body it has read so far (kept up to 1 MiB).  Otherwise, or when every attempt
    failed, the answer is 503 problem+json with ``Retry-After``: the write may or may not
    have taken effect, and nothing was acknowledged.  Once a response has started it cannot
    be taken back, and the fault propagates as any other.
    """

    def __init__(self, app: ASGIApp, keyed: Collection[str] = (), attempts: int = 4) -> None:
        self.app, self.keyed, self.attempts = app, keyed, attempts

    def _may_repeat(self, scope: Scope) -> bool:
        method = scope["method"]
        return method in IDEMPOTENT or (
            method == "POST"
            and scope["path"] in self.keyed
            and any(k == b"idempotency-key" for k, _ in scope["headers"])
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        repeat = self._may_repeat(scope)
        read: list[Message] = []  # the body messages the app took, for the next run
        kept = 0
        started = False

        async def recording() -> Message:
            nonlocal repeat, kept
            message = await receive()
            if repeat:
                kept += len(message.get("body", b""))
                read.append(message)
                repeat = kept <= _REPLAY_LIMIT
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        def replaying(replay: list[Message]) -> Receive:
            async def next_message() -> Message:
                return replay.pop(0) if replay else await recording()

            return next_message

        backoff = Backoff(first=0.05, cap=0.5)
        for attempt in range(1, self.attempts + 1):
            try:
                await self.app(dict(scope), replaying(list(read)), sending)
                return
            except Exception as exc:
                if started or not is_transient(exc):
                    raise
                error = repr(exc)
            if not repeat or attempt == self.attempts:
                break
            delay = backoff.next()
            log.warning(
                "http.retry",
                method=scope["method"],
                path=scope["path"],
                attempt=attempt,
                error=error,
                retry_in_s=delay,
            )
            await asyncio.sleep(delay)
        log.warning(
            "http.unavailable",
            method=scope["method"],
            path=scope["path"],
            attempts=attempt,
            error=error,
        )
        response = problem_response(
            503,
            "Service unavailable",
            "the service lost its database connection while answering; the request may or "
            "may not have taken effect: read before repeating a write that is not idempotent",
            problem_type("unavailable"),
            instance=scope["path"],
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
        await response(scope, receive, send)


class BodyLimit:
    """Answer 413 problem+json to a request body larger than its route allows.

    ``limits`` maps a path to its own limit (e.g. register uploads); every other path has
    ``default``.  A declared Content-Length is refused before the app runs; a streamed
    body is counted as it is read.  Ours rather than FastAPI's own limiter, whose 413 is
    plain text.
    """

    def __init__(self, app: ASGIApp, default: int, limits: dict[str, int]) -> None:
        self.app, self.default, self.limits = app, default, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = _too_large(limit, scope["path"])
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise Problem(
                        413,
                        "Content too large",
                        _too_large_detail(limit),
                        type_=problem_type("too-large"),
                    )
            return message

        await self.app(scope, counted, send)


def _too_large_detail(limit: int) -> str:
    return f"the request body is larger than this endpoint's limit of {limit:,} bytes"


def _too_large(limit: int, path: str) -> JSONResponse:
    return problem_response(
        413, "Content too large", _too_large_detail(limit), problem_type("too-large"), instance=path
    )


Check = Callable[[], bool | Awaitable[bool]]


class Readiness:
    """Named readiness checks; ``/healthz`` answers 200 only when all are true.

    A check may be a coroutine function (a database round trip).  ``details``, if set,
    adds what it returns to either answer as ``tasks`` (the background tasks' states)."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self.reason = "starting"
        self.details: Callable[[], dict[str, Any]] | None = None

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def failing(self) -> list[str]:
        if not self._checks:
            return [self.reason]
        bad = []
        for name, check in list(self._checks.items()):
            ok = check()
            if inspect.isawaitable(ok):
                ok = await ok
            if not ok:
                bad.append(name)
        return bad

    def route(self, app: FastAPI) -> None:
        @app.get("/healthz", include_in_schema=False)
        async def healthz() -> JSONResponse:
            bad = await self.failing()
            extra: dict[str, Any] = {} if self.details is None else {"tasks": self.details()}
            if bad:
                return problem_response(503, "Not ready", "waiting for: " + ", ".join(bad), **extra)
            return JSONResponse({"status": "ok", **extra})
