"""Feedback links: the credential a complainant holds to answer one closure of one case.

When a case closes, the complainant is sent a link carrying a token from ``issue``; the
token alone lets them rate the closure and say the problem was not solved (no account, no
sign-in).  It names the case and the version of its ``case.closed`` event, and nothing
personal.  HS256 (pyjwt) with a secret of its own (``FEEDBACK_LINK_SECRET``) and an audience
of its own, so that neither a sign-in token nor any other token of ours passes for one, and
a feedback token passes for nothing else.  Pure: time is passed in.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

ISSUER = "damrong"
AUDIENCE = "damrong-feedback"
ALGORITHM = "HS256"
DEFAULT_TTL = dt.timedelta(days=60)
MIN_SECRET_BYTES = 32
# Longer text is no token of ours: refused before any parsing.
MAX_TOKEN_CHARS = 1024


class InvalidLink(Exception):
    """Malformed, forged, foreign (another audience or issuer) or incomplete."""


class ExpiredLink(InvalidLink):
    """Genuine but past its expiry: the complainant should be told so, not that it is wrong."""


@dataclass(frozen=True, slots=True)
class FeedbackLink:
    """What a verified token says: the case, the closure it answers, until when."""

    complaint_id: uuid.UUID
    closed_version: int
    expires_at: dt.datetime


def _key(secret: str) -> bytes:
    key = secret.encode()
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"the feedback link secret must be at least {MIN_SECRET_BYTES} bytes")
    return key


def issue(
    complaint_id: uuid.UUID,
    closed_version: int,
    secret: str,
    now: dt.datetime,
    ttl: dt.timedelta = DEFAULT_TTL,
) -> str:
    """A token for the closure at ``closed_version`` of ``complaint_id``, valid for ``ttl``
    from ``now`` (aware).  ValueError for a short secret, a naive ``now``, a version that
    cannot be a closure (< 2) or a non-positive ``ttl``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if closed_version < 2:
        raise ValueError("a closure is at least version 2 of its case")
    if ttl <= dt.timedelta(0):
        raise ValueError("ttl must be positive")
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(complaint_id),
        "cv": closed_version,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, _key(secret), algorithm=ALGORITHM)


def verify(token: str, secret: str, now: dt.datetime) -> FeedbackLink:
    """The link ``token`` stands for at ``now`` (aware).

    Raises ExpiredLink for a genuine token at or past its expiry, InvalidLink for anything
    else that is not a token ``issue`` made with ``secret``.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise InvalidLink("not a feedback link")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _key(secret),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            # Expiry is checked below against the ``now`` given, not the wall clock.
            options={
                "require": ["iss", "aud", "sub", "cv", "exp"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise InvalidLink(f"not a feedback link: {type(exc).__name__}") from None
    try:
        complaint_id = uuid.UUID(claims["sub"])
        closed_version = claims["cv"]
        exp = claims["exp"]
        if type(closed_version) is not int or closed_version < 2 or type(exp) is not int:
            raise ValueError("bad claims")
        expires_at = dt.datetime.fromtimestamp(exp, dt.UTC)
    except (ValueError, TypeError, AttributeError, OverflowError, OSError):
        raise InvalidLink("not a feedback link: bad claims") from None
    if now >= expires_at:
        raise ExpiredLink(f"the feedback link expired at {expires_at.isoformat()}")
    return FeedbackLink(complaint_id, closed_version, expires_at)
