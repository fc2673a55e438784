"""OAuth2 bearer JWTs: verify (issuer, audience, expiry required and checked) and issue.

HS256 with a shared secret (the embedded default and development tokens), or a configured
public key (RS256, ES256 or EdDSA, the algorithm fixed by the key's type) for tokens from
an identity provider.  The accepted algorithms come from the key, never from the token, so
a token cannot pick "none" or sign with the public key as an HMAC secret.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from shared.auth.principal import InvalidClaims, Principal, principal_from_claims

MIN_SECRET_BYTES = 32
LEEWAY_S = 10  # clock skew tolerated on exp/iat/nbf
CACHE_MAX = 4096  # verified tokens remembered (the hot path sees the same few repeatedly)


class AuthNotConfigured(RuntimeError):
    """No usable key material: a service refuses to start rather than run open."""


class InvalidToken(Exception):
    """Missing, malformed, expired, foreign or forged: answered 401."""


def new_secret() -> str:
    """A fresh HS256 secret (64 bytes of randomness, URL-safe text)."""
    return secrets.token_urlsafe(64)


def _public_key_algorithms(pem: str) -> tuple[Any, list[str]]:
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise AuthNotConfigured(
            f"the configured public key is not a PEM public key: {exc}"
        ) from exc
    if isinstance(key, rsa.RSAPublicKey):
        return key, ["RS256"]
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key, ["EdDSA"]
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return key, ["ES256"]
    raise AuthNotConfigured("the public key must be RSA, Ed25519 or EC P-256")


class TokenVerifier:
    """Verifies bearer tokens into principals; remembers verified ones until they expire."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        secret: str | None = None,
        public_key_pem: str | None = None,
    ) -> None:
        if bool(secret) == bool(public_key_pem):
            raise AuthNotConfigured(
                "configure exactly one token key: AUTH_JWT_SECRET (HS256, at least "
                f"{MIN_SECRET_BYTES} bytes) or AUTH_PUBLIC_KEY / AUTH_PUBLIC_KEY_FILE (PEM: "
                "RS256, ES256 or EdDSA); `damrong up` generates a secret for the embedded "
                "platform"
            )
        if not issuer or not audience:
            raise AuthNotConfigured("AUTH_ISSUER and AUTH_AUDIENCE must not be empty")
        if secret:
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise AuthNotConfigured(
                    f"AUTH_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
                )
            self._key: Any = secret
            self._algorithms = ["HS256"]
        else:
            assert public_key_pem is not None
            self._key, self._algorithms = _public_key_algorithms(public_key_pem)
        self.issuer, self.audience = issuer, audience
        self._cache: dict[str, tuple[Principal, float]] = {}

    def verify(self, token: str) -> Principal:
        """The principal of ``token`` now; InvalidToken otherwise."""
        hit = self._cache.get(token)
        if hit is not None:
            principal, exp = hit
            if time.time() < exp + LEEWAY_S:
                return principal
            del self._cache[token]
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
            principal = principal_from_claims(claims)
        except (jwt.InvalidTokenError, InvalidClaims) as exc:
            raise InvalidToken(str(exc)) from None
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[token] = (principal, float(claims["exp"]))
        return principal


def issue_token(
    principal: Principal,
    *,
    secret: str,
    issuer: str,
    audience: str,
    ttl: dt.timedelta,
    now: dt.datetime,
) -> str:
    """An HS256 token for ``principal`` valid from ``now`` for ``ttl`` (development and
    the embedded default; production tokens come from the identity provider)."""
    claims = {
        **principal.claims(),
        "iss": issuer,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")
