"""A local HTTP server that records every request and answers as its owner decides: the
common body of the HTTP fakes (``line_api``, ``sms_provider``).

A real server on a free local port, run in a thread, so that in-process apps and service
processes reach it alike.  A fake gives it the paths it serves, a ``respond`` function
(its protocol: status, JSON body and headers for a request) and an ``error`` function
(its error body)::

    server = RecordingServer(respond, paths={"/send"}, error=lambda status, reason: ...)
    with server:
        server.fail_next(503, times=2)    # the next two requests to a served path fail
        ...
        assert [e.status for e in server.exchanges] == [503, 503, 200]

Every request, whatever its method, path or body, is recorded with what was answered.
An unknown path is answered 404; then a scripted failure, if any is queued; only then is
``respond`` called.  ``respond`` runs under the server's lock, one request at a time, so a
fake may keep its own state there without locking.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from damrong.embedded import free_port
from tests.fakes.running import Running


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    json: Any  # the decoded body, None if it was not JSON


@dataclass(frozen=True)
class Answer:
    status: int
    json: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Exchange:
    """One request and what the server answered."""

    request: Request
    answer: Answer

    @property
    def status(self) -> int:
        return self.answer.status


Respond = Callable[[Request], Answer]
Error = Callable[[int, str], Answer]  # status, reason -> the fake's error answer


class RecordingServer(Running):
    """The server; a context manager (``start()``/``stop()`` also work)."""

    def __init__(
        self,
        respond: Respond,
        *,
        paths: Collection[str],
        error: Error,
        name: str = "fake-http",
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.port = free_port(host)
        self.name = name
        self._respond = respond
        self._paths = frozenset(paths)
        self._error = error
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self._failures: list[int] = []
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def exchanges(self) -> list[Exchange]:
        """Every request so far with its answer, in order (a copy)."""
        with self._lock:
            return list(self._exchanges)

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests to a served path with ``status``."""
        with self._lock:
            self._failures.extend([status] * times)

    def handle(self, request: Request) -> Answer:
        """Decide and record the answer to ``request`` (what the HTTP handler calls)."""
        with self._lock:
            if request.path not in self._paths:
                answer = self._error(404, "Not found")
            elif self._failures:
                answer = self._error(self._failures.pop(0), "The fake was told to fail")
            else:
                answer = self._respond(request)
            self._exchanges.append(Exchange(request, answer))
        return answer

    # -- life ---------------------------------------------------------------------------

    def start(self) -> RecordingServer:
        self._server = http.server.ThreadingHTTPServer((self.host, self.port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _handler(server: RecordingServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            try:
                length = int(self.headers.get("content-length") or 0)
            except ValueError:
                length = -1
            body = self.rfile.read(length) if length > 0 else b""
            try:
                decoded: Any = json.loads(body)
            except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deep
                decoded = None
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = server.handle(Request(self.command, self.path, headers, body, decoded))
            raw = json.dumps(answer.json).encode()
            self.send_response(answer.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *args: object) -> None:
            pass

    return Handler
