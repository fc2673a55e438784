"""What the LINE channel keeps of a person, and how: no LINE userId in clear.

- A conversation is found by a keyed hash of the userId (HMAC-SHA-256 under intake's
  PII hash key), never by the id itself.
- What must be read back (the userId to push to, the stored event, the draft, the
  replies) is sealed with AES-256-GCM under the PII master key, bound by its associated
  data to its purpose and its row, so that sealed bytes copied elsewhere do not open.

Format: version(1) = 0x01 || nonce(12) || ciphertext || tag(16); the master key's id is
stored beside it, so that a key rotation (a retired key) still opens older rows.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.intake.pii.domain.envelope import Unreadable
from services.intake.pii.domain.keys import PiiKeys

NONCE_BYTES = 12
SEALED_V1 = b"\x01"
_USER_HASH = b"damrong/line-user/v1\x00"
_AAD = b"damrong/line/v1\x00"


def user_hash(keys: PiiKeys, user_id: str) -> bytes:
    """The key of a LINE user's conversation: reveals nothing of the userId."""
    return hmac.new(keys.hash_key, _USER_HASH + user_id.encode(), hashlib.sha256).digest()


def _aad(purpose: str, row: bytes) -> bytes:
    return _AAD + purpose.encode() + b"\x00" + row


def seal(keys: PiiKeys, purpose: str, row: bytes, clear: bytes) -> tuple[str, bytes]:
    """(master key id, sealed bytes) of ``clear`` for ``purpose`` of the row named ``row``."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keys.master).encrypt(nonce, clear, _aad(purpose, row))
    return keys.current_id, SEALED_V1 + nonce + sealed


def unseal(keys: PiiKeys, kid: str, purpose: str, row: bytes, sealed: bytes) -> bytes:
    """The clear bytes; Unreadable for an unknown key, another purpose or row, or altered
    bytes."""
    master = keys.master_for(kid)
    if master is None:
        raise Unreadable(f"master key {kid} is not configured")
    if sealed[:1] != SEALED_V1:
        raise Unreadable("unknown sealed format")
    try:
        return AESGCM(master).decrypt(
            sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :], _aad(purpose, row)
        )
    except InvalidTag:
        raise Unreadable("the sealed bytes do not open") from None
