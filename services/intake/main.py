"""The intake service: builds the FastAPI app; ``python -m services.intake.main`` serves it."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import structlog
from fastapi import FastAPI

from services.intake.api import router
from services.intake.backfill.api import router as import_router
from services.intake.backfill.staged import worker as import_worker
from services.intake.backfill.staged.domain import STALE_AFTER
from services.intake.channels import EXTENSIONS
from services.intake.domain.filing import SOURCE
from services.intake.pii.api import router as pii_router
from services.intake.pii.domain.keys import PiiKeys, PiiNotConfigured
from services.intake.pii.store import seal_plaintext_rows
from services.intake.store import IntakeStore
from services.intake.telemetry import IntakeFigures
from services.intake.tracking import consumer as tracking_consumer
from shared.config import Settings, get_settings
from shared.runtime import Runtime
from shared.service import build_app, serve

MIGRATIONS = Path(__file__).parent / "migrations"
log = structlog.get_logger()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The intake app; its pool, producer, outbox relay and write batcher live in the lifespan."""
    settings = settings or get_settings()
    # Intake folds the case events into its public view of each case (tracking, Open311).
    runtime = Runtime(
        settings,
        "intake",
        MIGRATIONS,
        consumer_group=settings.consumer_group("intake"),
        handler=tracking_consumer.handle,
        batch_handler=tracking_consumer.handle_batch,
        relay=True,
        source=SOURCE,
    )

    async def open_store(app: FastAPI) -> None:
        assert runtime.pool is not None
        # No keys: refuse to start rather than keep personal data unprotected.
        app.state.pii_keys = keys = PiiKeys.from_settings(runtime.settings)
        sealed = await seal_plaintext_rows(runtime.pool, keys, dt.datetime.now(dt.UTC))
        if sealed:
            log.info("pii.sealed_plaintext_rows", rows=sealed)
        app.state.store = IntakeStore(runtime.pool)
        # Import jobs a killed replica left running are taken over now, and by any replica
        # every half minute after.
        await import_worker.start(app)
        for extension in EXTENSIONS:
            start = getattr(extension, "start", None)
            if start is not None:
                await start(app, runtime)

    async def close_store(app: FastAPI) -> None:
        await import_worker.stop(app)
        for extension in reversed(EXTENSIONS):
            stop = getattr(extension, "stop", None)
            if stop is not None:
                await stop(app)
        store = getattr(app.state, "store", None)
        if store is not None:
            await store.close()

    # A filing with an Idempotency-Key answers a repeat with the first outcome: safe to
    # run again after a lost database connection.
    app = build_app(
        "intake",
        runtime,
        [router, import_router, pii_router, *(e.router for e in EXTENSIONS)],
        on_start=open_store,
        on_stop=close_store,
        keyed={"/v1/complaints"},
    )
    app.state.figures = figures = IntakeFigures(app.state.metrics, STALE_AFTER)
    app.state.metrics.on_scrape.append(figures.watch(lambda: runtime.pool))
    return app


def main() -> None:
    try:
        PiiKeys.from_settings(get_settings())
    except PiiNotConfigured as exc:
        sys.exit(f"damrong intake cannot start: {exc}")
    serve("intake", create_app, lambda s: s.intake_port)


if __name__ == "__main__":
    main()
