"""The feedback endpoints' configuration: no secret is a clear 503, a short one refused
at start-up (no I/O: the app is not started, only asked)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from services.status.main import create_app
from shared.config import Settings
from tests.auth import TEST_SECRET


async def test_without_a_secret_the_feedback_endpoints_answer_503() -> None:
    app = create_app(Settings(auth_jwt_secret=SecretStr(TEST_SECRET)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for r in (
            await client.post("/v1/feedback", json={"token": "a.b.c", "score": 3}),
            await client.get("/v1/feedback/a.b.c"),
        ):
            assert r.status_code == 503
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["type"].endswith("/feedback-not-configured")
            assert "FEEDBACK_LINK_SECRET" in r.json()["detail"]


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(auth_jwt_secret=SecretStr(TEST_SECRET), feedback_link_secret=SecretStr("x" * 31))
    ok = Settings(auth_jwt_secret=SecretStr(TEST_SECRET), feedback_link_secret=SecretStr("y" * 32))
    assert ok.feedback_link_secret is not None
