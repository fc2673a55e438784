"""The intake service: builds the FastAPI app; ``python -m services.intake.main`` serves it."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.intake.api import router
from services.intake.store import IntakeStore
from shared.config import Settings, get_settings
from shared.runtime import Runtime
from shared.service import build_app, serve

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The intake app; its pool, producer, outbox relay and write batcher live in the lifespan."""
    runtime = Runtime(settings or get_settings(), "intake", MIGRATIONS, relay=True)

    async def open_store(app: FastAPI) -> None:
        assert runtime.pool is not None
        app.state.store = IntakeStore(runtime.pool)

    async def close_store(app: FastAPI) -> None:
        store = getattr(app.state, "store", None)
        if store is not None:
            await store.close()

    return build_app("intake", runtime, [router], on_start=open_store, on_stop=close_store)


def main() -> None:
    serve("intake", create_app, lambda s: s.intake_port)


if __name__ == "__main__":
    main()
