"""Tokens for tests: one shared test secret, and an admin token sent by default so that
tests not about authorisation stay as they are."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared.auth.principal import Grant, Principal, Role
from shared.auth.tokens import issue_token
from shared.codes import ChannelCode

TEST_SECRET = "test-secret-" + "x" * 40
ISSUER = AUDIENCE = "damrong"


def token(
    role: Role | str = Role.admin,
    subject: str = "test-admin",
    *,
    district_code: str | None = None,
    province_code: str | None = None,
    channel: str | None = None,
    grants: tuple[str, ...] = (),
    ttl: dt.timedelta = dt.timedelta(hours=1),
    secret: str = TEST_SECRET,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
    **_: Any,
) -> str:
    principal = Principal(
        subject,
        Role(role),
        district_code=district_code,
        province_code=province_code,
        channel=None if channel is None else ChannelCode(channel),
        grants=frozenset(Grant(g) for g in grants),
    )
    return issue_token(
        principal,
        secret=secret,
        issuer=issuer,
        audience=audience,
        ttl=ttl,
        now=dt.datetime.now(dt.UTC),
    )


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def admin_headers(subject: str = "test-admin") -> dict[str, str]:
    return bearer(token(Role.admin, subject))
