"""A local fake of LINE's Messaging API: reply and push, recording every call.

The real API (https://api.line.me) is not reachable from our machines.  This fake runs on a
``tests.fakes.recording_http`` server (real HTTP on a free local port, in a thread), so
both in-process apps (line-bot-sdk's aiohttp client) and service processes can reach it
through ``LINE_API_BASE_URL``::

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
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from tests.fakes.recording_http import Answer, Exchange, RecordingServer, Request
from tests.fakes.running import Running

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

    @classmethod
    def of(cls, exchange: Exchange) -> Call:
        r = exchange.request
        return cls(r.method, r.path, r.headers, r.body, r.json, exchange.status)

    def texts(self) -> list[str]:
        """The ``text`` of each text message sent in this call."""
        messages = self.json.get("messages", []) if isinstance(self.json, dict) else []
        return [m["text"] for m in messages if isinstance(m, dict) and m.get("type") == "text"]


class FakeLineApi(Running):
    """The fake server; a context manager (``start()``/``stop()`` also work)."""

    def __init__(self, access_token: str = "test-line-token", host: str = "127.0.0.1") -> None:
        self.access_token = access_token
        self._used_reply_tokens: set[str] = set()
        self._retry_keys: dict[str, str] = {}  # retry key -> request id
        self._lock = threading.Lock()  # for expire_reply_token; _respond runs serially
        self._server = RecordingServer(
            self._respond, paths={REPLY, PUSH}, error=_answer, name="fake-line-api", host=host
        )
        self.host = host
        self.port = self._server.port

    @property
    def base_url(self) -> str:
        return self._server.base_url

    # -- what was sent ------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every call so far, in order (a copy)."""
        return [Call.of(e) for e in self._server.exchanges]

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
        self._server.fail_next(status, times)

    def expire_reply_token(self, token: str) -> None:
        """Make ``token`` refused as LINE refuses an expired or used one."""
        with self._lock:
            self._used_reply_tokens.add(token)

    # -- life ---------------------------------------------------------------------------

    def start(self) -> FakeLineApi:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    # -- LINE's answers -----------------------------------------------------------------

    def _respond(self, request: Request) -> Answer:
        """LINE's answer to a reply or push that no scripted failure pre-empted."""
        headers, body = request.headers, request.json
        if headers.get("authorization") != f"Bearer {self.access_token}":
            return _answer(401, "Authentication failed. Confirm that the access token...")
        if not isinstance(body, dict):
            return _answer(400, "The request body has 1 error(s)")
        messages = body.get("messages")
        if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
            return _answer(400, "The request body has 1 error(s)", details=["messages"])
        if request.path == REPLY:
            token = body.get("replyToken")
            if not isinstance(token, str) or not token:
                return _answer(400, "The request body has 1 error(s)")
            with self._lock:
                if token in self._used_reply_tokens:
                    return _answer(400, "Invalid reply token")
                self._used_reply_tokens.add(token)
        else:
            to = body.get("to")
            if not isinstance(to, str) or not to:
                return _answer(400, "The request body has 1 error(s)")
            retry_key = headers.get("x-line-retry-key")
            if retry_key is not None:
                accepted = self._retry_keys.get(retry_key)
                if accepted is not None:
                    return _answer(
                        409,
                        "The retry key is already accepted",
                        headers={"x-line-accepted-request-id": accepted},
                    )
                self._retry_keys[retry_key] = str(uuid.uuid4())
        sent = [
            {"id": str(uuid.uuid4().int)[:18], "quoteToken": uuid.uuid4().hex} for _ in messages
        ]
        return _stamped(200, {"sentMessages": sent}, {})


def _answer(
    status: int,
    message: str,
    details: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """A LINE error answer: ``{"message": ..., "details"?: [...]}``."""
    body: dict[str, Any] = {"message": message}
    if details is not None:
        body["details"] = details
    return _stamped(status, body, headers or {})


def _stamped(status: int, body: dict[str, Any], headers: dict[str, str]) -> Answer:
    """Every LINE answer carries a request id."""
    return Answer(status, body, {"x-line-request-id": str(uuid.uuid4()), **headers})


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
