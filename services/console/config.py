"""The console's settings (environment, validated at start-up).

The console has no database and no broker: it needs the three services' addresses, the
key that encrypts its session cookies, and how users sign in (one-time links signed with
the platform's token secret, OpenID Connect, or both).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    host: str = "127.0.0.1"
    console_port: int = 8004
    # Where users reach the console (links, the OIDC redirect URI, the Secure cookie flag).
    console_public_url: str = "http://127.0.0.1:8004"
    intake_url: str = "http://127.0.0.1:8001"
    status_url: str = "http://127.0.0.1:8002"
    kpi_url: str = "http://127.0.0.1:8003"
    # Fernet key (urlsafe base64 of 32 bytes) that encrypts and signs session cookies;
    # `damrong up` generates one in the data dir.  Without it the console refuses to start.
    console_session_key: SecretStr | None = None
    console_session_hours: float = Field(default=8.0, gt=0, le=24)
    # Where used sign-in link ids are kept so that each link works once, across restarts.
    console_state_dir: Path | None = None
    # Links and the tokens minted for link sessions use the services' HS256 secret.
    auth_jwt_secret: SecretStr | None = None
    auth_issuer: str = "damrong"
    auth_audience: str = "damrong"
    # --- OpenID Connect sign-in (services.console.auth.oidc); off while OIDC_ISSUER is unset.
    # The redirect URI is CONSOLE_PUBLIC_URL + /auth/oidc/callback.  No secret: a public
    # client (PKCE alone).  OIDC_SERVICE_TOKEN: which of the provider's tokens the console
    # sends to the services ("access_token", a JWT with damrong's claims, or "id_token" for
    # a provider whose access tokens are opaque); the services verify it with the
    # provider's key (AUTH_PUBLIC_KEY, AUTH_ISSUER = the issuer, AUTH_AUDIENCE).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid profile email"
    oidc_service_token: Literal["access_token", "id_token"] = "access_token"
    # Which claims (ID token, then userinfo) give the principal, and the provider's role
    # values as damrong roles (JSON object, e.g. {"dc-officer": "district_officer"}).
    oidc_claim_role: str = "role"
    oidc_claim_district: str = "district_code"
    oidc_claim_province: str = "province_code"
    oidc_claim_grants: str = "grants"
    oidc_role_map: dict[str, str] = Field(default_factory=dict)
    # --- end of OpenID Connect
    # Calls to the services: a page waits this long at most for each.
    backend_timeout_s: float = Field(default=15.0, gt=0)
    log_level: str = "info"

    @property
    def secure_cookies(self) -> bool:
        return self.console_public_url.startswith("https://")


@lru_cache
def get_settings() -> ConsoleSettings:
    return ConsoleSettings()
