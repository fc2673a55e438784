"""From an identity provider's claims to damrong's principal (pure).

The provider names its claims its own way: ``ClaimsMapping`` says which claim gives the
role, the district, the province and the grants, and how the provider's role values read
as damrong roles (a value absent from ``roles`` is taken as a damrong role name as it is).
``principal_from_provider`` returns the principal or raises ``NoUsableRole`` with a reason
key (``oidc.reason.*``) the sign-in page shows: never a half-built principal.

``same_authority`` checks that the token the console will send to the services (which
read damrong's claim names from it, ``shared.auth.principal``) grants what the session
shows: a mapping the services do not apply would give a console that shows one role while
the services enforce another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.auth.principal import (
    Grant,
    InvalidClaims,
    Principal,
    Role,
    principal_from_claims,
)


class NoUsableRole(ValueError):
    """The claims give no principal damrong can act for; ``reason`` is a message key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ClaimsMapping:
    role: str = "role"
    district_code: str = "district_code"
    province_code: str = "province_code"
    grants: str = "grants"
    # The provider's role value -> damrong role name.
    roles: Mapping[str, str] = field(default_factory=dict)


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise NoUsableRole("oidc.reason.claims", f"claim {name} is not text")
    return value.strip() or None


def _role(claims: Mapping[str, Any], mapping: ClaimsMapping) -> Role:
    raw = claims.get(mapping.role)
    # Providers often send roles as a list (groups): the first one that maps wins.
    candidates = raw if isinstance(raw, list) else [raw]
    for value in candidates:
        if not isinstance(value, str) or not value:
            continue
        name = mapping.roles.get(value, value)
        if name in Role.__members__.values():
            return Role(name)
    raise NoUsableRole("oidc.reason.role", f"claim {mapping.role} gives no damrong role")


def _grants(claims: Mapping[str, Any], name: str) -> frozenset[Grant]:
    raw = claims.get(name, [])
    if raw is None:
        return frozenset()
    values = raw.split() if isinstance(raw, str) else raw
    if not isinstance(values, list):
        raise NoUsableRole("oidc.reason.claims", f"claim {name} is not a list")
    known = {g.value for g in Grant}
    # A grant damrong does not know is ignored: providers carry other applications' too.
    return frozenset(Grant(v) for v in values if isinstance(v, str) and v in known)


def principal_from_provider(claims: Mapping[str, Any], mapping: ClaimsMapping) -> Principal:
    """The principal the provider's ``claims`` (ID token, then userinfo) describe."""
    subject = _text(claims, "sub")
    if subject is None:
        raise NoUsableRole("oidc.reason.claims", "no sub")
    role = _role(claims, mapping)
    district = _text(claims, mapping.district_code)
    province = _text(claims, mapping.province_code)
    if role is Role.district_officer:
        province = None  # implied by the district (its first two digits)
    elif role is not Role.provincial_officer:
        district = province = None  # jurisdiction claims mean nothing for this role
    grants = _grants(claims, mapping.grants)
    try:
        return Principal(
            subject=subject,
            role=role,
            district_code=district,
            province_code=province,
            grants=grants,
        )
    except (InvalidClaims, ValueError, TypeError) as exc:
        raise NoUsableRole("oidc.reason.area", str(exc)) from None


def same_authority(session_principal: Principal, token_claims: Mapping[str, Any]) -> bool:
    """Whether the services, reading ``token_claims``, see ``session_principal``."""
    try:
        seen = principal_from_claims(token_claims)
    except (InvalidClaims, ValueError, TypeError):
        return False
    return seen == session_principal


def token_ends(
    token_claims: Mapping[str, Any], expires_in: object, id_token_exp: object, now: dt.datetime
) -> dt.datetime:
    """When the token sent to the services stops working: its own ``exp`` (a JWT), else
    the token endpoint's ``expires_in``, else the ID token's ``exp``.  The session ends then:
    past it the services would answer every page with 401."""
    exp = token_claims.get("exp")
    if isinstance(exp, int) and not isinstance(exp, bool):
        return dt.datetime.fromtimestamp(exp, dt.UTC)
    if isinstance(expires_in, int) and not isinstance(expires_in, bool):
        return now + dt.timedelta(seconds=expires_in)
    if isinstance(id_token_exp, int) and not isinstance(id_token_exp, bool):
        return dt.datetime.fromtimestamp(id_token_exp, dt.UTC)
    return now  # no lifetime stated: nothing to rely on, so no session
