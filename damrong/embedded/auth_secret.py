"""The embedded platform's token secret: generated once per data dir, kept there (0600).

`damrong up` passes it to the services and signs the admin token it prints with it;
`damrong token` signs development tokens with the same one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from damrong.embedded.secret_files import load_or_create
from shared.auth.principal import Principal, Role
from shared.auth.tokens import issue_token, new_secret

SECRET_FILE = "auth-secret"


class NoSecret(RuntimeError):
    pass


def secret_path(data_dir: Path) -> Path:
    return data_dir / SECRET_FILE


def load_or_create_secret(data_dir: Path) -> str:
    """The data dir's secret, created (readable by its owner only) on first use."""
    return load_or_create(secret_path(data_dir), new_secret)


def configured_secret(env: Mapping[str, str], data_dir: Path, *, create: bool) -> str | None:
    """The HS256 secret in force: AUTH_JWT_SECRET, else none when a public key is
    configured (tokens then come from the identity provider), else the data dir's."""
    if env.get("AUTH_JWT_SECRET"):
        return env["AUTH_JWT_SECRET"]
    if env.get("AUTH_PUBLIC_KEY") or env.get("AUTH_PUBLIC_KEY_FILE"):
        return None
    if create:
        return load_or_create_secret(data_dir)
    if not secret_path(data_dir).exists():
        raise NoSecret(
            f"no token secret: set AUTH_JWT_SECRET, or run `damrong up` once "
            f"with this data dir ({data_dir}) to generate one"
        )
    return secret_path(data_dir).read_text(encoding="ascii").strip()


def sign(principal: Principal, secret: str, env: Mapping[str, str], ttl: dt.timedelta) -> str:
    """A token for ``principal`` with the issuer and audience the services expect."""
    return issue_token(
        principal,
        secret=secret,
        issuer=env.get("AUTH_ISSUER") or "damrong",
        audience=env.get("AUTH_AUDIENCE") or "damrong",
        ttl=ttl,
        now=dt.datetime.now(dt.UTC),
    )


def admin_principal() -> Principal:
    return Principal("admin", Role.admin)
