"""From request headers to a principal: a bearer JWT (people) or an API key (channel
systems), configured from the settings.  No web framework here; ``deps`` adapts it."""

from __future__ import annotations

from shared.auth.api_keys import ApiKeys
from shared.auth.principal import InvalidClaims, Principal
from shared.auth.tokens import AuthNotConfigured, InvalidToken, TokenVerifier
from shared.config import Settings


class Unauthenticated(Exception):
    """No usable credential (401).  ``invalid`` tells a bad credential from a missing one."""

    def __init__(self, reason: str, *, invalid: bool) -> None:
        super().__init__(reason)
        self.invalid = invalid


class Authenticator:
    def __init__(self, verifier: TokenVerifier, api_keys: ApiKeys) -> None:
        self.verifier, self.api_keys = verifier, api_keys

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        """Raises AuthNotConfigured when no (or conflicting, or unusable) key material is set."""
        pem = settings.auth_public_key
        if settings.auth_public_key_file is not None:
            if pem:
                raise AuthNotConfigured("set AUTH_PUBLIC_KEY or AUTH_PUBLIC_KEY_FILE, not both")
            try:
                pem = settings.auth_public_key_file.read_text(encoding="ascii")
            except OSError as exc:
                raise AuthNotConfigured(f"cannot read AUTH_PUBLIC_KEY_FILE: {exc}") from None
        secret = settings.auth_jwt_secret
        verifier = TokenVerifier(
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            secret=None if secret is None else secret.get_secret_value(),
            public_key_pem=pem,
        )
        try:
            api_keys = ApiKeys(settings.auth_api_keys)
        except InvalidClaims as exc:
            raise AuthNotConfigured(f"AUTH_API_KEYS: {exc}") from None
        return cls(verifier, api_keys)

    def authenticate(self, authorization: str | None, api_key: str | None) -> Principal:
        """The caller of a request with these ``Authorization`` / ``X-API-Key`` headers."""
        if authorization is not None and api_key is not None:
            raise Unauthenticated("send a bearer token or an API key, not both", invalid=True)
        if api_key is not None:
            principal = self.api_keys.principal(api_key)
            if principal is None:
                raise Unauthenticated("unknown API key", invalid=True)
            return principal
        if authorization is None:
            raise Unauthenticated(
                "credentials required: Authorization: Bearer <token>, "
                "or X-API-Key for channel systems",
                invalid=False,
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'", invalid=True)
        try:
            return self.verifier.verify(token.strip())
        except InvalidToken as exc:
            raise Unauthenticated(f"invalid token: {exc}", invalid=True) from None
