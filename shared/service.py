"""The frame every service shares: an app whose Runtime lives in the lifespan, and serving it.

A service supplies its Runtime, routers and, if it needs them, hooks that run after the
runtime started and before it stops (e.g. intake's write batcher).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from shared import http, logs, metrics, openapi
from shared.auth import deps as auth_deps
from shared.auth.credentials import Authenticator
from shared.auth.tokens import AuthNotConfigured
from shared.config import Settings, get_settings
from shared.runtime import Runtime
from shared.signed_records import SigningNotConfigured

Hook = Callable[[FastAPI], Awaitable[None]]


def build_app(
    name: str,
    runtime: Runtime,
    routers: Iterable[APIRouter],
    *,
    on_start: Hook | None = None,
    on_stop: Hook | None = None,
    keyed: Iterable[str] = (),
) -> FastAPI:
    """A FastAPI app for service ``name``: problem+json, correlation ids, /healthz, routers.

    A request that meets a lost database connection is run again when that is safe: an
    idempotent method, or a POST with an ``Idempotency-Key`` to one of the ``keyed`` paths
    (whose handler answers a repeated key with the first outcome); else it gets 503 with
    ``Retry-After`` (``shared.http.TransientFaults``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            auth_deps.startup_check(app)  # no key material: refuse to start, never run open
            await runtime.start()
            if on_start is not None:
                await on_start(app)
            yield
        finally:
            if on_stop is not None:
                await on_stop(app)
            await runtime.stop()

    app = FastAPI(title=f"damrong {name}", version="1", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.settings = runtime.settings
    http.install(app, keyed=frozenset(keyed))
    metrics.install(app, name, runtime, lambda: list(leaf_routes(app.routes)))
    auth_deps.install(app, runtime.settings)
    runtime.readiness.route(app)
    for router in routers:
        app.include_router(router)
    # A route may allow a larger body than the service's default (``max_body_size=``).
    limits = {
        route.path: route.max_body_size
        for route in leaf_routes(app.routes)
        if getattr(route, "max_body_size", None) is not None
    }
    app.add_middleware(http.BodyLimit, default=runtime.settings.max_body_bytes, limits=limits)
    openapi.declare_answers(app, leaf_routes(app.routes))
    return app


def leaf_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route, also those of included routers (kept apart since FastAPI 0.16x).
    Routers are included without a prefix here, so a route's path is its full path."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from leaf_routes(included.routes)
        else:
            yield route


def serve(
    name: str, create_app: Callable[[Settings], FastAPI], port: Callable[[Settings], int]
) -> None:
    """Run a service with uvicorn (uvloop, httptools) on its configured host and port."""
    import uvicorn

    settings = get_settings()
    logs.configure(name, settings.log_level)
    try:
        Authenticator.from_settings(settings)
    except AuthNotConfigured as exc:
        sys.exit(f"damrong {name} cannot start: {exc}")
    app = create_app(settings)
    try:
        app.state.runtime.check_keys()  # event signing keys: the lifespan checks again
    except SigningNotConfigured as exc:
        sys.exit(f"damrong {name} cannot start: {exc}")
    uvicorn.run(
        app,
        host=settings.host,
        port=port(settings),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )
