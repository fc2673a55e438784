"""`damrong token` and `damrong apikey`: development credentials, and the token the other
commands send.

Tokens are signed with the secret in force for the local platform (AUTH_JWT_SECRET, else
the one `damrong up` generated in the data dir), so they are accepted exactly by the
services that platform runs.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from damrong.embedded.auth_secret import admin_principal, configured_secret, sign
from shared.auth.api_keys import new_api_key
from shared.auth.principal import Grant, Principal, Role
from shared.codes import ChannelCode

_TTL = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class CliAuthError(ValueError):
    pass


def parse_ttl(text: str) -> dt.timedelta:
    """``90s``, ``30m``, ``8h`` or ``7d``."""
    match = _TTL.match(text.strip())
    if not match or int(match[1]) == 0:
        raise CliAuthError(f"--ttl {text!r}: use a positive number with s, m, h or d (8h)")
    return dt.timedelta(**{_UNITS[match[2]]: int(match[1])})


def data_dir_of(data_dir: Path | None) -> Path:
    return (data_dir or Path(os.environ.get("DAMRONG_DATA_DIR") or ".damrong")).absolute()


def _secret(data_dir: Path | None) -> str:
    secret = configured_secret(os.environ, data_dir_of(data_dir), create=False)
    if secret is None:
        raise CliAuthError("a public key is configured: tokens come from the identity provider")
    return secret


def principal_of(
    *,
    role: Role,
    subject: str | None,
    district: str | None,
    province: str | None,
    channel: str | None = None,
    grants: list[str] | None = None,
) -> Principal:
    try:
        return Principal(
            subject or f"dev-{role.value}",
            role,
            district_code=district,
            province_code=province,
            channel=None if channel is None else ChannelCode(channel),
            grants=frozenset(Grant(g) for g in grants or []),
        )
    except ValueError as exc:  # InvalidClaims, unknown channel or grant
        raise CliAuthError(str(exc)) from None


def issue(
    *,
    role: Role,
    subject: str | None,
    district: str | None,
    province: str | None,
    channel: str | None,
    grants: list[str],
    ttl: str,
    data_dir: Path | None,
) -> str:
    principal = principal_of(
        role=role,
        subject=subject,
        district=district,
        province=province,
        channel=channel,
        grants=grants,
    )
    return sign(principal, _secret(data_dir), os.environ, parse_ttl(ttl))


def console_url() -> str:
    """The console's address as users reach it: CONSOLE_PUBLIC_URL, else the local port."""
    host = os.environ.get("HOST") or "127.0.0.1"
    port = os.environ.get("CONSOLE_PORT") or "8004"
    return os.environ.get("CONSOLE_PUBLIC_URL") or f"http://{host}:{port}"


def login_link(principal: Principal, data_dir: Path | None, ttl: str = "15m") -> str:
    """A one-time sign-in link to the console for ``principal``."""
    from services.console.links import make_link

    if principal.role is Role.channel:
        raise CliAuthError("a channel system has no console: give it an API key or token")
    return make_link(
        principal,
        secret=_secret(data_dir),
        base_url=console_url(),
        now=dt.datetime.now(dt.UTC),
        ttl=parse_ttl(ttl),
    )


def client_token(token: str | None, data_dir: Path | None) -> str:
    """The token a client command sends: ``token`` (--token / DAMRONG_TOKEN), else a
    short-lived admin token from the local platform's secret."""
    if token:
        return token
    return sign(admin_principal(), _secret(data_dir), os.environ, dt.timedelta(hours=1))


def api_key_line(channel: str) -> tuple[str, str]:
    """A new key for a channel system, and its AUTH_API_KEYS entry (hash -> channel)."""
    try:
        code = ChannelCode(channel)
    except ValueError:
        raise CliAuthError(f"unknown channel {channel!r}") from None
    key, digest = new_api_key()
    return key, f'"{digest}": "{code.value}"'
