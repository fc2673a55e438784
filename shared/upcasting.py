"""Old event schemas, read as the current ones: one upcaster per (kind, version) step.

Stored and published events are never rewritten (their hash chain covers them as written):
every reader upcasts on read instead, through ``upcast`` (raw JSON payloads, as the
codec, the stores and the kpi fast rebuild hold them) or ``current_data`` (a validated
model).  An upcaster takes the payload of version n, validated by version n's own model,
and the event's effective time, and answers the JSON payload of version n + 1.  Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

from shared.events import (
    EVENT_CLASSES,
    LEGACY_CLASSES,
    CaseForwardedV1,
    EventData,
    current_version,
    reply_due,
)

Payload = dict[str, Any]  # a JSON object, without "kind"
Upcaster = Callable[[Payload, dt.datetime], Payload]

_DATA: TypeAdapter[Any] = TypeAdapter(EventData)


def _forwarded_v1_to_v2(payload: Payload, occurred_at: dt.datetime) -> Payload:
    """v1's ``due_date`` becomes ``reply_due`` (the days given counted from the forwarding's
    Bangkok date); v1 never knew the agency's code."""
    old = CaseForwardedV1.model_validate({**payload, "kind": "case.forwarded"})
    due = reply_due(old.due_date, occurred_at)
    return {
        "actor": old.actor,
        "note": old.note,
        "agency": old.agency,
        "agency_code": None,
        "reply_due": due.model_dump(mode="json"),
    }


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("case.forwarded", 1): _forwarded_v1_to_v2,
}
assert set(UPCASTERS) == set(LEGACY_CLASSES), "every legacy schema needs its upcaster"


def upcast(kind: str, version: int, payload: Payload, occurred_at: dt.datetime) -> Payload:
    """``payload`` (schema ``version`` of ``kind``) as its current schema's JSON payload;
    the very same object when it is current.  Raises ValueError (pydantic's included) for
    a payload its own schema refuses, or a version that does not exist."""
    if kind not in EVENT_CLASSES or not 1 <= version <= current_version(kind):
        raise ValueError(f"no schema version {version} of {kind!r}")
    while version < current_version(kind):
        payload = UPCASTERS[(kind, version)](payload, occurred_at)
        version += 1
    return payload


def current_data(kind: str, version: int, payload: Payload, occurred_at: dt.datetime) -> EventData:
    """The validated current-schema model of a payload written in schema ``version``."""
    data: EventData = _DATA.validate_python(
        {**upcast(kind, version, payload, occurred_at), "kind": kind}
    )
    return data
