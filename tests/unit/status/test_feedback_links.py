"""Feedback link tokens (shared.feedback_links): issued, verified, refused."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import jwt
import pytest

from shared import feedback_links as fl

SECRET = "s" * 40
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def test_round_trip_names_the_case_and_closure() -> None:
    cid = uuid.uuid4()
    token = fl.issue(cid, 5, SECRET, NOW)
    link = fl.verify(token, SECRET, NOW + dt.timedelta(days=59))
    assert link == fl.FeedbackLink(cid, 5, NOW + fl.DEFAULT_TTL)


def test_expired_at_its_expiry_and_after() -> None:
    token = fl.issue(uuid.uuid4(), 3, SECRET, NOW, ttl=dt.timedelta(hours=1))
    fl.verify(token, SECRET, NOW + dt.timedelta(minutes=59))
    for later in (dt.timedelta(hours=1), dt.timedelta(days=400)):
        with pytest.raises(fl.ExpiredLink):
            fl.verify(token, SECRET, NOW + later)


def test_another_secret_is_refused_not_expired() -> None:
    token = fl.issue(uuid.uuid4(), 3, SECRET, NOW)
    with pytest.raises(fl.InvalidLink) as err:
        fl.verify(token, "t" * 40, NOW)
    assert not isinstance(err.value, fl.ExpiredLink)


def test_a_token_for_another_audience_is_refused() -> None:
    """A sign-in token signed with the same secret is no feedback link."""
    claims = {
        "iss": "damrong",
        "aud": "damrong",
        "sub": str(uuid.uuid4()),
        "cv": 3,
        "exp": int((NOW + dt.timedelta(days=1)).timestamp()),
    }
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(fl.InvalidLink):
        fl.verify(token, SECRET, NOW)


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "not-a-uuid", "cv": 3},
        {"sub": str(uuid.UUID(int=1)), "cv": 1},
        {"sub": str(uuid.UUID(int=1)), "cv": "3"},
        {"sub": str(uuid.UUID(int=1)), "cv": 3.0},
        {"sub": str(uuid.UUID(int=1)), "cv": True},
        {"sub": str(uuid.UUID(int=1))},
        {"cv": 3},
        {"sub": ["x"], "cv": 3},
    ],
)
def test_bad_claims_are_refused(claims: dict[str, object]) -> None:
    full = {
        "iss": "damrong",
        "aud": fl.AUDIENCE,
        "exp": int((NOW + dt.timedelta(days=1)).timestamp()),
        **claims,
    }
    token = jwt.encode(full, SECRET, algorithm="HS256")
    with pytest.raises(fl.InvalidLink):
        fl.verify(token, SECRET, NOW)


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b.c",
        "x" * 5000,
        "ก.ข.ค",
        "\x00\x01.\xff.",
        # alg none, with valid-looking claims
        _b64({"alg": "none"}) + "." + _b64({"sub": str(uuid.UUID(int=1)), "cv": 3}) + ".",
        # deeply nested header
        _b64(json.loads("[" * 200 + "]" * 200)) + ".e30.sig",
    ],
)
def test_hostile_tokens_are_refused(token: str) -> None:
    with pytest.raises(fl.InvalidLink):
        fl.verify(token, SECRET, NOW)


def test_a_tampered_token_is_refused() -> None:
    token = fl.issue(uuid.uuid4(), 3, SECRET, NOW)
    head, body, sig = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged["cv"] = 9
    with pytest.raises(fl.InvalidLink):
        fl.verify(f"{head}.{_b64(forged)}.{sig}", SECRET, NOW)


def test_issue_refuses_what_cannot_be_a_link() -> None:
    with pytest.raises(ValueError):
        fl.issue(uuid.uuid4(), 3, "short", NOW)
    with pytest.raises(ValueError):
        fl.issue(uuid.uuid4(), 1, SECRET, NOW)
    with pytest.raises(ValueError):
        fl.issue(uuid.uuid4(), 3, SECRET, NOW.replace(tzinfo=None))
    with pytest.raises(ValueError):
        fl.issue(uuid.uuid4(), 3, SECRET, NOW, ttl=dt.timedelta(0))


def test_the_token_carries_nothing_but_the_case_and_closure() -> None:
    token = fl.issue(uuid.uuid4(), 3, SECRET, NOW)
    body = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert set(claims) == {"iss", "aud", "sub", "cv", "iat", "exp"}
    assert len(token) < 300  # fits a LINE message and a URL comfortably
