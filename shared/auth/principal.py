"""Who is calling: a principal (subject, role, jurisdiction, grants), built from claims.

Pure: no I/O, no web framework.  Token verification (``tokens``) and API keys
(``api_keys``) both end here, so every credential yields the same, validated shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.codes import ChannelCode


class Role(StrEnum):
    channel = "channel"  # a channel system: files for its channel
    district_officer = "district_officer"  # one district: file, transition, read
    provincial_officer = "provincial_officer"  # one province: read all, transition
    national_supervisor = "national_supervisor"  # read everything, KPIs
    auditor = "auditor"  # read-only everything, no personal data
    admin = "admin"  # everything but contact details (the embedded default's token)
    notifier = "notifier"  # the notify service: reads consented contact details, nothing else


class Grant(StrEnum):
    pii_reader = "pii_reader"  # auditors: masked personal data; anyone: clear reads (recorded)


_DISTRICT = re.compile(r"^\d{4}$")
_PROVINCE = re.compile(r"^\d{2}$")


class InvalidClaims(ValueError):
    """The credential is genuine but does not describe a usable principal."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.  ``province_code`` of a district officer is its district's
    (DOPA district codes start with their province's two digits)."""

    subject: str
    role: Role
    district_code: str | None = None
    province_code: str | None = None
    channel: ChannelCode | None = None
    grants: frozenset[Grant] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.subject or len(self.subject) > 200:
            raise InvalidClaims("sub must be 1 to 200 characters")
        if self.role is Role.district_officer:
            if not self.district_code or not _DISTRICT.match(self.district_code):
                raise InvalidClaims("a district_officer needs a 4-digit district_code")
            if self.province_code not in (None, self.district_code[:2]):
                raise InvalidClaims("province_code does not contain district_code")
            object.__setattr__(self, "province_code", self.district_code[:2])
        elif self.district_code is not None:
            raise InvalidClaims(f"a {self.role} has no district_code")
        if self.role is Role.provincial_officer:
            if not self.province_code or not _PROVINCE.match(self.province_code):
                raise InvalidClaims("a provincial_officer needs a 2-digit province_code")
        elif self.province_code is not None and self.role is not Role.district_officer:
            raise InvalidClaims(f"a {self.role} has no province_code")
        if (self.role is Role.channel) != (self.channel is not None):
            raise InvalidClaims("channel is required for, and only for, the channel role")

    def has(self, grant: Grant) -> bool:
        return grant in self.grants

    def claims(self) -> dict[str, Any]:
        """The private claims that describe this principal in a token (``sub`` included)."""
        out: dict[str, Any] = {"sub": self.subject, "role": self.role.value}
        if self.district_code is not None:
            out["district_code"] = self.district_code
        elif self.province_code is not None:
            out["province_code"] = self.province_code
        if self.channel is not None:
            out["channel"] = self.channel.value
        if self.grants:
            out["grants"] = sorted(g.value for g in self.grants)
        return out


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal a verified token's claims describe; InvalidClaims if they do not."""

    def text(name: str) -> str | None:
        value = claims.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidClaims(f"{name} must be a string")
        return value

    try:
        role = Role(text("role") or "")
    except ValueError:
        raise InvalidClaims("role is missing or unknown") from None
    channel = text("channel")
    grants = claims.get("grants", [])
    if not isinstance(grants, list):
        raise InvalidClaims("grants must be a list")
    try:
        return Principal(
            subject=text("sub") or "",
            role=role,
            district_code=text("district_code"),
            province_code=text("province_code"),
            channel=None if channel is None else ChannelCode(channel),
            grants=frozenset(Grant(g) for g in grants),
        )
    except ValueError as exc:  # unknown channel or grant
        if isinstance(exc, InvalidClaims):
            raise
        raise InvalidClaims(str(exc)) from None
