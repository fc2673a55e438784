"""The published event contract: an AsyncAPI 3.0 document and one JSON Schema per event
type and version, generated from the models in ``shared``.  Pure: documents in, text out.

Every kind in ``events.EVENT_CLASSES`` (at its current version) and every schema in
``events.LEGACY_CLASSES`` gets a message and a schema file, read at call time, so a new
kind or version is in the contract as soon as it is registered.  What the pure modules do
not hold (the topic names in ``shared.config``, who may publish what in
``shared.signed_records``, the signature header in ``shared.signing``) comes in as a
``Wire``; ``damrong contract write|check`` builds it and writes or checks ``docs/events``.

A record as partners decode it (``cloudevent_of``) is the CloudEvents JSON form of the
Kafka record: each ``ce_<name>`` header as attribute ``<name>`` (``ce_version`` as an
integer), ``content-type`` as ``datacontenttype``, and the value as ``data``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import yaml

from shared import events
from shared.envelope_codec import CONTENT_TYPE
from shared.upcasting import UPCASTERS

Schema = dict[str, Any]
CONTRACT_MAJOR = 2
ASYNCAPI = "3.0.0"
KAFKA_BINDING = "0.5.0"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR = "schemas"
ASYNCAPI_FILE = "asyncapi.yaml"
REGENERATE = "damrong contract write"


@dataclass(frozen=True)
class Wire:
    """The facts of the wire held outside the pure modules."""

    events_topic: str
    dlq_topic: str
    publishes: Mapping[str, Callable[[str], bool]]  # source -> may it publish this kind?
    signature_header: str


class _Header(NamedTuple):
    header: str  # the Kafka header
    attribute: str  # its CloudEvents attribute, as decoded
    wire: Schema  # the header's text
    required: bool
    description: str
    decoded: Schema | None = None  # the attribute, when it differs from the text


_UUID: Schema = {"type": "string", "format": "uuid"}
_TIME: Schema = {"type": "string", "format": "date-time"}
_HASH: Schema = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_TEXT: Schema = {"type": "string"}
_NUMBER: Schema = {"type": "string", "pattern": "^[1-9][0-9]*$"}
# v2 (what relays write): "v2:<index>:<size>:<base64 signature of the batch's root>:<the
# inclusion proof's hashes, hex>"; v1 (older records): the base64 signature of the digest.
_SIGNATURE: Schema = {
    "type": "string",
    "pattern": "^(v2:(0|[1-9][0-9]*):[1-9][0-9]*:[A-Za-z0-9+/]{86}==:([0-9a-f]{64})*"
    "|[A-Za-z0-9+/]{86}==)$",
}


def _headers(wire: Wire) -> tuple[_Header, ...]:
    """Every header an event record carries, in the order the relay writes them."""
    H = _Header
    return (
        H("ce_id", "id", _UUID, True, "The event's id."),
        H("ce_source", "source", _TEXT, True, "The publishing service."),
        H("ce_type", "type", _TEXT, True, "Event kind and schema version."),
        H("ce_specversion", "specversion", {"const": "1.0"}, True, "CloudEvents 1.0."),
        H("ce_time", "time", _TIME, True, "When it happened in the world (effective)."),
        H("ce_subject", "subject", _UUID, True, "The complaint (case) id: also the record key."),
        H("content-type", "datacontenttype", {"const": CONTENT_TYPE}, False,
          "The value is UTF-8 JSON (always written; readers assume it when absent)."),
        H("ce_version", "version", _NUMBER, True, "The event's number in its case, from 1 "
          "(the filing); (subject, version) is unique.", {"type": "integer", "minimum": 1}),
        H("ce_recordedtime", "recordedtime", _TIME, True, "When it entered the system."),
        H("ce_correlationid", "correlationid", _TEXT, False, "The request that caused it."),
        H("ce_prevhash", "prevhash", _HASH, False, "SHA-256 (hex) of the case's previous event; "
          "64 zeros for version 1. Absent (with ce_hash) only on events from before chaining."),
        H("ce_hash", "hash", _HASH, False, "SHA-256 (hex) of this event's canonical form."),
        H(wire.signature_header, "signature", _SIGNATURE, True, "v2 (batch): "
          "'v2:<index>:<size>:<signature>:<proof>', the record's place in a published batch, "
          "the batch's size, the base64 Ed25519 signature by the source's key of the batch's "
          "RFC 9162 Merkle root over the records' SHA-256 digests (bound to source and size), "
          "and the record's inclusion proof as hex. v1 (older records): the base64 Ed25519 "
          "signature of the canonical form's SHA-256 as 64 lowercase hex characters (ASCII). "
          "See README.md beside this document."),
    )  # fmt: skip


_DLQ_HEADERS: tuple[tuple[str, Schema, str], ...] = (
    ("dlq_error", {"type": "string", "maxLength": 1000}, "Why the consumer refused it."),
    ("dlq_group", _TEXT, "The consumer group that refused it."),
    ("dlq_origin", {"type": "string", "pattern": "^.+/[0-9]+/[0-9]+$"}, "topic/partition/offset"),
)


@dataclass(frozen=True)
class _Message:
    kind: str
    version: int
    model: type[Any]

    @property
    def type(self) -> str:
        return events.type_name(self.kind, self.version)

    @property
    def key(self) -> str:
        return f"{self.kind}.v{self.version}"

    @property
    def legacy(self) -> bool:
        return self.version < events.current_version(self.kind)


def _messages() -> list[_Message]:
    found = [_Message(k, events.current_version(k), c) for k, c in events.EVENT_CLASSES.items()]
    found += [_Message(k, v, c) for (k, v), c in events.LEGACY_CLASSES.items()]
    return sorted(found, key=lambda m: (m.kind, m.version))


def _sources(wire: Wire, kind: str) -> list[str]:
    return sorted(source for source, may in wire.publishes.items() if may(kind))


def _payload(model: type[Any], ref_template: str) -> tuple[Schema, Schema]:
    """The payload's schema as the value holds it (no ``kind``: the type says it), and the
    schemas it refers to."""
    schema = model.model_json_schema(ref_template=ref_template)
    defs = schema.pop("$defs", {})
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k != "kind"}
    if required := [name for name in schema.get("required", []) if name != "kind"]:
        schema["required"] = required
    else:
        schema.pop("required", None)
    return schema, defs


def _upcast_note(m: _Message) -> str:
    if not m.legacy:
        return "Written now."
    step = UPCASTERS[(m.kind, m.version)].__doc__ or ""
    return (
        f"No longer written, still on the topic: readers upcast it to v{m.version + 1}. "
        f"{' '.join(step.split())}"
    )


def _record_schema(wire: Wire, m: _Message) -> Schema:
    """The JSON Schema of one event type and version as decoded (``cloudevent_of``)."""
    payload, defs = _payload(m.model, "#/$defs/{model}")
    attributes: Schema = {}
    for h in _headers(wire):
        attributes[h.attribute] = {**(h.decoded or h.wire), "description": h.description}
    attributes["type"] = {**attributes["type"], "const": m.type}
    attributes["source"] = {**attributes["source"], "enum": _sources(wire, m.kind)}
    required = [h.attribute for h in _headers(wire) if h.required]
    return {
        "$schema": DIALECT,
        "title": m.type,
        "description": f"One {m.type} record as decoded: its CloudEvents attributes (the "
        f"ce_* headers) and its data (the record's JSON value). {_upcast_note(m)}",
        "type": "object",
        "properties": {**attributes, "data": {"$ref": f"#/$defs/{m.model.__name__}"}},
        "required": [*required, "data"],
        "dependentRequired": {"prevhash": ["hash"], "hash": ["prevhash"]},
        "additionalProperties": False,
        "$defs": {**defs, m.model.__name__: payload},
    }


def _message(wire: Wire, m: _Message, payload: Schema) -> Schema:
    props: Schema = {h.header: {**h.wire, "description": h.description} for h in _headers(wire)}
    props["ce_type"] = {**props["ce_type"], "const": m.type}
    props["ce_source"] = {**props["ce_source"], "enum": _sources(wire, m.kind)}
    return {
        "name": m.key,
        "title": m.type,
        **({"summary": m.model.__doc__.strip().splitlines()[0]} if m.model.__doc__ else {}),
        "description": f"{_upcast_note(m)} JSON Schema of the decoded record: "
        f"{SCHEMA_DIR}/{m.type}.json",
        "tags": [{"name": "legacy" if m.legacy else "current"}],
        "contentType": CONTENT_TYPE,
        "headers": {
            "type": "object",
            "description": "Kafka headers (UTF-8 text): the CloudEvents Kafka binding, "
            "binary mode, with the damrong extensions.",
            "properties": props,
            "required": [h.header for h in _headers(wire) if h.required],
            "additionalProperties": False,
        },
        "payload": payload,
        "correlationId": {"location": "$message.header#/ce_correlationid"},
        "bindings": {"kafka": {"key": _key(), "bindingVersion": KAFKA_BINDING}},
    }


def _key() -> Schema:
    return {**_UUID, "description": "The complaint id (= ce_subject), as UTF-8 text."}


def _dead_letter(wire: Wire) -> Schema:
    props: Schema = {name: {**s, "description": d} for name, s, d in _DLQ_HEADERS}
    return {
        "name": "deadLetter",
        "title": "A record a consumer refused",
        "summary": "The original record (key, value, headers) with the dlq_* headers added.",
        "description": "Only records that can never apply: undecodable, schema-invalid, not "
        "signed by their source's key, altered, or impossible in the domain. Every group "
        "that refuses a record sends its own copy. Not for consumption as events.",
        "headers": {
            "type": "object",
            "properties": props,
            "required": [name for name, _s, _d in _DLQ_HEADERS],
            "additionalProperties": {"type": "string"},
        },
        "payload": {"description": "The refused record's value, byte for byte (any bytes)."},
        "bindings": {"kafka": {"key": _key(), "bindingVersion": KAFKA_BINDING}},
    }


def asyncapi(wire: Wire) -> Schema:
    """The AsyncAPI 3.0 document of the event and dead-letter topics."""
    messages: Schema = {}
    schemas: Schema = {}
    for m in _messages():
        payload, defs = _payload(m.model, "#/components/schemas/{model}")
        for name, schema in {**defs, m.model.__name__: payload}.items():
            if schemas.setdefault(name, schema) != schema:
                raise ValueError(f"two different payload schemas are both called {name}")
        messages[m.key] = _message(wire, m, {"$ref": f"#/components/schemas/{m.model.__name__}"})
    messages["deadLetter"] = _dead_letter(wire)
    event_refs = {key: {"$ref": f"#/components/messages/{key}"} for key in messages}
    dlq_refs = {"deadLetter": event_refs.pop("deadLetter")}
    operations: Schema = {}
    for source in sorted(wire.publishes):
        name = source.rstrip("/").rsplit("/", 1)[-1]
        keys = [m.key for m in _messages() if source in _sources(wire, m.kind)]
        operations[f"publish{name.title()}Events"] = {
            "action": "send",
            "title": f"{source} publishes",
            "channel": {"$ref": "#/channels/caseEvents"},
            "messages": [{"$ref": f"#/channels/caseEvents/messages/{k}"} for k in keys],
        }
    operations["deadLetter"] = {
        "action": "send",
        "title": "A consumer dead-letters a record",
        "channel": {"$ref": "#/channels/deadLetters"},
        "messages": [{"$ref": "#/channels/deadLetters/messages/deadLetter"}],
    }
    doc: Schema = {
        "asyncapi": ASYNCAPI,
        "info": {
            "title": "damrong case events",
            "version": "",
            "description": "Every event of every complaint case, as the damrong services "
            "publish them: CloudEvents 1.0 in Kafka binary mode, signed (Ed25519) and "
            "hash-chained per case. Generated from the models; see README.md beside it.",
        },
        "servers": {
            "kafka": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "The deployment's Kafka cluster.",
                "variables": {"bootstrap": {"description": "host:port of a bootstrap broker"}},
            }
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": {
            "caseEvents": {
                "address": wire.events_topic,
                "title": "Case events",
                "description": "Every event of every case, keyed by complaint id: one "
                "case's events are in one partition, in version order. Kept forever.",
                "messages": event_refs,
                "bindings": {
                    "kafka": {"topic": wire.events_topic, "bindingVersion": KAFKA_BINDING}
                },
            },
            "deadLetters": {
                "address": wire.dlq_topic,
                "title": "Dead letters",
                "description": "Records the damrong consumers refused, with the reason.",
                "messages": dlq_refs,
                "bindings": {"kafka": {"topic": wire.dlq_topic, "bindingVersion": KAFKA_BINDING}},
            },
        },
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    # The build part changes whenever the contract does; the major version when a reader
    # written for the previous one would refuse what is published now (2: batch signatures).
    doc["info"]["version"] = f"{CONTRACT_MAJOR}.0.0+{digest[:12]}"
    return doc


def documents(wire: Wire) -> dict[str, str]:
    """Every generated file (relative path -> text): the AsyncAPI document, a schema each."""
    out = {
        ASYNCAPI_FILE: f"# Generated: do not edit. Regenerate with `{REGENERATE}`.\n"
        + yaml.safe_dump(asyncapi(wire), sort_keys=False, allow_unicode=True, width=100)
    }
    for m in _messages():
        text = json.dumps(_record_schema(wire, m), indent=2, ensure_ascii=False)
        out[f"{SCHEMA_DIR}/{m.type}.json"] = text + "\n"
    return out


def cloudevent_of(headers: list[tuple[str, bytes]], value: bytes) -> dict[str, Any]:
    """A record as the contract's schemas describe it; ValueError if it cannot be read
    as one (headers not UTF-8, a header twice, a version not a number, a value not JSON)."""
    out: dict[str, Any] = {}
    for name, raw in headers:
        attr = "datacontenttype" if name == "content-type" else name.removeprefix("ce_")
        if attr == name or attr in out:
            raise ValueError(f"header {name!r} is not an attribute, or is there twice")
        out[attr] = raw.decode("utf-8")
    if "version" in out:
        if not out["version"].isascii() or not out["version"].isdigit():
            raise ValueError(f"ce_version {out['version']!r} is not a number")
        out["version"] = int(out["version"])
    try:
        out["data"] = json.loads(value.decode("utf-8"))
    except RecursionError:  # nesting deeper than the parser goes
        raise ValueError("the value is nested too deeply") from None
    return out
