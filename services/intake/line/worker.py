"""The LINE channel's background worker: works stored events in order, then sends the
replies.  Woken by each delivery, and every ``line_poll_s`` without one (events stored by
another instance, replies to retry, events stored before a crash)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import structlog

from services.intake.line import usecases
from services.intake.line.config import LineSettings
from services.intake.line.messenger import Messenger
from services.intake.line.store import LineStore
from shared.faults import Backoff

log = structlog.get_logger()

PURGE_EVERY = dt.timedelta(hours=1)


class Worker:
    def __init__(
        self,
        settings: LineSettings,
        store: LineStore,
        filer: usecases.Filer,
        messenger: Messenger,
    ) -> None:
        self._settings, self._store, self._filer = settings, store, filer
        self._messenger = messenger
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._purged_at: dt.datetime | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="line-worker")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = Backoff(first=0.5, cap=30.0)
        while True:
            self._wake.clear()
            try:
                await self.run_once()
                backoff.reset()
                pause = self._settings.line_poll_s
            except Exception as exc:  # noqa: BLE001 - the database unreachable: wait, try again
                pause = backoff.next()
                log.warning("line.worker_paused", error=type(exc).__name__, pause_s=pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    async def run_once(self) -> None:
        """Work every event that waits, send the replies that wait, and (hourly) delete
        what is past its retention."""
        limit = self._settings.line_max_attempts
        while await usecases.work_next(self._store, self._filer, _now(), limit):
            pass
        await usecases.deliver(self._store, self._messenger, self._filer.keys, _now(), limit)
        now = _now()
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            keep = dt.timedelta(days=self._settings.line_retention_days)
            deleted = await self._store.purge(now - keep, now - keep)
            self._purged_at = now
            if deleted:
                log.info("line.purged", rows=deleted)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
