"""A signed webhook delivery read into the events to store: pure, never trusting its shape.

LINE posts ``{"destination": ..., "events": [...]}``; each event carries a
``webhookEventId`` (the same on a redelivery), a ``source`` and a
``deliveryContext.isRedelivery``.  Only what storing needs is read here; the worker reads
each stored event with line-bot-sdk's models when it acts on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

# A delivery is a handful of events; more is not LINE.
MAX_EVENTS = 100
ID_MAX = 100


class BadDelivery(ValueError):
    """The (correctly signed) body is not a LINE webhook delivery."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One event of a delivery, as stored: ``raw`` is the event's JSON (personal data:
    stored only sealed), ``user_id`` the LINE user it came from (None: a group, a room,
    or no user)."""

    webhook_event_id: str
    user_id: str | None
    redelivery: bool
    raw: bytes


def read_delivery(body: bytes) -> list[Incoming]:
    """The events of ``body``; an event that is not an object, or nests too deeply to be
    stored, is left out.  BadDelivery
    when the body is not a JSON object with an ``events`` list (of at most MAX_EVENTS)."""
    try:
        decoded: Any = orjson.loads(body)  # depth is capped by orjson (1024)
    except orjson.JSONDecodeError:
        raise BadDelivery("the body is not JSON") from None
    if not isinstance(decoded, Mapping):
        raise BadDelivery("the body is not a JSON object")
    events = decoded.get("events")
    if not isinstance(events, list):
        raise BadDelivery("the body has no events list")
    if len(events) > MAX_EVENTS:
        raise BadDelivery(f"a delivery holds at most {MAX_EVENTS} events")
    out: list[Incoming] = []
    seen: set[str] = set()
    for event in events:
        if not isinstance(event, Mapping):
            continue
        try:
            raw = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # nested deeper than orjson writes (254): not LINE's
            continue
        event_id = _short_text(event.get("webhookEventId"))
        if event_id is None:  # not LINE's, but a repeat of the same event is still one
            event_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        if event_id in seen:
            continue
        seen.add(event_id)
        context = event.get("deliveryContext")
        redelivery = isinstance(context, Mapping) and context.get("isRedelivery") is True
        out.append(Incoming(event_id, _user_id(event.get("source")), redelivery, raw))
    return out


def _short_text(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= ID_MAX and value.isprintable():
        return value
    return None


def _user_id(source: Any) -> str | None:
    if not isinstance(source, Mapping) or source.get("type") != "user":
        return None
    return _short_text(source.get("userId"))
