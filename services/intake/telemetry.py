"""intake's own figures on ``/metrics`` (beside every service's, ``shared.metrics``):

* ``damrong_pii_clear_reads_total{kind}``: personal data read in clear, ``identity`` by a
  ``pii_reader`` (the case page's "show") or ``contact`` by the notify service; each is
  also a row of ``pii_access``, this is the rate to watch;
* ``damrong_import_rows_filed_total``: register rows filed by imports (jobs, staged or
  not, and ``wait=true`` imports); a resumed job counts only the rows it files itself,
  not those its killed runner filed before;
* ``damrong_imports_running``: import jobs being filed now, by any replica (read from
  ``import_jobs`` at each scrape; a job whose replica stopped beating is not counted, it
  is stalled).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import asyncpg
from fastapi import FastAPI, Request
from prometheus_client import Counter, Gauge

from shared.metrics import Metrics

IDENTITY = "identity"
CONTACT = "contact"


class IntakeFigures:
    """The counters intake's routes and imports move."""

    def __init__(self, metrics: Metrics, stalled_after: dt.timedelta) -> None:
        self._service = metrics.service
        self._stalled_after = stalled_after
        self.clear_reads = Counter(
            "damrong_pii_clear_reads",
            "Personal data read in clear: identity (pii_reader) or contact (notify).",
            ["service", "kind"],
            registry=metrics.registry,
        )
        for kind in (IDENTITY, CONTACT):
            self.clear_reads.labels(self._service, kind)  # present at 0 from the start
        self.rows_filed = Counter(
            "damrong_import_rows_filed",
            "Register rows filed by imports.",
            ["service"],
            registry=metrics.registry,
        )
        self.rows_filed.labels(self._service)
        self.running = Gauge(
            "damrong_imports_running",
            "Import jobs being filed now (any replica).",
            ["service"],
            registry=metrics.registry,
        )

    def read_clear(self, kind: str) -> None:
        self.clear_reads.labels(self._service, kind).inc()

    def filed(self, rows: int) -> None:
        self.rows_filed.labels(self._service).inc(rows)

    def watch(self, pool: Callable[[], asyncpg.Pool | None]) -> Callable[[], Awaitable[None]]:
        """The refresh of ``damrong_imports_running`` (for ``Metrics.on_scrape``)."""

        async def refresh() -> None:
            db = pool()
            if db is None:
                return
            since = dt.datetime.now(dt.UTC) - self._stalled_after
            running = await db.fetchval(
                "SELECT count(*) FROM import_jobs WHERE status = 'running' AND heartbeat_at >= $1",
                since,
            )
            self.running.labels(self._service).set(running)

        return refresh


def _of(request: Request) -> IntakeFigures | None:
    """The app's figures (none in an app built without them, as some tests build one)."""
    figures = getattr(request.app.state, "figures", None)
    return figures if isinstance(figures, IntakeFigures) else None


def read_clear(request: Request, kind: str) -> None:
    figures = _of(request)
    if figures is not None:
        figures.read_clear(kind)


def filed_counter(request: Request) -> Callable[[int], None] | None:
    return filed_of(request.app)


def filed_of(app: FastAPI) -> Callable[[int], None] | None:
    figures = getattr(app.state, "figures", None)
    return figures.filed if isinstance(figures, IntakeFigures) else None
