"""Sign-in links for the embedded platform: signed with the services' token secret, each
usable once (the used ids are kept in a file, so a restart does not revive a link).

`damrong up` prints one for the admin; `damrong login-link` makes one for any role.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
from pathlib import Path
from typing import Any

import jwt

from services.console.domain.links import (
    LINK_AUDIENCE,
    LINK_TTL,
    LinkGrant,
    LinkRefused,
    check_unused,
    grant_from_claims,
)
from shared.auth.principal import Principal

LINK_PATH = "/auth/link"


def make_link(
    principal: Principal,
    *,
    secret: str,
    base_url: str,
    now: dt.datetime,
    ttl: dt.timedelta = LINK_TTL,
) -> str:
    """The URL that signs ``principal`` in once, until ``now + ttl``."""
    claims = {
        **principal.claims(),
        "aud": LINK_AUDIENCE,
        "jti": secrets.token_urlsafe(16),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    token = jwt.encode(claims, secret, algorithm="HS256")
    return f"{base_url.rstrip('/')}{LINK_PATH}?t={token}"


def read_link(token: str, *, secret: str, now: dt.datetime) -> LinkGrant:
    """The grant of a link token; LinkRefused if forged, foreign or expired."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=LINK_AUDIENCE,
            options={"verify_exp": False, "require": ["exp", "jti", "sub", "aud"]},
        )
    except jwt.InvalidTokenError:
        raise LinkRefused("link.invalid") from None
    return grant_from_claims(claims, now=now)


class UsedLinks:
    """The ids of links already used, until they expire; kept in ``path`` when given.

    One console per data dir in the embedded platform, so a file and a lock suffice; a
    deployment with several consoles signs in through OIDC instead."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._used: dict[str, float] = {}
        if path is not None and path.exists():
            for line in path.read_text(encoding="ascii").splitlines():
                link_id, _, exp = line.partition(" ")
                if link_id and exp:
                    self._used[link_id] = float(exp)

    def consume(self, grant: LinkGrant, now: dt.datetime) -> None:
        """Mark the link used; LinkRefused("link.used") if it already was."""
        with self._lock:
            self._used = {k: e for k, e in self._used.items() if e > now.timestamp()}
            check_unused(grant, set(self._used))
            self._used[grant.link_id] = grant.expires_at.timestamp()
            if self._path is not None:
                self._write()

    def _write(self) -> None:
        assert self._path is not None
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        text = "".join(f"{k} {e}\n" for k, e in self._used.items())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path)  # a crash leaves the old list or the new, never half
