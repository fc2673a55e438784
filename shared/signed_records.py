"""Signed event records: the outbox relay signs what it publishes, every reader checks.

What a signature covers is the record's chain digest (``shared.chain.compute_hash`` of
the record as written), so the relay can sign any stored outbox row, chained or from
before chaining, and a re-feed publishes the very same bytes (Ed25519 is deterministic).

A reader takes a record as one of ours only if, in this order: it is a damrong event at
all (else ``DecodeError`` as before), its ``ce_hash`` (when it has one) is the digest of
its content, and ``ce_signature`` is the signature of that digest by the key configured
for its ``ce_source``.  Each refusal is a ``Forged`` (a ``DecodeError``, so every reader
already treats it as poison) whose message says which check failed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping

from shared.chain import Link, compute_hash
from shared.config import Settings
from shared.envelope_codec import DecodeError, link_from_record
from shared.events import INTAKE_SOURCE, STATUS_SOURCE, parse_type_name
from shared.signing import (
    SIGNATURE_HEADER,
    BadKey,
    BadSignature,
    Signer,
    Verifier,
    public_key_of,
)

Headers = list[tuple[str, bytes]]


class SigningNotConfigured(Exception):
    """Missing or inconsistent key settings: the service refuses to start."""


class Forged(DecodeError):
    """A record that claims to be an event of ours and is not: dead-letter it."""


class NotOurs(ValueError):
    """An outbox row this relay may not sign (another source's event, or no event)."""


def signature_of(headers: Headers | None) -> bytes | None:
    for name, value in headers or ():
        if name.lower() == SIGNATURE_HEADER:
            return value
    return None


class RecordSigner:
    """Signs the records of one source (the service's own)."""

    def __init__(self, source: str, private_key: str) -> None:
        self.source = source
        self._signer = Signer(private_key)

    def sign(self, headers: Headers, value: bytes | None) -> Headers:
        """``headers`` with ``ce_signature`` set (replaced if present).

        A chained event already carries its digest (``ce_hash``, computed when it was
        sealed): that is what gets signed, without decoding the record again.  Should a
        stored row's content no longer match it, every reader refuses the record ("content
        does not match its hash"), so trusting it here weakens nothing."""
        attrs = {k.lower(): v for k, v in headers}
        digest = attrs.get("ce_hash", b"").decode("ascii", "replace")
        if len(digest) == 64 and attrs.get("ce_source") == self.source.encode():
            signature = self._signer.sign(digest)
        else:
            try:
                link = link_from_record(headers, value)
            except DecodeError as exc:
                raise NotOurs(f"not an event: {exc}") from None
            if link.source != self.source:
                raise NotOurs(f"an event of {link.source}, not of {self.source}")
            signature = self._signer.sign(compute_hash(link))
        return [(k, v) for k, v in headers if k.lower() != SIGNATURE_HEADER] + [
            (SIGNATURE_HEADER, signature)
        ]


class RecordVerifier:
    """Checks records against the configured public keys of every source."""

    def __init__(self, public_keys: Mapping[str, str]) -> None:
        self._verifier = Verifier(public_keys)

    def check(self, headers: Headers | None, value: bytes | None) -> Link:
        """The record as written, if it is a genuine event; DecodeError (or Forged)."""
        link = link_from_record(headers, value)
        self.check_link(link, signature_of(headers))
        return link

    def check_link(self, link: Link, signature: bytes | None) -> None:
        """Forged unless ``signature`` is ``link``'s source's, over ``link`` as it is."""
        try:
            digest = compute_hash(link)
        except (TypeError, ValueError) as exc:  # a naive time, say: not one of ours
            raise DecodeError(f"{type(exc).__name__}: {exc}") from None
        if link.hash is not None and link.hash != digest:
            raise Forged("content does not match its hash")
        try:
            self._verifier.verify(link.source, digest, signature)
        except BadSignature as exc:
            raise Forged(f"bad signature: {exc}") from None
        kind, _ = parse_type_name(link.type)  # link_from_record checked it parses
        if not may_publish(link.source, kind):
            raise Forged(f"{link.source} may not publish {kind} events")


# What each service publishes: a valid key of one service must not let it speak for the
# other (intake's key signing a case closure, say).  Sources not listed here (test
# publishers) are bound only by their key.
PUBLISHES: dict[str, Callable[[str], bool]] = {
    INTAKE_SOURCE: lambda kind: kind == "complaint.filed",
    STATUS_SOURCE: lambda kind: kind.startswith("case."),
}


def may_publish(source: str, kind: str) -> bool:
    rule = PUBLISHES.get(source)
    return rule is None or rule(kind)


# -- from the settings -----------------------------------------------------------------


def verifier_from_settings(settings: Settings) -> RecordVerifier:
    """The verifier every consumer and reader of the topic uses."""
    if not settings.event_public_keys:
        raise SigningNotConfigured(
            "EVENT_PUBLIC_KEYS is not set: every reader of the event topic needs the "
            'public key of each publishing service, as JSON {"<source>": "<base64 key>"}'
        )
    try:
        return RecordVerifier(settings.event_public_keys)
    except BadKey as exc:
        raise SigningNotConfigured(f"EVENT_PUBLIC_KEYS: {exc}") from None


def signer_from_settings(settings: Settings, source: str) -> RecordSigner:
    """The signer of the service publishing as ``source``; its key must be the private
    half of the public key configured for ``source`` (a swapped key would otherwise only
    show when every consumer dead-letters the service's events)."""
    key = settings.event_signing_key.get_secret_value() if settings.event_signing_key else ""
    if not key:
        raise SigningNotConfigured(
            f"EVENT_SIGNING_KEY is not set: {source} signs every event it publishes "
            "(base64 of a raw Ed25519 private key; `damrong signing-key` makes one)"
        )
    try:
        public = _raw(public_key_of(key))
    except BadKey as exc:
        raise SigningNotConfigured(f"EVENT_SIGNING_KEY: {exc}") from None
    configured = settings.event_public_keys.get(source)
    if configured is None:
        raise SigningNotConfigured(
            f"EVENT_PUBLIC_KEYS has no key for {source}, the source this service publishes as"
        )
    if _raw(configured) != public:
        raise SigningNotConfigured(
            f"EVENT_SIGNING_KEY is not the private key of {source}'s "
            "public key in EVENT_PUBLIC_KEYS"
        )
    return RecordSigner(source, key)


def _raw(key: str) -> bytes | None:
    try:
        return base64.b64decode(key.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
