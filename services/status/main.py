"""Build and run the status service (port ``settings.status_port``).

``create_app`` only wires things: the Runtime (pool, migrations, relay, ComplaintFiled
consumer) is built in the lifespan, so importing this module creates nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from services.status import consumer
from services.status.api import router
from shared import http, logs
from shared.config import Settings, get_settings
from shared.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations"
CONSUMER_GROUP = "damrong-status"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The status service as an ASGI app; ``settings`` defaults to the environment's."""
    runtime_settings = settings or get_settings()
    runtime = Runtime(
        runtime_settings, "status", MIGRATIONS,
        consumer_group=CONSUMER_GROUP, handler=consumer.handle,
        batch_handler=consumer.handle_batch, relay=True,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="damrong status", version="1", lifespan=lifespan)
    app.state.runtime = runtime
    http.install(app)
    runtime.readiness.route(app)
    app.include_router(router)
    return app


def main() -> None:
    settings = get_settings()
    logs.configure("status", settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.status_port, loop="uvloop",
        http="httptools", log_level="warning", access_log=False,
    )


if __name__ == "__main__":
    main()
