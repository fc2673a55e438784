"""Prometheus metrics of a service: ``/metrics`` in the text format (``prometheus-client``).

Each app gets a registry of its own (``Metrics``), so that several apps in one process (the
tests run them side by side) never share a series.  A service runs one process per
container (``shared.service.serve``); were it to run several workers, each would need
``prometheus_client``'s multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) instead.

* HTTP: requests by route *template* (``/v1/complaints/{complaint_id}``, never the path
  itself: ids and tracking numbers must not become label values), method and status, and a
  latency histogram by route and method;
* the runtime: events applied and dead-lettered and transient faults retried by the
  consumer, events published and faults met by the outbox relay (read from the objects'
  own counters at scrape time), and the outbox's depth and the age of its oldest
  unpublished row (asked of the database at scrape time).

``/metrics`` asks for no token, like ``/healthz``: it tells counts, never personal data,
and must be reachable only from inside the deployment (see deploy/ and the README).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import reachable

if TYPE_CHECKING:
    from shared.runtime import Runtime

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
            "Time to answer an HTTP request, by route template and method.",
            ["service", "route", "method"],
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


class _RuntimeCounters(Collector):
    """The consumer's and the relay's own counters, read at scrape time: they are kept by
    those objects (and restart with them), so nothing is counted twice."""

    def __init__(self, service: str, runtime: Runtime) -> None:
        self._service = service
        self._runtime = runtime

    def collect(self) -> Iterator[Metric]:
        consumer, relay = self._runtime.consumer, self._runtime.relay
        figures: list[tuple[str, str, float | None]] = [
            ("damrong_consumer_events_applied", "Events applied by the consumer.",
             consumer.applied if consumer else None),
            ("damrong_consumer_dead_lettered", "Records the consumer sent to the DLQ.",
             consumer.dead_lettered if consumer else None),
            ("damrong_consumer_retries", "Transient faults the consumer retried.",
             consumer.retries if consumer else None),
            ("damrong_outbox_published", "Outbox rows the relay published.",
             relay.published if relay else None),
            ("damrong_outbox_faults", "Connection faults the relay met.",
             relay.faults if relay else None),
        ]  # fmt: skip
        for name, doc, value in figures:
            if value is None:
                continue  # this service has no consumer, or no relay
            family = CounterMetricFamily(name, doc, labels=["service"])
            family.add_metric([self._service], value)
            yield family


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
            m.latency.labels(m.service, template, method).observe(time.perf_counter() - began)


def install(
    app: FastAPI, service: str, runtime: Runtime, routes: Callable[[], list[Any]]
) -> Metrics:
    """Add the HTTP metrics and ``GET /metrics`` to ``app``; ``routes()`` lists its leaf
    routes (asked once, at the first request)."""
    metrics = Metrics(service)
    metrics.registry.register(_RuntimeCounters(service, runtime))
    app.state.metrics = metrics
    app.add_middleware(_HttpMetrics, metrics=metrics, routes=routes)

    @app.get("/metrics", include_in_schema=False)
    async def scrape(request: Request) -> Response:
        await _refresh_outbox(metrics, runtime)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
