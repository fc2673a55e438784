"""Read damrong's case events, trusting only what is genuine: a consumer to copy.

    pip install confluent-kafka cryptography
    python consumer_example.py --bootstrap kafka:9092 --group my-system \
        --keys '{"/damrong/intake": "<base64 key>", "/damrong/status": "<base64 key>"}'

Each record is checked as damrong's own readers check it, before anything trusts it:

1. it is a CloudEvents 1.0 record of ours (the ce_* headers, a JSON object as value);
2. its content hashes to its ``ce_hash`` (SHA-256 of the canonical form below);
3. ``ce_signature`` proves that hash was signed by the key of the service named in
   ``ce_source``, and that service may publish this type: either (v2, what is published
   now) ``v2:<index>:<size>:<signature>:<proof>``, the record's inclusion proof in a
   batch whose RFC 9162 Merkle root is signed, or (v1, older records) the Ed25519
   signature of the hash's 64 hex characters (ASCII);
4. its ``ce_prevhash`` is the hash of the case's previous event (64 zeros for version 1).

It prints one JSON line per record with its verdict: ``applied``, ``duplicate`` (a version
already applied: Kafka delivers at least once) or ``refused`` with the reason.  Replace
``apply`` with your own work, and keep ``Chains`` in your own database, in the transaction
that applies the event, with the offsets.  Depends on nothing of damrong's code.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PREFIX = "th.go.dopa.damrong."
GENESIS = "0" * 64
REQUIRED = ("id", "source", "type", "time", "subject", "version", "recordedtime")
# Which service may publish which event types (a key of one must not speak for the other).
PUBLISHES = {"/damrong/intake": ("complaint.filed.",), "/damrong/status": ("case.",)}
BANGKOK = dt.timezone(dt.timedelta(hours=7), "Asia/Bangkok")  # no daylight saving


class Refused(ValueError):
    """Not a genuine damrong event: do not apply it."""


def attributes(headers: list[tuple[str, bytes]] | None) -> dict[str, str]:
    """The CloudEvents attributes of a record (``ce_<name>`` headers as ``<name>``), from
    its headers as confluent-kafka gives them (a list of (name, bytes))."""
    attrs: dict[str, str] = {}
    for name, raw in headers or []:
        try:
            text = raw.decode("utf-8")
        except (UnicodeDecodeError, AttributeError):
            raise Refused(f"header {name!r} is not UTF-8 text") from None
        if name.lower() == "content-type":
            attrs["datacontenttype"] = text
        elif name.lower().startswith("ce_"):
            attrs[name.lower()[3:]] = text
    if attrs.get("specversion") != "1.0":
        raise Refused("not a CloudEvents 1.0 record")
    if missing := [a for a in REQUIRED if not attrs.get(a)]:
        raise Refused(f"missing attributes: {', '.join(missing)}")
    if attrs.get("datacontenttype", "application/json").split(";")[0] != "application/json":
        raise Refused("the value is not JSON")
    if not attrs["type"].startswith(PREFIX):
        raise Refused(f"not a damrong event type: {attrs['type']!r}")
    return attrs


def utc_text(text: str) -> str:
    """A time as the canonical form writes it: UTC, microseconds, ``Z``."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise Refused(f"a time without its offset: {text!r}")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def digest(attrs: dict[str, str], data: dict[str, Any]) -> str:
    """SHA-256 (hex) of the event's canonical form: what ``ce_hash`` and the signature cover.

    The form is JSON with sorted keys, no whitespace, UTF-8, of exactly these fields, with
    the value as written (never an upcast view)."""
    doc = {
        "id": attrs["id"],
        "source": attrs["source"],
        "type": attrs["type"],
        "subject": attrs["subject"],
        "time": utc_text(attrs["time"]),
        "recordedtime": utc_text(attrs["recordedtime"]),
        "version": int(attrs["version"]),
        "correlationid": attrs.get("correlationid"),
        "prevhash": attrs.get("prevhash"),
        "data": data,
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Event:
    """A verified event: its attributes, its data as written, and its hash."""

    attrs: dict[str, str]
    data: dict[str, Any]
    hash: str

    @property
    def subject(self) -> str:
        return self.attrs["subject"]

    @property
    def version(self) -> int:
        return int(self.attrs["version"])


def verify(keys: dict[str, Ed25519PublicKey], headers: Any, value: bytes | None) -> Event:
    """The record as a genuine event (checks 1 to 3); Refused, with the reason, if it is not."""
    attrs = attributes(headers)
    try:
        data = json.loads(value or b"")
        version = int(attrs["version"])
        if not isinstance(data, dict) or version < 1:
            raise ValueError("the value is not a JSON object, or the version not positive")
        computed = digest(attrs, data)
    except Refused:
        raise
    except (ValueError, RecursionError) as exc:
        raise Refused(f"unreadable: {type(exc).__name__}: {exc}") from None
    if attrs.get("hash") is not None and attrs["hash"] != computed:
        raise Refused("content does not match its hash")
    key = keys.get(attrs["source"])
    if key is None:
        raise Refused(f"no public key for source {attrs['source']!r}")
    signature = attrs.get("signature", "")
    try:
        if signature.startswith("v2:"):
            signed, message = batch_root(attrs["source"], computed, signature)
        else:  # v1: one signature per record
            signed, message = base64.b64decode(signature, validate=True), computed.encode()
        if (attrs["source"], message, signed) not in VERIFIED:
            key.verify(signed, message)
            VERIFIED.add((attrs["source"], message, signed))  # unbounded here: bound yours
    except (InvalidSignature, ValueError):
        raise Refused(f"bad signature: not signed by {attrs['source']}'s key") from None
    if not attrs["type"][len(PREFIX) :].startswith(PUBLISHES.get(attrs["source"], ("",))):
        raise Refused(f"{attrs['source']} may not publish {attrs['type']}")
    return Event(attrs, data, attrs.get("hash") or computed)


# Batch signatures already checked: each batch's records share one, so a reader verifies
# it once.  Only what verified is kept; the verdict on a record never depends on it.
VERIFIED: set[tuple[str, bytes, bytes]] = set()


def batch_root(source: str, digest: str, signature: str) -> tuple[bytes, bytes]:
    """A v2 signature's Ed25519 signature and the message it must sign: the batch's root,
    recomputed from the record's own digest and inclusion proof (RFC 9162 §2.1.3.2)."""
    index_text, size_text, signed, proof = signature[3:].split(":")
    index, size = int(index_text), int(size_text)
    if not 0 <= index < size or len(proof) % 64:
        raise ValueError("a proof that does not fit its batch")
    fn, sn = index, size - 1
    node = hashlib.sha256(b"\x00" + bytes.fromhex(digest)).digest()
    for at in range(0, len(proof), 64):
        sibling = bytes.fromhex(proof[at : at + 64])
        if sn == 0:
            raise ValueError("a proof longer than its tree is deep")
        if fn & 1 or fn == sn:
            node = hashlib.sha256(b"\x01" + sibling + node).digest()
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = hashlib.sha256(b"\x01" + node + sibling).digest()
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("a proof shorter than its tree is deep")
    message = b"damrong/event-batch/v2\x00" + source.encode() + b"\x00"
    return base64.b64decode(signed, validate=True), message + size.to_bytes(8, "big") + node


@dataclass
class Chains:
    """Check 4: each case's last applied version and hash (keep it in your database)."""

    heads: dict[str, tuple[int, str]] = field(default_factory=dict)

    def verdict(self, event: Event) -> str:
        """``applied``, ``duplicate``, or Refused if the event does not link to the chain."""
        last = self.heads.get(event.subject)
        prev = event.attrs.get("prevhash")
        if last is not None and event.version <= last[0]:
            return "duplicate"
        if event.version == 1 and prev not in (None, GENESIS):
            raise Refused("link: version 1 must follow 64 zeros")
        if last is not None and event.version > last[0] + 1:
            raise Refused(f"gap: version {event.version} after {last[0]}")
        if last is not None and prev is not None and prev != last[1]:
            raise Refused("link: prevhash is not the hash of the event before it")
        # No earlier event seen (a consumer started mid-stream): the link cannot be checked.
        self.heads[event.subject] = (event.version, event.hash)
        return "applied"


def upcast(event: Event) -> dict[str, Any]:
    """The data in its type's current schema (the one kind with an older version)."""
    data = event.data
    if event.attrs["type"] == PREFIX + "case.forwarded.v1":
        due = dt.date.fromisoformat(data["due_date"])
        day = dt.datetime.fromisoformat(event.attrs["time"]).astimezone(BANGKOK).date()
        data = {
            "actor": data["actor"],
            "note": data.get("note"),
            "agency": data["agency"],
            "agency_code": None,
            "reply_due": {"date": due.isoformat(), "days": (due - day).days},
        }
    return data


def apply(event: Event, data: dict[str, Any]) -> None:
    """Your work goes here: ``data`` is in its type's current schema.  Dispatch on
    ``event.attrs["type"]``; raise on a type you do not know (a newer contract than your
    code), so that its offset is not committed and nothing after it is skipped."""


def load_keys(text: str) -> dict[str, Ed25519PublicKey]:
    """``{"<source>": "<base64 of the 32-byte Ed25519 public key>"}``."""
    return {
        source: Ed25519PublicKey.from_public_bytes(base64.b64decode(key, validate=True))
        for source, key in json.loads(text).items()
    }


def handle(keys: dict[str, Ed25519PublicKey], chains: Chains, msg: Message) -> dict[str, Any]:
    """Verify and apply one record; what to print about it."""
    out: dict[str, Any] = {"partition": msg.partition(), "offset": msg.offset()}
    try:
        event = verify(keys, msg.headers(), msg.value())
        out.update(subject=event.subject, version=event.version, type=event.attrs["type"])
        out["verdict"] = chains.verdict(event)
        if out["verdict"] == "applied":
            apply(event, upcast(event))
    except Refused as exc:
        out.update(verdict="refused", reason=str(exc))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", default="complaints.events")
    parser.add_argument("--group", required=True, help="your consumer group id")
    parser.add_argument("--keys", required=True, help='JSON {"<source>": "<base64 key>"}')
    parser.add_argument(
        "-X", dest="settings", action="append", default=[], metavar="K=V", help="librdkafka setting"
    )
    parser.add_argument(
        "--idle-exit", type=float, default=0, help="stop after S seconds without a record"
    )
    args = parser.parse_args(argv)
    keys = load_keys(args.keys)
    conf: dict[str, Any] = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,  # commit only what was handled
    }
    conf.update(setting.split("=", 1) for setting in args.settings)
    consumer = Consumer(conf)
    last: float | None = None  # idle time counts from the group's first assignment

    def assigned(_consumer: Consumer, _partitions: list[Any]) -> None:
        nonlocal last
        last = time.monotonic()

    consumer.subscribe([args.topic], on_assign=assigned)
    chains = Chains()
    try:
        while not (args.idle_exit and last and time.monotonic() - last > args.idle_exit):
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            print(json.dumps(handle(keys, chains, msg), ensure_ascii=False), flush=True)
            consumer.commit(message=msg, asynchronous=False)
            last = time.monotonic()
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
