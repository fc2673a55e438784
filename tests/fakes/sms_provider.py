"""A local fake of a JSON SMS gateway (the shape ``services.notify.channels.sms`` speaks),
recording every message; it can be told to fail.

It runs on a ``tests.fakes.recording_http`` server (real HTTP on a free local port, in a
thread), so that in-process apps and service processes reach it alike
(``NOTIFY_SMS_URL = fake.url``)::

    with FakeSmsProvider(token="t") as sms:
        sms.fail_next(503, times=2)
        ...
        assert sms.texts_to("+66812345678") == [...]

``POST /send`` answers 200 ``{"id": ...}`` for ``{"to", "text"}`` (strings), 401 for a
wrong bearer token (when a token is set), 400 for anything else; ``fail_next`` answers
the next calls with the given status first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tests.fakes.recording_http import Answer, RecordingServer, Request
from tests.fakes.running import Running

PATH = "/send"
TEXT = ("to", "text")  # the fields a message must have, as strings


@dataclass(frozen=True)
class Sms:
    """One accepted message."""

    to: str
    text: str
    sender: str | None
    reference: str | None


class FakeSmsProvider(Running):
    def __init__(self, token: str | None = None, host: str = "127.0.0.1") -> None:
        self.token = token
        self._server = RecordingServer(
            self._respond, paths={PATH}, error=_error, name="fake-sms", host=host
        )
        self.host = host
        self.port = self._server.port

    @property
    def url(self) -> str:
        return self._server.base_url + PATH

    @property
    def sent(self) -> list[Sms]:
        """The accepted messages, in order."""
        return [
            Sms(b["to"], b["text"], b.get("sender"), b.get("reference"))
            for e in self._server.exchanges
            if e.status == 200 and isinstance(b := e.request.json, dict)
        ]

    @property
    def statuses(self) -> list[int]:
        """Every status answered so far (accepted and failed calls)."""
        return [e.status for e in self._server.exchanges]

    def texts_to(self, phone: str) -> list[str]:
        return [s.text for s in self.sent if s.to == phone]

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        self._server.fail_next(status, times)

    def start(self) -> FakeSmsProvider:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def _respond(self, request: Request) -> Answer:
        auth = request.headers.get("authorization")
        if self.token is not None and auth != f"Bearer {self.token}":
            return _error(401, "Unauthorized")
        body = request.json
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in TEXT):
            return _error(400, "Bad request")
        return Answer(200, {"id": str(uuid.uuid4())})


def _error(status: int, reason: str) -> Answer:
    return Answer(status, {"error": status})
