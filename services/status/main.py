"""Build and run the status service (port ``settings.status_port``).

``create_app`` only wires things: the Runtime (pool, migrations, relay, ComplaintFiled
consumer) is built in the lifespan, so importing this module creates nothing.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from services.status import consumer
from services.status.api import router
from services.status.bulk.api import router as bulk_router
from services.status.feedback.api import router as feedback_router
from services.status.reports.api import router as report_router
from services.status.worklists.api import router as worklist_router
from shared.config import Settings, get_settings
from shared.runtime import Runtime
from shared.service import build_app, serve

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The status service as an ASGI app; ``settings`` defaults to the environment's."""
    settings = settings or get_settings()
    topic = settings.events_topic  # backfilled outcomes go out through the outbox
    runtime = Runtime(
        settings,
        "status",
        MIGRATIONS,
        consumer_group=settings.consumer_group("status"),
        handler=partial(consumer.handle, topic=topic),
        batch_handler=partial(consumer.handle_batch, topic=topic),
        relay=True,
        source=consumer.SOURCE,
    )
    return build_app(
        "status",
        runtime,
        [bulk_router, router, worklist_router, report_router, feedback_router],
    )


def main() -> None:
    serve("status", create_app, lambda s: s.status_port)


if __name__ == "__main__":
    main()
