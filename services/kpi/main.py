"""Build and run the kpi service (port ``settings.kpi_port``).

``create_app`` only wires things: the Runtime (pool, migrations, consumer of every case
event; no outbox relay, kpi publishes nothing) starts in the lifespan, so importing or
building the app opens no connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from services.kpi import api
from services.kpi.consumer import handle
from shared import http, logs
from shared.config import Settings, get_settings
from shared.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations"
CONSUMER_GROUP = "damrong-kpi"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The kpi service as an ASGI app; ``settings`` defaults to the environment's."""
    runtime = Runtime(settings or get_settings(), "kpi", MIGRATIONS,
                      consumer_group=CONSUMER_GROUP, handler=handle, relay=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await runtime.start()
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="damrong kpi", version="1", lifespan=lifespan)
    app.state.runtime = runtime
    http.install(app)
    runtime.readiness.route(app)
    app.include_router(api.router)
    return app


def main() -> None:
    settings = get_settings()
    logs.configure("kpi", settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.kpi_port, loop="uvloop",
        http="httptools", log_level="warning", access_log=False,
    )


if __name__ == "__main__":
    main()
