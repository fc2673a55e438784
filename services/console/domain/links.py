"""One-time sign-in links: what a link says, and whether it may still be used.

A link carries a signed, short-lived claim set (``services.console.links`` signs and
verifies it); this module decides, given ``now`` and the ids already used, whether it
signs someone in.  Each link id works once: the adapter records it before the session
is made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.auth.principal import InvalidClaims, Principal, principal_from_claims

LINK_TTL = dt.timedelta(minutes=15)
LINK_AUDIENCE = "damrong-console-link"


class LinkRefused(ValueError):
    """The link cannot sign anyone in; ``reason`` is a message key shown to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LinkGrant:
    link_id: str
    principal: Principal
    expires_at: dt.datetime


def grant_from_claims(claims: Mapping[str, Any], *, now: dt.datetime) -> LinkGrant:
    """The grant of a verified link's claims at ``now``; LinkRefused if it is expired or
    does not describe a usable principal."""
    link_id = claims.get("jti")
    if not isinstance(link_id, str) or not link_id:
        raise LinkRefused("link.invalid")
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        raise LinkRefused("link.invalid")
    expires_at = dt.datetime.fromtimestamp(exp, dt.UTC)
    if now >= expires_at:
        raise LinkRefused("link.expired")
    try:
        principal = principal_from_claims(claims)
    except InvalidClaims:
        raise LinkRefused("link.invalid") from None
    return LinkGrant(link_id, principal, expires_at)


def check_unused(grant: LinkGrant, used: frozenset[str] | set[str]) -> None:
    if grant.link_id in used:
        raise LinkRefused("link.used")
