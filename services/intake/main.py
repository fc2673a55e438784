"""The intake service: builds the FastAPI app; ``python -m services.intake.main`` serves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from services.intake.api import router
from services.intake.store import IntakeStore
from shared import http, logs
from shared.config import Settings, get_settings
from shared.runtime import Runtime

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The intake app; its pool, producer and outbox relay live in the lifespan."""
    settings = settings or get_settings()
    runtime = Runtime(settings, "intake", MIGRATIONS, relay=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        assert runtime.pool is not None
        store = IntakeStore(runtime.pool)
        app.state.store = store
        try:
            yield
        finally:
            await store.close()
            await runtime.stop()

    app = FastAPI(title="damrong intake", version="1", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.settings = settings
    http.install(app)
    runtime.readiness.route(app)
    app.include_router(router)
    return app


def main() -> None:
    import uvicorn

    settings = get_settings()
    logs.configure("intake", settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.intake_port, loop="uvloop",
        http="httptools", log_level="warning", access_log=False,
    )


if __name__ == "__main__":
    main()
