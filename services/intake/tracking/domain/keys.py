"""What proves a caller may track a case: the last four phone digits, or a secret.

Stored only as keyed hashes (HMAC-SHA256 under intake's PII hash key), each bound to its
complaint id and to what it hashes, so a hash neither repeats across complaints nor can
be tried against another case's column.  Four digits are only 10,000 values: without the
key nobody can test them against a stolen table, and on line guessing is rate-limited.

``matches`` compares in constant time and does the same work whether or not the case
exists (``None`` stored hash is compared against a dummy), so a wrong answer and an
unknown number cannot be told apart by the time they take.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from typing import Literal

Proof = Literal["phone", "secret"]

# 16 characters of an alphabet without look-alikes (no 0/O, 1/I/L): ~80 bits, read aloud
# or typed from a paper receipt; grouped by four for the eye.
SECRET_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SECRET_LENGTH = 16
_SECRET_RE = re.compile(rf"[{SECRET_ALPHABET}]{{{SECRET_LENGTH}}}")
_LAST4_RE = re.compile(r"[0-9]{4}")
# Bigger than any valid input, smaller than anything worth hashing: a cap before work.
MAX_PROOF_CHARS = 64
_DUMMY = bytes(32)


def secret_for(hash_key: bytes, complaint_id: uuid.UUID) -> str:
    """The tracking secret of an anonymous complaint, grouped ``XXXX-XXXX-XXXX-XXXX``.

    Derived from the complaint id under the PII hash key rather than drawn at random, so a
    replayed filing (the same idempotency key, e.g. twenty retries racing) answers with the
    same secret as the first answer: an idempotent filing returns the same body every time.
    Only intake, which holds the key, can derive it."""
    digest = hmac.new(
        hash_key, b"damrong tracking secret\x00" + complaint_id.bytes, hashlib.sha256
    ).digest()
    # 16 draws from 31 symbols, each from two bytes: the bias of the modulo is < 0.05%.
    raw = "".join(
        SECRET_ALPHABET[int.from_bytes(digest[2 * i : 2 * i + 2], "big") % len(SECRET_ALPHABET)]
        for i in range(SECRET_LENGTH)
    )
    return "-".join(raw[i : i + 4] for i in range(0, SECRET_LENGTH, 4))


def normalise_secret(text: str) -> str | None:
    """The secret's canonical form (upper case, no dashes or spaces), or None if ``text``
    cannot be a secret (then it matches nothing)."""
    if len(text) > MAX_PROOF_CHARS:
        return None
    canonical = text.replace("-", "").replace(" ", "").upper()
    return canonical if _SECRET_RE.fullmatch(canonical) else None


def normalise_last4(text: str) -> str | None:
    """Four ASCII digits, or None (then it matches nothing)."""
    return text if len(text) == 4 and _LAST4_RE.fullmatch(text) else None


def last4_of(e164: str) -> str | None:
    """The last four digits of a normalised phone number (None if it has fewer)."""
    tail = e164[-4:]
    return tail if _LAST4_RE.fullmatch(tail) else None


def proof_hash(hash_key: bytes, complaint_id: uuid.UUID, proof: Proof, value: str) -> bytes:
    """The keyed hash stored for ``value`` (already normalised) of ``complaint_id``."""
    message = b"".join((b"damrong tracking\x00", proof.encode(), b"\x00", complaint_id.bytes))
    message += value.encode()
    return hmac.new(hash_key, message, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class TrackingKeys:
    """What a filing stores to be tracked (``phone_hash`` or ``secret_hash``, or neither:
    a named complainant without a phone), and the secret its receipt shows."""

    secret: str | None = None
    phone_hash: bytes | None = None
    secret_hash: bytes | None = None


def keys_of(
    hash_key: bytes, complaint_id: uuid.UUID, *, anonymous: bool, phone: str | None
) -> TrackingKeys:
    """A filing's keys: an anonymous complainant proves itself with the secret, a named one
    with its phone's last four digits (none without a phone)."""
    if anonymous:
        secret = secret_for(hash_key, complaint_id)
        canonical = normalise_secret(secret)
        assert canonical is not None
        return TrackingKeys(
            secret, secret_hash=proof_hash(hash_key, complaint_id, "secret", canonical)
        )
    if phone is not None and (last4 := last4_of(phone)) is not None:
        return TrackingKeys(phone_hash=proof_hash(hash_key, complaint_id, "phone", last4))
    return TrackingKeys()


def matches(
    hash_key: bytes,
    complaint_id: uuid.UUID | None,
    stored: bytes | None,
    proof: Proof,
    given: str,
) -> bool:
    """Whether ``given`` (raw caller input) is the proof whose hash is ``stored``.

    Always hashes and compares once, whatever is missing (unknown case: ``complaint_id``
    None; no stored hash; malformed input), so every "no" costs the same."""
    value = normalise_last4(given) if proof == "phone" else normalise_secret(given)
    expected = stored if stored is not None else _DUMMY
    computed = proof_hash(hash_key, complaint_id or uuid.UUID(int=0), proof, value or "")
    same = hmac.compare_digest(computed, expected)
    return same and stored is not None and complaint_id is not None and value is not None


# ``<district 4>-<fiscal year BE 4>-<serial, 7 or more>`` (``domain.filing.tracking_no``).
_TRACKING_NO_RE = re.compile(r"[0-9]{4}-[0-9]{4}-[0-9]{7,12}")


def well_formed_tracking_no(text: str) -> bool:
    """Whether ``text`` has the shape of a tracking number (ASCII digits only)."""
    return len(text) <= 22 and _TRACKING_NO_RE.fullmatch(text) is not None
