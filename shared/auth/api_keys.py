"""API keys of channel systems (LINE, web form, 1567 call centre...).

Settings hold only each key's SHA-256 (hex), mapped to the channel the key files for: a
leaked configuration reveals no key.  Keys are long random strings, so a plain digest is
as good as a slow password hash here and costs microseconds per request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping

from shared.auth.principal import InvalidClaims, Principal, Role
from shared.codes import ChannelCode

PREFIX = "dmr_"  # recognisable in logs of leaked-secret scanners


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """A fresh key and its hash (the hash goes into AUTH_API_KEYS, the key to the system)."""
    key = PREFIX + secrets.token_urlsafe(32)
    return key, key_hash(key)


class ApiKeys:
    """Configured key hashes -> the channel principal each key authenticates."""

    def __init__(self, hashes: Mapping[str, str]) -> None:
        self._principals: dict[str, Principal] = {}
        for digest, channel in hashes.items():
            digest = digest.lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise InvalidClaims(f"API key hash {digest[:12]}... is not a SHA-256 hex digest")
            try:
                code = ChannelCode(channel)
            except ValueError:
                raise InvalidClaims(
                    f"API key hash {digest[:12]}...: unknown channel {channel!r}"
                ) from None
            # The subject names the key (a prefix of its hash), so events say which one filed.
            self._principals[digest] = Principal(
                f"apikey:{code.value}:{digest[:12]}", Role.channel, channel=code
            )

    def principal(self, key: str) -> Principal | None:
        return self._principals.get(key_hash(key))
