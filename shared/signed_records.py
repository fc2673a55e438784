"""Signed event records: the outbox relay signs what it publishes, every reader checks.

What a signature covers is each record's chain digest (``shared.chain.compute_hash`` of
the record as written), so the relay can sign any stored outbox row, chained or from
before chaining.

Two formats of ``ce_signature``, told apart by their first bytes:

- **v2, batch signatures** (what relays write): the relay signs one Merkle root
  (``shared.merkle``, RFC 9162) over the digests of the batch it publishes, and each
  record carries ``v2:<index>:<size>:<signature>:<proof>``: its leaf's position, the
  batch's size, the Ed25519 signature (base64) of the batch's root (bound to the source
  and the size, under a domain of its own) and its inclusion proof (the sibling hashes,
  bottom-up, in lowercase hex like ``ce_hash``: a reader decodes only the few it needs).
  A reader holding one record recomputes the root from the record's own digest and
  checks the signature, as before; a reader of many records checks each
  root's signature once and keeps the roots it has verified, so a record costs a few
  SHA-256 blocks rather than an Ed25519 verification (~55 µs here).
- **v1, one signature per record** (base64 of the Ed25519 signature of the digest's hex
  text): what relays wrote before v2, still on the topic and still read.

A reader takes a record as one of ours only if, in this order: it is a damrong event at
all (else ``DecodeError`` as before), its ``ce_hash`` (when it has one) is the digest of
its content, and ``ce_signature`` proves that digest was signed by the key configured for
its ``ce_source``.  Each refusal is a ``Forged`` (a ``DecodeError``, so every reader
already treats it as poison) whose message says which check failed.  The verdict depends
on the record alone, never on which records a reader saw before: kept roots only spare
repeating a verification that succeeded.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from shared import merkle
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

BATCH_V2 = b"v2:"
# The signed message names what it is, so a batch signature can never pass for a v1
# record signature (whose message is a 64-character hex digest) or anything else signed
# with the same key.
_BATCH_DOMAIN = b"damrong/event-batch/v2\x00"
MAX_BATCH = 1 << 20  # far above any relay batch; bounds what a reader will parse
# Verified roots a reader keeps: a consumer's fetch spans a few relay batches, a rebuild
# reads them in order, so a few thousand cover both with room to spare (~100 bytes each).
ROOTS_KEPT = 4096


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


def batch_message(source: str, size: int, root: bytes) -> bytes:
    """What a v2 signature signs: a batch of ``size`` records of ``source`` with ``root``."""
    return _BATCH_DOMAIN + source.encode() + b"\x00" + size.to_bytes(8, "big") + root


@dataclass(frozen=True, slots=True)
class BatchSignature:
    """A v2 ``ce_signature``: one record's place in a signed batch."""

    index: int
    size: int
    signature: bytes  # raw Ed25519, 64 bytes, over batch_message(source, size, root)
    proof: bytes  # the inclusion proof's sibling hashes, 32 bytes each, bottom-up

    def header(self) -> bytes:
        return b"%s%d:%d:%s:%s" % (
            BATCH_V2,
            self.index,
            self.size,
            base64.b64encode(self.signature),
            self.proof.hex().encode("ascii"),
        )

    @classmethod
    def parse(cls, value: bytes) -> BatchSignature:
        """The header's fields; ValueError unless it is exactly as ``header`` writes it
        (one record has one spelling: no leading zeros, no padding tricks)."""
        index, size, signature, proof = value[len(BATCH_V2) :].split(b":")
        parsed = cls(
            _count(index),
            _count(size),
            base64.b64decode(signature, validate=True),
            bytes.fromhex(proof.decode("ascii")),
        )
        if (
            not 0 < parsed.size <= MAX_BATCH
            or len(parsed.signature) != 64
            or len(parsed.proof) % merkle.HASH_BYTES
            or parsed.header() != value
        ):
            raise ValueError("not a v2 batch signature")
        return parsed


def _is_count(text: bytes) -> bool:
    """A decimal count as ``header`` writes it: digits, no sign, no leading zero."""
    return text.isdigit() and (text[0] != 0x30 or len(text) == 1)


def _count(text: bytes) -> int:
    if not _is_count(text):
        raise ValueError("not a count")
    return int(text)


class RecordSigner:
    """Signs the records of one source (the service's own), a published batch at a time."""

    def __init__(self, source: str, private_key: str) -> None:
        self.source = source
        self._signer = Signer(private_key)

    def digest(self, headers: Headers, value: bytes | None) -> str:
        """The record's chain digest (hex); NotOurs if it is no event of this source.

        A chained event already carries its digest (``ce_hash``, computed when it was
        sealed): that is what gets signed, without decoding the record again.  Should a
        stored row's content no longer match it, every reader refuses the record ("content
        does not match its hash"), so trusting it here weakens nothing."""
        attrs = {k.lower(): v for k, v in headers}
        digest = attrs.get("ce_hash", b"").decode("ascii", "replace")
        if _is_hex_digest(digest) and attrs.get("ce_source") == self.source.encode():
            return digest
        try:
            link = link_from_record(headers, value)
        except DecodeError as exc:
            raise NotOurs(f"not an event: {exc}") from None
        if link.source != self.source:
            raise NotOurs(f"an event of {link.source}, not of {self.source}")
        return compute_hash(link)

    def sign_digests(self, digests: Sequence[str]) -> list[bytes]:
        """The ``ce_signature`` of each of a batch's records, given their digests: one
        Ed25519 signature over the batch's Merkle root, and each record's proof."""
        root, proofs = merkle.tree([bytes.fromhex(d) for d in digests])
        size = len(digests)
        signature = self._signer.sign_message(batch_message(self.source, size, root))
        return [
            BatchSignature(i, size, signature, b"".join(proof)).header()
            for i, proof in enumerate(proofs)
        ]

    def sign_batch(self, records: Sequence[tuple[Headers, bytes | None]]) -> list[Headers]:
        """Each record's headers with its ``ce_signature`` (NotOurs if any is not ours)."""
        digests = [self.digest(headers, value) for headers, value in records]
        return [
            with_signature(headers, signature)
            for (headers, _), signature in zip(records, self.sign_digests(digests), strict=True)
        ]

    def sign(self, headers: Headers, value: bytes | None) -> Headers:
        """One record signed as a batch of its own (what tests and tools publish)."""
        return self.sign_batch([(headers, value)])[0]


def with_signature(headers: Headers, signature: bytes) -> Headers:
    """``headers`` with ``ce_signature`` set to ``signature`` (replaced if present)."""
    return [(k, v) for k, v in headers if k.lower() != SIGNATURE_HEADER] + [
        (SIGNATURE_HEADER, signature)
    ]


def _is_hex_digest(text: str) -> bool:
    return _HEX_DIGEST.fullmatch(text) is not None


# A SHA-256 digest as ce_hash spells it (the relay asks of every record it publishes; a
# regular expression answers in a tenth of the time of a test per character).
_HEX_DIGEST = re.compile("[0-9a-f]{64}")


class RecordVerifier:
    """Checks records against the configured public keys of every source."""

    def __init__(self, public_keys: Mapping[str, str], *, roots_kept: int = ROOTS_KEPT) -> None:
        self._verifier = Verifier(public_keys)
        # (source, size, root, signature text) of batches whose signature was verified,
        # oldest first: the first verified is the first forgotten.
        self._roots: dict[tuple[str, int, bytes, bytes], None] = {}
        self._roots_kept = roots_kept
        self._walks = merkle.ProofMemo()

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
            if signature is not None and signature.startswith(BATCH_V2):
                self._check_batch(link.source, digest, signature)
            else:
                self._verifier.verify(link.source, digest, signature)
        except BadSignature as exc:
            raise Forged(f"bad signature: {exc}") from None
        if not _may_publish_type(link.source, link.type):
            kind, _ = parse_type_name(link.type)
            raise Forged(f"{link.source} may not publish {kind} events")

    def _check_batch(self, source: str, digest: str, header: bytes) -> None:
        # Parsed by hand rather than by BatchSignature.parse: this runs for every record
        # read, and the batch's signature is decoded only when its root is not yet kept.
        fields = header[len(BATCH_V2) :].split(b":")
        if len(fields) != 4 or not _is_count(fields[0]) or not _is_count(fields[1]):
            raise BadSignature("malformed v2 batch signature")
        index_text, size_text, signature_text, proof_text = fields
        index, size = int(index_text), int(size_text)
        if size > MAX_BATCH:
            raise BadSignature("malformed v2 batch signature")
        leaf = merkle.leaf_hash(bytes.fromhex(digest))
        try:
            root = self._walks.root(leaf, index, size, proof_text)
        except merkle.BadProof as exc:
            raise BadSignature(f"inclusion proof: {exc}") from None
        key = (source, size, root, signature_text)
        if key in self._roots:
            return
        try:
            signature = base64.b64decode(signature_text, validate=True)
        except (ValueError, binascii.Error):
            raise BadSignature("malformed v2 batch signature") from None
        if base64.b64encode(signature) != signature_text:  # one spelling per signature
            raise BadSignature("malformed v2 batch signature")
        self._verifier.verify_message(source, batch_message(source, size, root), signature)
        self._roots[key] = None
        if len(self._roots) > self._roots_kept:
            del self._roots[next(iter(self._roots))]


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


@functools.lru_cache(maxsize=256)
def _may_publish_type(source: str, ce_type: str) -> bool:
    # Asked for every record read, about a handful of (source, type) pairs.
    kind, _ = parse_type_name(ce_type)  # link_from_record checked it parses
    return may_publish(source, kind)


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
