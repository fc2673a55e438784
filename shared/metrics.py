"""Prometheus metrics of a service: ``/metrics`` in the text format (``prometheus-client``).

Each app gets a registry of its own (``Metrics``), so that several apps in one process (the
tests run them side by side) never share a series.  A service runs one process per
container (``shared.service.serve``); were it to run several workers, each would need
``prometheus_client``'s multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) instead.

* HTTP: requests by route *template* (``/v1/complaints/{complaint_id}``, never the path
  itself: ids and tracking numbers must not become label values), method and status, and a
  latency histogram by the same;
* the runtime: per partition, the consumer's events applied, its position (the next
  offset it stored) and its lag behind the high-water mark last fetched; its dead letters
  by reason and the transient faults it retried; events published and faults met by the
  outbox relay (read from the objects' own counters at scrape time), and the outbox's
  depth and the age of its oldest unpublished row (asked of the database at scrape time);
* what a service adds (``Metrics.on_scrape``: refreshed before each scrape).

``/metrics`` asks for no token, like ``/healthz``: it tells counts, never personal data,
and must be reachable only from inside the deployment (see deploy/ and the README).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.consumer import FORGED, REFUSED, UNDECODABLE, EventConsumer
from shared.db import reachable

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = structlog.get_logger()

UNMATCHED = "unmatched"  # a path no route serves: one label value, whatever was asked


class Metrics:
    """The registry of one service and the series every service has."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "damrong_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["service", "route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "damrong_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template, method and status.",
            ["service", "route", "method", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.outbox_depth = Gauge(
            "damrong_outbox_unpublished",
            "Outbox rows not yet acknowledged by the broker.",
            ["service"],
            registry=self.registry,
        )
        self.outbox_lag = Gauge(
            "damrong_outbox_oldest_unpublished_seconds",
            "Age of the oldest outbox row not yet published (0 when none).",
            ["service"],
            registry=self.registry,
        )
        # Refreshed before each scrape, in order: the figures a service reads from its
        # database (``install`` adds the outbox's first when there is a runtime).
        self.on_scrape: list[Callable[[], Awaitable[None]]] = []

    async def refresh(self) -> None:
        """Run every ``on_scrape``; one that fails leaves its figures as they were (a
        scrape still answers, and the failure is logged)."""
        for refresh in self.on_scrape:
            try:
                await refresh()
            except Exception as exc:  # noqa: BLE001 - a stale figure beats no metrics
                log.warning("metrics.refresh_failed", service=self.service, error=repr(exc))


class _RuntimeCounters(Collector):
    """The consumer's and the relay's own counters, read at scrape time: they are kept by
    those objects (and restart with them), so nothing is counted twice."""

    def __init__(self, service: str, runtime: Runtime) -> None:
        self._service = service
        self._runtime = runtime

    def collect(self) -> Iterator[Metric]:
        consumer, relay = self._runtime.consumer, self._runtime.relay
        if consumer is not None:
            yield from self._consumer(consumer)
        figures: list[tuple[str, str, float | None]] = [
            ("damrong_outbox_published", "Outbox rows the relay published.",
             relay.published if relay else None),
            ("damrong_outbox_faults", "Connection faults the relay met.",
             relay.faults if relay else None),
        ]  # fmt: skip
        for name, doc, value in figures:
            if value is None:
                continue  # this service has no relay
            family = CounterMetricFamily(name, doc, labels=["service"])
            family.add_metric([self._service], value)
            yield family

    def _consumer(self, consumer: EventConsumer) -> Iterator[Metric]:
        service = self._service
        applied = CounterMetricFamily(
            "damrong_consumer_events_applied",
            "Events the consumer applied, by partition.",
            labels=["service", "partition"],
        )
        for partition, figures in sorted(consumer.partitions.items()):
            applied.add_metric([service, str(partition)], figures.applied)
        yield applied
        position = GaugeMetricFamily(
            "damrong_consumer_position",
            "The next offset the consumer stored, by assigned partition.",
            labels=["service", "partition"],
        )
        lag = GaugeMetricFamily(
            "damrong_consumer_lag",
            "Records of an assigned partition not yet applied (high-water mark last "
            "fetched minus the position).",
            labels=["service", "partition"],
        )
        for partition, (stored, high) in sorted(consumer.lag().items()):
            if stored is not None:
                position.add_metric([service, str(partition)], stored)
            if stored is not None and high is not None:
                lag.add_metric([service, str(partition)], max(0, high - stored))
        yield position
        yield lag
        dead = CounterMetricFamily(
            "damrong_consumer_dead_lettered",
            "Records the consumer sent to the dead-letter topic, by reason (forged, "
            "undecodable, refused).",
            labels=["service", "reason"],
        )
        for reason in (FORGED, UNDECODABLE, REFUSED):  # each one present, 0 until it happens
            dead.add_metric([service, reason], consumer.dead_by_reason[reason])
        yield dead
        retries = CounterMetricFamily(
            "damrong_consumer_retries", "Transient faults the consumer retried.", labels=["service"]
        )
        retries.add_metric([service], consumer.retries)
        yield retries


async def _refresh_outbox(metrics: Metrics, runtime: Runtime) -> None:
    pool = runtime.pool
    if runtime.relay is None or pool is None or not await reachable(pool):
        return  # no outbox, or the database is away: the last figures stay
    row = await pool.fetchrow(
        "SELECT count(*) AS n, "
        "coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age "
        "FROM outbox WHERE published_at IS NULL"
    )
    assert row is not None  # an aggregate always answers one row
    metrics.outbox_depth.labels(metrics.service).set(row["n"])
    metrics.outbox_lag.labels(metrics.service).set(float(row["age"]))


class _HttpMetrics:
    """Counts and times every HTTP request by the route that served it (pure ASGI, so
    that streamed answers are timed to their end)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Callable[[], list[Any]]) -> None:
        self.app = app
        self.metrics = metrics
        self._routes = routes
        self._leaves: list[Any] | None = None

    def template(self, scope: Scope) -> str:
        """The path template of the route serving ``scope`` (matched here: the router's
        own scope is not the one this middleware sees)."""
        if self._leaves is None:  # the routers are all in once requests arrive
            self._leaves = self._routes()
        for route in self._leaves:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(route.path)
        return UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            template = self.template(scope)
            method = scope["method"]
            m = self.metrics
            m.requests.labels(m.service, template, method, str(status)).inc()
            took = time.perf_counter() - began
            m.latency.labels(m.service, template, method, str(status)).observe(took)


def install(
    app: FastAPI, service: str, runtime: Runtime | None, routes: Callable[[], list[Any]]
) -> Metrics:
    """Add the HTTP metrics and ``GET /metrics`` to ``app``; ``routes()`` lists its leaf
    routes (asked once, at the first request).  ``runtime`` (a service's consumer, relay
    and pool) adds their figures; the console has none."""
    metrics = Metrics(service)
    app.state.metrics = metrics
    app.add_middleware(_HttpMetrics, metrics=metrics, routes=routes)
    if runtime is not None:
        metrics.registry.register(_RuntimeCounters(service, runtime))
        metrics.on_scrape.append(lambda: _refresh_outbox(metrics, runtime))

    @app.get("/metrics", include_in_schema=False)
    async def scrape(request: Request) -> Response:
        await metrics.refresh()
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
