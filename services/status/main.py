"""Build and run the status service (port ``settings.status_port``).

``create_app`` only wires things: the Runtime (pool, migrations, relay, ComplaintFiled
consumer) is built in the lifespan, so importing this module creates nothing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.status import consumer
from services.status.api import router
from shared.config import Settings, get_settings
from shared.runtime import Runtime
from shared.service import build_app, serve

MIGRATIONS = Path(__file__).parent / "migrations"
CONSUMER_GROUP = "damrong-status"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The status service as an ASGI app; ``settings`` defaults to the environment's."""
    runtime = Runtime(
        settings or get_settings(), "status", MIGRATIONS,
        consumer_group=CONSUMER_GROUP, handler=consumer.handle,
        batch_handler=consumer.handle_batch, relay=True,
    )
    return build_app("status", runtime, [router])


def main() -> None:
    serve("status", create_app, lambda s: s.status_port)


if __name__ == "__main__":
    main()
