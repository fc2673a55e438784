"""A signed-in user's session: who, with which token, until when, and the form guard.

The console keeps no user table: the session is the whole of its state, carried in an
encrypted cookie (``services.console.sessions``), and the services' own token inside it
decides every permission.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, replace

from shared.auth.principal import Principal

# An office day: a session outlives a morning's work but not the night.
DEFAULT_TTL = dt.timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    token: str  # the bearer token the console sends to intake, status and kpi for this user
    expires_at: dt.datetime
    csrf: str  # the token every form and htmx request of this session carries
    via: str = "link"  # "link" (embedded one-time link) or "oidc"
    id_token: str | None = None  # kept for the identity provider's sign-out

    def expired(self, now: dt.datetime) -> bool:
        return now >= self.expires_at

    def with_token(self, token: str, expires_at: dt.datetime) -> Session:
        return replace(self, token=token, expires_at=expires_at)


def new_session(
    principal: Principal,
    token: str,
    *,
    now: dt.datetime,
    ttl: dt.timedelta = DEFAULT_TTL,
    via: str = "link",
    id_token: str | None = None,
    token_expires_at: dt.datetime | None = None,
) -> Session:
    """A fresh session with a new CSRF token.  It ends with the token it carries: a
    session that outlived its token would only collect 401s from the services."""
    expires = now + ttl
    if token_expires_at is not None:
        expires = min(expires, token_expires_at)
    return Session(
        principal=principal,
        token=token,
        expires_at=expires,
        csrf=secrets.token_urlsafe(32),
        via=via,
        id_token=id_token,
    )


def csrf_matches(session: Session | None, offered: str | None) -> bool:
    """Constant-time comparison of the form's token with the session's."""
    if session is None or not offered:
        return False
    return secrets.compare_digest(session.csrf.encode(), offered.encode())
