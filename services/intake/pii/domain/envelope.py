"""Envelope encryption of one complainant's identity.  No I/O besides the system's random
source; the store keeps what these functions return.

- Each complainant gets a fresh 256-bit data key.  Their identity (a JSON object) is
  sealed with it by AES-256-GCM, the complaint id and the complainant ref as associated
  data: a ciphertext copied onto another complaint does not open.
- The data key is stored only wrapped: AES-256-GCM under a master key, the ref and the
  master key's id as associated data (AES-GCM rather than AES-KW because it binds the
  wrapped key to its complainant).
- Erasure destroys the wrapped key.  Every copy of the ciphertext (old rows, backups of
  the complaints table) then stays unreadable, even to a holder of the master key.

Formats (bytes): wrapped key = nonce(12) || ciphertext(32) || tag(16);
sealed identity = version(1) = 0x01 || nonce(12) || ciphertext || tag(16).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.intake.pii.domain.keys import KEY_BYTES, PiiKeys

NONCE_BYTES = 12
SEALED_V1 = b"\x01"
_WRAP_AAD = b"damrong/complainant-key/v1\x00"
_SEAL_AAD = b"damrong/identity/v1\x00"


class Unreadable(Exception):
    """The ciphertext does not open: wrong or destroyed key, or altered bytes."""


@dataclass(frozen=True, slots=True)
class SealedIdentity:
    """What the store keeps of one complainant: no clear personal data."""

    complainant_ref: uuid.UUID
    key_id: str
    wrapped_key: bytes
    sealed: bytes


def _wrap_aad(ref: uuid.UUID, kid: str) -> bytes:
    return _WRAP_AAD + ref.bytes + kid.encode()


def _seal_aad(complaint_id: uuid.UUID, ref: uuid.UUID) -> bytes:
    return _SEAL_AAD + complaint_id.bytes + ref.bytes


def seal_identity(
    keys: PiiKeys, complaint_id: uuid.UUID, identity: dict[str, str]
) -> SealedIdentity:
    """Seal ``identity`` under a fresh data key for a new complainant ref."""
    ref = uuid.uuid4()
    data_key = os.urandom(KEY_BYTES)
    kid = keys.current_id
    wrap_nonce, seal_nonce = os.urandom(NONCE_BYTES), os.urandom(NONCE_BYTES)
    wrapped = wrap_nonce + AESGCM(keys.master).encrypt(wrap_nonce, data_key, _wrap_aad(ref, kid))
    sealed = (
        SEALED_V1
        + seal_nonce
        + AESGCM(data_key).encrypt(seal_nonce, orjson.dumps(identity), _seal_aad(complaint_id, ref))
    )
    return SealedIdentity(ref, kid, wrapped, sealed)


def unwrap_key(keys: PiiKeys, ref: uuid.UUID, kid: str, wrapped: bytes) -> bytes:
    """The complainant's data key; Unreadable if its master key is not configured or the
    bytes were altered."""
    master = keys.master_for(kid)
    if master is None:
        raise Unreadable(f"master key {kid} is not configured")
    try:
        return AESGCM(master).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(ref, kid)
        )
    except InvalidTag:
        raise Unreadable("the wrapped key does not open") from None


def open_identity(
    data_key: bytes, complaint_id: uuid.UUID, ref: uuid.UUID, sealed: bytes
) -> dict[str, str]:
    """The clear identity; Unreadable for a wrong key, complaint, ref or altered bytes."""
    if sealed[:1] != SEALED_V1:
        raise Unreadable("unknown sealed identity format")
    try:
        clear = AESGCM(data_key).decrypt(
            sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :], _seal_aad(complaint_id, ref)
        )
    except InvalidTag:
        raise Unreadable("the identity does not open with this key") from None
    identity: dict[str, str] = orjson.loads(clear)
    return identity


def rewrap(keys: PiiKeys, ref: uuid.UUID, kid: str, wrapped: bytes) -> tuple[str, bytes]:
    """The data key wrapped again under the current master key (for a rotation)."""
    data_key = unwrap_key(keys, ref, kid, wrapped)
    new_kid = keys.current_id
    nonce = os.urandom(NONCE_BYTES)
    return new_kid, nonce + AESGCM(keys.master).encrypt(nonce, data_key, _wrap_aad(ref, new_kid))
