"""Build and run the kpi service (port ``settings.kpi_port``).

``create_app`` only wires things: the Runtime (pool, migrations, consumer of every case
event, a partition batch at a time through ``handle_batch``; no outbox relay, kpi
publishes nothing) starts in the lifespan, so importing or building the app opens no
connection.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.kpi import api, history, silence
from services.kpi.consumer import handle, handle_batch
from services.kpi.dashboard import api as dashboard_api
from services.kpi.reports import api as reports_api
from services.kpi.reports.answers import Answers
from services.kpi.satisfaction import api as satisfaction_api
from shared.config import Settings, get_settings
from shared.runtime import Runtime
from shared.service import build_app, serve

MIGRATIONS = Path(__file__).parent / "migrations"
# Every report statement is planned for its own cut and known time.  PostgreSQL switches
# a prepared statement to a generic plan (made without the parameters' values) from its
# sixth run on; for the reports that plan was slower: national as_of answers went from
# about 0.4 s to 2.3 s at 2,000,000 cases (bench/kpi_queries.py).  Planning each time
# costs about a millisecond.
#
# A national question hashes or sorts a fiscal year's cases: at PostgreSQL's default
# 4 MB of memory per sort or hash they spilled to disk.
#
# kpi's answers are index-only scans of covering, partial indexes that a rebuild writes in
# order.  At the default random_page_cost (4, a spinning disk's) the planner priced them
# as if each page read were a seek, and chose to read the whole table instead: the
# national backlog took 58 ms by a sequential scan against 19 ms from its index at
# 400,000 cases.  1.1 is the usual figure for SSDs and memory-resident data.
SESSION = {"plan_cache_mode": "force_custom_plan", "work_mem": "64MB", "random_page_cost": "1.1"}


def create_app(settings: Settings | None = None) -> FastAPI:
    """The kpi service as an ASGI app; ``settings`` defaults to the environment's."""
    settings = settings or get_settings()
    runtime = Runtime(
        settings,
        "kpi",
        MIGRATIONS,
        consumer_group=settings.consumer_group("kpi"),
        handler=handle,
        batch_handler=handle_batch,
        relay=False,
        server_settings=SESSION,
    )

    async def fill_history(_app: FastAPI) -> None:
        assert runtime.pool is not None
        await history.fill_missing(runtime.pool)

    app = build_app(
        "kpi",
        runtime,
        [api.router, reports_api.router, satisfaction_api.router, dashboard_api.router],
        on_start=fill_history,
    )
    app.state.answers = Answers(settings.kpi_answer_cache)
    silence.install(app.state.metrics, lambda: runtime.pool)
    return app


def main() -> None:
    serve("kpi", create_app, lambda s: s.kpi_port)


if __name__ == "__main__":
    main()
