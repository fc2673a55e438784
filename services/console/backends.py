"""The console's only way to data: intake, status and kpi over HTTP, as the signed-in user.

Every call carries the user's own bearer token, so the services decide every permission;
the console never holds a token of its own.  A problem+json answer becomes ``BackendError``
with the service's fields kept, for the page to show beside the right input.

The one thing kept between requests is intake's reference lists (provinces, districts,
channels, categories: the country's geography and the code lists, the same for every
user and fixed by the release), for ``REFERENCE_TTL_S``: a national page names hundreds
of districts, and asking for them again on every page was a third of its cost.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import structlog

log = structlog.get_logger()

SERVICES = ("intake", "status", "kpi")
REFERENCE = ("intake", "/v1/reference/")
REFERENCE_TTL_S = 3600.0


@dataclass
class BackendError(Exception):
    """A service refused or failed: its status and problem body (``{}`` if none)."""

    service: str
    status: int
    problem: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.service} answered {self.status}: {self.problem.get('detail', '')}"

    @property
    def field_errors(self) -> dict[str, str]:
        """``{field: message}`` from a 400/422 problem's ``errors`` (``field`` dotted)."""
        out: dict[str, str] = {}
        for item in self.problem.get("errors") or []:
            if isinstance(item, dict) and item.get("field"):
                out.setdefault(str(item["field"]), str(item.get("message", "")))
        return out


class BackendUnavailable(Exception):
    """A service did not answer (connection refused, timeout): the page says so, 503."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service


class Backends:
    """One pooled HTTP client per service, opened in the lifespan."""

    def __init__(self, urls: Mapping[str, str], timeout_s: float) -> None:
        self._urls = dict(urls)
        self._timeout = timeout_s
        self._clients: dict[str, httpx.AsyncClient] = {}
        # (path, params) -> (kept until, answer): a few dozen lists at most.
        self.reference: dict[tuple[str, tuple[tuple[str, Any], ...]], tuple[float, Any]] = {}

    async def start(self) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        for name, url in self._urls.items():
            self._clients[name] = httpx.AsyncClient(
                base_url=url, timeout=self._timeout, limits=limits
            )

    async def stop(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    def client(self, service: str) -> httpx.AsyncClient:
        return self._clients[service]


class UserApi:
    """The services as one user sees them."""

    def __init__(self, backends: Backends, token: str, correlation_id: str | None) -> None:
        self._backends = backends
        self._headers = {"Authorization": f"Bearer {token}"}
        if correlation_id:
            self._headers["X-Correlation-Id"] = correlation_id

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        files: Any = None,
        data: Any = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> httpx.Response:
        """The service's response when its status is in ``ok``; BackendError otherwise."""
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = await self._backends.client(service).request(
                method,
                path,
                params=clean,
                json=json,
                files=files,
                data=data,
                headers={**self._headers, **(headers or {})},
            )
        except httpx.TransportError as exc:
            log.warning("backend unreachable", backend=service, error_type=type(exc).__name__)
            raise BackendUnavailable(service, type(exc).__name__) from None
        if response.status_code in ok:
            return response
        problem: dict[str, Any] = {}
        if response.headers.get("content-type", "").startswith(
            ("application/problem+json", "application/json")
        ):
            body = response.json()
            problem = body if isinstance(body, dict) else {"detail": body}
        if response.status_code >= 500:
            log.warning("backend failed", backend=service, status=response.status_code)
        raise BackendError(service, response.status_code, problem)

    async def get(self, service: str, path: str, **params: Any) -> Any:
        """The JSON answer of a GET (a reference list kept for a while: see above)."""
        if service != REFERENCE[0] or not path.startswith(REFERENCE[1]):
            return orjson.loads((await self.request(service, "GET", path, params=params)).content)
        key = (path, tuple(sorted((k, v) for k, v in params.items() if v not in (None, ""))))
        kept = self._backends.reference.get(key)
        now = time.monotonic()
        if kept is not None and kept[0] > now:
            return kept[1]
        answer = orjson.loads((await self.request(service, "GET", path, params=params)).content)
        self._backends.reference[key] = (now + REFERENCE_TTL_S, answer)
        return answer
