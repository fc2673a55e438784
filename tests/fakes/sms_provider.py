"""A local fake of a JSON SMS gateway (the shape ``services.notify.channels.sms`` speaks),
recording every message; it can be told to fail.

A real HTTP server on a free local port, run in a thread, so that in-process apps and
service processes reach it alike (``NOTIFY_SMS_URL = fake.url``)::

    with FakeSmsProvider(token="t") as sms:
        sms.fail_next(503, times=2)
        ...
        assert sms.texts_to("+66812345678") == [...]

``POST /send`` answers 200 ``{"id": ...}`` for ``{"to", "text"}`` (strings), 401 for a
wrong bearer token (when a token is set), 400 for anything else; ``fail_next`` answers
the next calls with the given status first.
"""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from damrong.embedded import free_port

PATH = "/send"


@dataclass(frozen=True)
class Sms:
    """One accepted message."""

    to: str
    text: str
    sender: str | None
    reference: str | None


@dataclass
class _State:
    sent: list[Sms] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # every answer, in order
    failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeSmsProvider:
    def __init__(self, token: str | None = None, host: str = "127.0.0.1") -> None:
        self.token = token
        self.host = host
        self.port = free_port(host)
        self._state = _State()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"

    @property
    def sent(self) -> list[Sms]:
        with self._state.lock:
            return list(self._state.sent)

    @property
    def statuses(self) -> list[int]:
        """Every status answered so far (accepted and failed calls)."""
        with self._state.lock:
            return list(self._state.statuses)

    def texts_to(self, phone: str) -> list[str]:
        return [s.text for s in self.sent if s.to == phone]

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        with self._state.lock:
            self._state.failures.extend([status] * times)

    def start(self) -> FakeSmsProvider:
        handler = _handler(self.token, self._state)
        self._server = http.server.ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-sms", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSmsProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _handler(token: str | None, state: _State) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            try:
                decoded: Any = json.loads(body)
            except ValueError:
                decoded = None
            with state.lock:
                status = _decide(
                    self.path, self.headers.get("authorization"), decoded, token, state
                )
                state.statuses.append(status)
            answer = json.dumps({"id": str(uuid.uuid4())} if status == 200 else {"error": status})
            raw = answer.encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def _decide(path: str, auth: str | None, body: Any, token: str | None, state: _State) -> int:
    if path != PATH:
        return 404
    if state.failures:
        return state.failures.pop(0)
    if token is not None and auth != f"Bearer {token}":
        return 401
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("to", "text")):
        return 400
    state.sent.append(Sms(body["to"], body["text"], body.get("sender"), body.get("reference")))
    return 200
