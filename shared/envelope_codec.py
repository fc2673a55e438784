"""Envelope <-> Kafka record, as a CloudEvent 1.0 in Kafka binary content mode.

Attributes travel as ``ce_*`` headers (``ce_subject`` = complaint id, extension
``ce_version`` = case version, ``ce_recordedtime``, ``ce_correlationid``, and the hash
chain's ``ce_prevhash`` and ``ce_hash``); the payload is the JSON value, in the schema
version its ``ce_type`` names (older ones are upcast when decoded).  Every record we
publish is one the ``cloudevents`` package parses to the same event
(tests/unit/test_envelope_codec.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from shared.chain import Link, sealed_hash, written
from shared.events import Envelope, parse_type_name, type_name
from shared.upcasting import current_data

CONTENT_TYPE = "application/json"


class DecodeError(ValueError):
    """A record that is not a valid damrong event: it belongs in the dead-letter topic."""


def _time(value: dt.datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """An event as an outbox row holds it: the Kafka key, the headers as ``[[name, text]]``
    (a jsonb column) and the value.  The one encoding of every writer of outbox rows, so
    the relay publishes the same bytes whoever wrote them."""

    key: bytes
    headers: list[list[str]]
    value: bytes


def encode(env: Envelope) -> OutboxRecord:
    return _outbox_record(*to_record(env))


def _outbox_record(key: bytes, headers: list[tuple[str, bytes]], value: bytes) -> OutboxRecord:
    return OutboxRecord(key, [[k, v.decode()] for k, v in headers], value)


def to_record(env: Envelope) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    """Return (key, headers, value) for producing ``env``.

    Written by hand because this runs once per event on the hot path (the ``cloudevents``
    binding costs ~4x more); tests check that ``cloudevents`` parses every record to the
    same event.
    """
    return _record(env, written(env), env.prev_hash, env.hash)


def sealed_record(env: Envelope, prev_hash: str) -> OutboxRecord:
    """``encode(chain.seal(env, prev_hash))``, the same bytes, with the payload dumped once
    rather than three times (the link to hash, the sealed copy, the value): an import
    seals and encodes every row it files (tests hold the two equal)."""
    data = written(env)
    return _outbox_record(*_record(env, data, prev_hash, sealed_hash(env, prev_hash, data)))


def _record(
    env: Envelope, data: dict[str, Any], prev_hash: str | None, digest: str | None
) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    headers = [
        ("ce_id", str(env.event_id).encode()),
        ("ce_source", env.source.encode()),
        ("ce_type", type_name(env.kind).encode()),
        ("ce_specversion", b"1.0"),
        ("ce_time", _time(env.occurred_at).encode()),
        ("ce_subject", str(env.complaint_id).encode()),
        ("content-type", CONTENT_TYPE.encode()),
        ("ce_version", str(env.version).encode()),
        ("ce_recordedtime", _time(env.recorded_at).encode()),
    ]
    if env.correlation_id:
        headers.append(("ce_correlationid", env.correlation_id.encode()))
    if prev_hash is not None and digest is not None:
        headers += [("ce_prevhash", prev_hash.encode()), ("ce_hash", digest.encode())]
    return str(env.complaint_id).encode(), headers, orjson.dumps(data)


_REQUIRED = (
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "ce_version",
    "ce_recordedtime",
)


def _attributes(headers: list[tuple[str, bytes]] | None) -> dict[str, str]:
    hdrs = {k.lower(): v.decode() for k, v in (headers or [])}
    if hdrs.get("ce_specversion") != "1.0":
        raise DecodeError(
            f"not a CloudEvents 1.0 record (specversion {hdrs.get('ce_specversion')!r})"
        )
    missing = [name for name in _REQUIRED if not hdrs.get(name)]
    if missing:
        raise DecodeError(f"missing CloudEvents attributes: {', '.join(missing)}")
    if hdrs.get("content-type", CONTENT_TYPE).split(";")[0].strip() != CONTENT_TYPE:
        raise DecodeError(f"unsupported content type {hdrs['content-type']!r}")
    return hdrs


def link_from_record(headers: list[tuple[str, bytes]] | None, value: bytes | None) -> Link:
    """A consumed record as written, for verifying its chain (payload not validated: a
    tampered payload must show up as a hash mismatch, not vanish); DecodeError if it is
    not a damrong event at all."""
    try:
        hdrs = _attributes(headers)
        parse_type_name(hdrs["ce_type"])
        payload = orjson.loads(value or b"")
        if not isinstance(payload, dict):
            raise DecodeError("event data is not a JSON object")
        return Link(
            complaint_id=uuid.UUID(hdrs["ce_subject"]),
            version=int(hdrs["ce_version"]),
            event_id=uuid.UUID(hdrs["ce_id"]),
            source=hdrs["ce_source"],
            type=hdrs["ce_type"],
            occurred_at=dt.datetime.fromisoformat(hdrs["ce_time"]),
            recorded_at=dt.datetime.fromisoformat(hdrs["ce_recordedtime"]),
            correlation_id=hdrs.get("ce_correlationid"),
            data=payload,
            prev_hash=hdrs.get("ce_prevhash"),
            hash=hdrs.get("ce_hash"),
        )
    except DecodeError:
        raise
    except Exception as exc:  # any defect of a foreign record is a poison message
        raise DecodeError(f"{type(exc).__name__}: {exc}") from exc


def from_record(headers: list[tuple[str, bytes]] | None, value: bytes | None) -> Envelope:
    """Parse a consumed record, upcast to the current schema; DecodeError for anything
    that is not a valid event."""
    return from_link(link_from_record(headers, value))


def from_link(link: Link) -> Envelope:
    """The event a decoded record (``link_from_record``) holds, upcast to the current
    schema; DecodeError if its payload is not a valid event of its type."""
    try:
        kind, version = parse_type_name(link.type)
        return Envelope(
            event_id=link.event_id,
            complaint_id=link.complaint_id,
            version=link.version,
            source=link.source,
            occurred_at=link.occurred_at,
            recorded_at=link.recorded_at,
            correlation_id=link.correlation_id,
            data=current_data(kind, version, dict(link.data), link.occurred_at),
            prev_hash=link.prev_hash,
            hash=link.hash,
        )
    except DecodeError:
        raise
    except Exception as exc:  # any defect of a foreign record is a poison message
        raise DecodeError(f"{type(exc).__name__}: {exc}") from exc
