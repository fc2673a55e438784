"""Envelope <-> Kafka record, as a CloudEvent 1.0 in Kafka binary content mode.

Attributes travel as ``ce_*`` headers (``ce_subject`` = complaint id, extension
``ce_version`` = case version, ``ce_recordedtime``, ``ce_correlationid``); the payload is
the JSON value.  Encoding goes through the ``cloudevents`` package so every record we
publish is one it parses.
"""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import TypeAdapter

from shared.events import EVENT_CLASSES, Envelope, EventData, parse_type_name, type_name

_FORMAT = JSONFormat()
_DATA = TypeAdapter(EventData)
CONTENT_TYPE = "application/json"


class DecodeError(ValueError):
    """A record that is not a valid damrong event: it belongs in the dead-letter topic."""


def to_record(env: Envelope) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    """Return (key, headers, value) for producing ``env``."""
    attrs: dict[str, object] = {
        "id": str(env.event_id),
        "source": env.source,
        "type": type_name(env.kind),
        "specversion": "1.0",
        "time": env.occurred_at,
        "subject": str(env.complaint_id),
        "datacontenttype": CONTENT_TYPE,
        "version": str(env.version),
        "recordedtime": env.recorded_at.isoformat(),
    }
    if env.correlation_id:
        attrs["correlationid"] = env.correlation_id
    data = env.data.model_dump(mode="json", exclude={"kind"})
    msg = ce_kafka.to_binary(
        CloudEvent(attrs, orjson.dumps(data)), _FORMAT, key_mapper=lambda _e: None
    )
    return str(env.complaint_id).encode(), list(msg.headers.items()), msg.value


def from_record(headers: list[tuple[str, bytes]] | None, value: bytes | None) -> Envelope:
    """Parse a consumed record; DecodeError for anything that is not a valid event."""
    try:
        hdrs = {k: v for k, v in (headers or [])}
        event = ce_kafka.from_binary(ce_kafka.KafkaMessage(hdrs, None, value or b""), _FORMAT)
        attrs = event.get_attributes()
        kind, _ver = parse_type_name(str(attrs["type"]))
        raw = event.get_data()
        payload = orjson.loads(raw) if isinstance(raw, (bytes, str)) else dict(raw or {})
        data = _DATA.validate_python({**payload, "kind": kind})
        occurred = attrs["time"]
        if not isinstance(occurred, dt.datetime):
            occurred = dt.datetime.fromisoformat(str(occurred))
        return Envelope(
            event_id=uuid.UUID(str(attrs["id"])),
            complaint_id=uuid.UUID(str(attrs["subject"])),
            version=int(str(attrs["version"])),
            source=str(attrs["source"]),
            occurred_at=occurred,
            recorded_at=dt.datetime.fromisoformat(str(attrs["recordedtime"])),
            correlation_id=attrs.get("correlationid"),
            data=data,
        )
    except DecodeError:
        raise
    except Exception as exc:  # any defect of a foreign record is a poison message
        raise DecodeError(f"{type(exc).__name__}: {exc}") from exc


assert set(EVENT_CLASSES)  # every payload class is registered with a kind
