"""The resumer: at start, then every ``RESUME_EVERY_S``, intake takes over the import jobs
left running by a replica that died (``usecases.resume_orphans``).  On stop it cancels
its own filing tasks; their jobs stay ``running`` with a free lock and the next replica to
start (or the next sweep of another) resumes them."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from fastapi import FastAPI

from services.intake import telemetry
from services.intake.backfill.staged import usecases
from services.intake.backfill.staged.store import JobStore

RESUME_EVERY_S = 30.0
log = structlog.get_logger()


async def _sweep(app: FastAPI) -> None:
    while True:
        try:
            await usecases.resume_orphans(
                tasks_of(app),
                jobs_of(app),
                app.state.store,
                app.state.settings,
                app.state.pii_keys,
                telemetry.filed_of(app),
            )
        except Exception as exc:  # noqa: BLE001  # the database away: the next sweep tries
            log.warning("import.resume_failed", error_type=type(exc).__name__)
        await asyncio.sleep(RESUME_EVERY_S)


def jobs_of(app: FastAPI) -> JobStore:
    jobs: JobStore | None = getattr(app.state, "import_jobs", None)
    if jobs is None:  # the store's pool exists once the lifespan ran
        jobs = app.state.import_jobs = JobStore(app.state.store.pool)
    return jobs


def tasks_of(app: FastAPI) -> set[asyncio.Task[None]]:
    tasks: set[asyncio.Task[None]] | None = getattr(app.state, "import_tasks", None)
    if tasks is None:
        tasks = app.state.import_tasks = set()
    return tasks


async def start(app: FastAPI) -> None:
    app.state.import_resumer = asyncio.create_task(_sweep(app), name="import-resumer")


async def stop(app: FastAPI) -> None:
    resumer: asyncio.Task[None] | None = getattr(app.state, "import_resumer", None)
    running = [resumer] if resumer is not None else []
    running += list(tasks_of(app))
    for task in running:
        task.cancel()
    for task in running:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
