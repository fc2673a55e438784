"""The frame every service shares: an app whose Runtime lives in the lifespan, and serving it.

A service supplies its Runtime, routers and, if it needs them, hooks that run after the
runtime started and before it stops (e.g. intake's write batcher).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from shared import http, logs
from shared.config import Settings, get_settings
from shared.runtime import Runtime

Hook = Callable[[FastAPI], Awaitable[None]]


def build_app(
    name: str,
    runtime: Runtime,
    routers: Iterable[APIRouter],
    *,
    on_start: Hook | None = None,
    on_stop: Hook | None = None,
) -> FastAPI:
    """A FastAPI app for service ``name``: problem+json, correlation ids, /healthz, routers."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
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
    http.install(app)
    runtime.readiness.route(app)
    for router in routers:
        app.include_router(router)
    return app


def serve(name: str, create_app: Callable[[Settings], FastAPI],
          port: Callable[[Settings], int]) -> None:
    """Run a service with uvicorn (uvloop, httptools) on its configured host and port."""
    import uvicorn

    settings = get_settings()
    logs.configure(name, settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.host, port=port(settings), loop="uvloop",
        http="httptools", log_level="warning", access_log=False,
    )
