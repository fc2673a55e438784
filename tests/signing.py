"""Event signing keys for tests: a fixed key for each source a test record may claim, and
records signed the way a service's outbox relay signs them."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from damrong.embedded.event_keys import PUBLISHERS
from shared.envelope_codec import to_record
from shared.events import Envelope
from shared.signed_records import Headers, RecordSigner, with_signature
from shared.signing import Signer, public_key_of

# The services' own sources, and those hand-built test events claim.
SOURCES = (
    *PUBLISHERS.values(),
    "/test",
    "/damrong/test",
    "test/intake",
    "test/status",
    "bench/intake",
    "bench/status",
)


def _private(source: str) -> str:
    # Any 32 bytes are an Ed25519 private key: derived from the name, stable across runs.
    return base64.b64encode(
        hashlib.sha256(b"damrong test key " + source.encode()).digest()
    ).decode()


PRIVATE_KEYS = {source: _private(source) for source in SOURCES}
PUBLIC_KEYS = {source: public_key_of(key) for source, key in PRIVATE_KEYS.items()}
# What every test service and consumer gets.
SETTINGS: dict[str, Any] = {"event_public_keys": PUBLIC_KEYS}


def publisher_settings(service: str) -> dict[str, Any]:
    """SETTINGS plus the signing key of ``service`` if it publishes (intake, status)."""
    source = PUBLISHERS.get(service)
    return SETTINGS if source is None else {**SETTINGS, "event_signing_key": PRIVATE_KEYS[source]}


def signer(source: str) -> RecordSigner:
    return RecordSigner(source, PRIVATE_KEYS[source])


def sign(headers: Headers, value: bytes) -> Headers:
    """``headers`` signed with the key of the source the record claims."""
    source = next(v.decode() for k, v in headers if k == "ce_source")
    return signer(source).sign(headers, value)


def signed_record(env: Envelope) -> tuple[bytes, Headers, bytes]:
    """``to_record(env)``, signed by ``env.source``'s key, as a relay would publish it."""
    key, headers, value = to_record(env)
    return key, sign(headers, value), value


def sign_v1(headers: Headers, value: bytes) -> Headers:
    """``headers`` signed as relays signed before batch signatures (v1): the Ed25519
    signature of the record's own digest, what older records on a topic carry."""
    source = next(v.decode() for k, v in headers if k == "ce_source")
    digest = signer(source).digest(headers, value)
    return with_signature(headers, Signer(PRIVATE_KEYS[source]).sign(digest))
