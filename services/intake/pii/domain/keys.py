"""Intake's secrets for personal data, from the settings: the master keys that wrap every
complainant's data key, and the key of the request hash.

Both are base64 text of at least 32 random bytes.  A master key is named by a short id
derived from it, stored beside each key it wraps, so that after a rotation (a new
``PII_MASTER_KEY``, the old one moved to ``PII_RETIRED_MASTER_KEYS``) keys wrapped by
either still open.  The hash key is never rotated or erased: it names requests and import
rows for ever (a new one would make every re-import file its rows again).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only read, never built here: keys stay free of the settings loader
    from shared.config import Settings

KEY_BYTES = 32


class PiiNotConfigured(RuntimeError):
    """No usable key material: intake refuses to start rather than store personal data
    in clear or under a key nobody kept."""


def key_id(master: bytes) -> str:
    """A short public name of a master key (a one-way digest: it reveals nothing of it)."""
    return "mk1-" + hashlib.sha256(b"damrong pii key id\x00" + master).hexdigest()[:16]


def decode_key(text: str, name: str, *, exact: bool) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise PiiNotConfigured(f"{name} is not base64 text") from None
    if (len(raw) != KEY_BYTES) if exact else (len(raw) < KEY_BYTES):
        need = "exactly" if exact else "at least"
        raise PiiNotConfigured(f"{name} must decode to {need} {KEY_BYTES} bytes, not {len(raw)}")
    return raw


@dataclass(frozen=True, slots=True)
class PiiKeys:
    """The keys in force.  Plain bytes, so that it pickles to import worker processes."""

    master: bytes
    hash_key: bytes
    current_id: str
    retired: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def of(cls, master: bytes, hash_key: bytes, retired: tuple[bytes, ...] = ()) -> PiiKeys:
        return cls(master, hash_key, key_id(master), {key_id(k): k for k in retired})

    def master_for(self, kid: str) -> bytes | None:
        """The master key named ``kid`` (current or retired); None if none is configured."""
        return self.master if kid == self.current_id else self.retired.get(kid)

    @classmethod
    def from_settings(cls, settings: Settings) -> PiiKeys:
        """Raises PiiNotConfigured when a key is missing or unusable."""
        if settings.pii_master_key is None or settings.pii_hash_key is None:
            raise PiiNotConfigured(
                "set PII_MASTER_KEY and PII_HASH_KEY (base64 of 32 random bytes each, e.g. "
                "`openssl rand -base64 32`); `damrong up` generates both for the embedded "
                "platform"
            )
        master = decode_key(
            settings.pii_master_key.get_secret_value(), "PII_MASTER_KEY", exact=True
        )
        hash_key = decode_key(settings.pii_hash_key.get_secret_value(), "PII_HASH_KEY", exact=False)
        retired = tuple(
            decode_key(secret.get_secret_value(), f"PII_RETIRED_MASTER_KEYS[{i}]", exact=True)
            for i, secret in enumerate(settings.pii_retired_master_keys)
        )
        return cls.of(master, hash_key, retired)
