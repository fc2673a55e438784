"""A local fake of LINE's Messaging API: reply and push, recording every call.

The real API (https://api.line.me) is not reachable from our machines.  This fake is a
real HTTP server on a free local port, run in a thread, so that both in-process apps
(line-bot-sdk's aiohttp client) and service processes can reach it through
``LINE_API_BASE_URL``::

    with FakeLineApi(access_token="t") as line:
        settings = {"LINE_API_BASE_URL": line.base_url, "LINE_CHANNEL_ACCESS_TOKEN": "t"}
        ...
        assert line.replies()[0].json["messages"][0]["text"] == "..."

It answers as LINE documents it: 200 ``{"sentMessages": [...]}``; 401 for a missing or
wrong bearer token; 400 for a body that is not a JSON object, a missing ``replyToken`` /
``to``, or not 1 to 5 messages; 400 ``Invalid reply token`` for a reply token used before
(LINE accepts each once); 409 for a push whose ``X-Line-Retry-Key`` was accepted before.
``fail_next(status, times)`` makes the next calls fail, to test retries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from damrong.embedded import free_port

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"
MAX_MESSAGES = 5


def signature(channel_secret: str, body: bytes) -> str:
    """The ``X-Line-Signature`` LINE puts on a webhook delivery of ``body``."""
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Call:
    """One request the fake received (every one, answered 2xx or not)."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    json: Any  # the decoded body, None if it was not JSON
    status: int  # what the fake answered

    def texts(self) -> list[str]:
        """The ``text`` of each text message sent in this call."""
        messages = self.json.get("messages", []) if isinstance(self.json, dict) else []
        return [m["text"] for m in messages if isinstance(m, dict) and m.get("type") == "text"]


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    used_reply_tokens: set[str] = field(default_factory=set)
    retry_keys: dict[str, str] = field(default_factory=dict)  # retry key -> request id
    failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeLineApi:
    """The fake server; a context manager (``start()``/``stop()`` also work)."""

    def __init__(self, access_token: str = "test-line-token", host: str = "127.0.0.1") -> None:
        self.access_token = access_token
        self.host = host
        self.port = free_port(host)
        self._state = _State()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- what was sent ------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every call so far, in order (a copy)."""
        with self._state.lock:
            return list(self._state.calls)

    def replies(self) -> list[Call]:
        """The accepted (200) reply calls."""
        return [c for c in self.calls if c.path == REPLY and c.status == 200]

    def pushes(self) -> list[Call]:
        """The accepted (200) push calls."""
        return [c for c in self.calls if c.path == PUSH and c.status == 200]

    def sent_texts(self) -> list[str]:
        """The text of every text message accepted, replies and pushes, in order."""
        return [t for c in self.calls if c.status == 200 for t in c.texts()]

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` calls with ``status`` (a LINE error body)."""
        with self._state.lock:
            self._state.failures.extend([status] * times)

    def expire_reply_token(self, token: str) -> None:
        """Make ``token`` refused as LINE refuses an expired or used one."""
        with self._state.lock:
            self._state.used_reply_tokens.add(token)

    # -- life ---------------------------------------------------------------------------

    def start(self) -> FakeLineApi:
        handler = _handler(self.access_token, self._state)
        self._server = http.server.ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-line-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLineApi:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _handler(access_token: str, state: _State) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            try:
                decoded: Any = json.loads(body)
            except ValueError:
                decoded = None
            headers = {k.lower(): v for k, v in self.headers.items()}
            with state.lock:
                status, answer, extra = _decide(self.path, headers, decoded, access_token, state)
                state.calls.append(Call("POST", self.path, headers, body, decoded, status))
            self._answer(status, answer, extra)

        def do_GET(self) -> None:
            self._answer(404, {"message": "Not found"}, {})

        def _answer(self, status: int, body: dict[str, Any], extra: dict[str, str]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.send_header("x-line-request-id", str(uuid.uuid4()))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def _decide(
    path: str, headers: dict[str, str], body: Any, access_token: str, state: _State
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, JSON body and extra headers of the answer; called under the state lock."""
    if path not in (REPLY, PUSH):
        return 404, {"message": "Not found"}, {}
    if state.failures:
        status = state.failures.pop(0)
        return status, {"message": "The fake was told to fail"}, {}
    if headers.get("authorization") != f"Bearer {access_token}":
        return 401, {"message": "Authentication failed. Confirm that the access token..."}, {}
    if not isinstance(body, dict):
        return 400, {"message": "The request body has 1 error(s)"}, {}
    messages = body.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        return 400, {"message": "The request body has 1 error(s)", "details": ["messages"]}, {}
    if path == REPLY:
        token = body.get("replyToken")
        if not isinstance(token, str) or not token:
            return 400, {"message": "The request body has 1 error(s)"}, {}
        if token in state.used_reply_tokens:
            return 400, {"message": "Invalid reply token"}, {}
        state.used_reply_tokens.add(token)
    else:
        to = body.get("to")
        if not isinstance(to, str) or not to:
            return 400, {"message": "The request body has 1 error(s)"}, {}
        retry_key = headers.get("x-line-retry-key")
        if retry_key is not None:
            accepted = state.retry_keys.get(retry_key)
            if accepted is not None:
                return (
                    409,
                    {"message": "The retry key is already accepted"},
                    {"x-line-accepted-request-id": accepted},
                )
            state.retry_keys[retry_key] = str(uuid.uuid4())
    sent = [{"id": str(uuid.uuid4().int)[:18], "quoteToken": uuid.uuid4().hex} for _ in messages]
    return 200, {"sentMessages": sent}, {}


# -- webhook deliveries, as LINE posts them --------------------------------------------------


def new_user_id() -> str:
    """A fresh LINE userId (``U`` and 32 hex digits)."""
    return "U" + uuid.uuid4().hex


def _event(kind: str, user_id: str, redelivery: bool, event_id: str | None) -> dict[str, Any]:
    return {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id or "01" + uuid.uuid4().hex.upper()[:24],
        "deliveryContext": {"isRedelivery": redelivery},
        "replyToken": uuid.uuid4().hex,
    }


def text_event(
    user_id: str,
    text: str,
    *,
    message_id: str | None = None,
    redelivery: bool = False,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A text message event (a fresh message id, event id and reply token unless given)."""
    event = _event("message", user_id, redelivery, event_id)
    event["message"] = {
        "type": "text",
        "id": message_id or str(uuid.uuid4().int)[:18],
        "quoteToken": uuid.uuid4().hex,
        "text": text,
    }
    return event


def location_event(user_id: str, address: str, latitude: float, longitude: float) -> dict[str, Any]:
    event = _event("message", user_id, False, None)
    event["message"] = {
        "type": "location",
        "id": str(uuid.uuid4().int)[:18],
        "title": "ตำแหน่งของฉัน",
        "address": address,
        "latitude": latitude,
        "longitude": longitude,
    }
    return event


def follow_event(user_id: str) -> dict[str, Any]:
    event = _event("follow", user_id, False, None)
    event["follow"] = {"isUnblocked": False}
    return event


def delivery(*events: dict[str, Any], destination: str = "U" + "0" * 32) -> bytes:
    """The body of one webhook delivery (as LINE sends it: compact UTF-8 JSON)."""
    return json.dumps(
        {"destination": destination, "events": list(events)}, ensure_ascii=False
    ).encode()


def unfollow_event(user_id: str) -> dict[str, Any]:
    """The user blocked the account (no reply token: nothing can be sent back)."""
    event = _event("unfollow", user_id, False, None)
    del event["replyToken"]
    return event
