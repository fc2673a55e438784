"""The identity provider's claims mapped to damrong's principal (pure), and the OIDC
routes' answers when the provider is down or the flow is missing (no provider needed)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import SecretStr

from damrong.embedded._proc import free_port
from services.console.config import ConsoleSettings
from services.console.domain.claims import (
    ClaimsMapping,
    NoUsableRole,
    principal_from_provider,
    same_authority,
    token_ends,
)
from services.console.main import create_app
from shared.auth.principal import Grant, Principal, Role

IDENTITY = ClaimsMapping()
MINISTRY = ClaimsMapping(
    role="groups",
    district_code="amphoe",
    province_code="changwat",
    grants="damrong_grants",
    roles={"dc-officer": "district_officer", "dc-province": "provincial_officer"},
)


def test_damrong_names_read_as_they_are() -> None:
    p = principal_from_provider(
        {"sub": "u1", "role": "district_officer", "district_code": "5001"}, IDENTITY
    )
    assert p == Principal(subject="u1", role=Role.district_officer, district_code="5001")
    assert p.province_code == "50"


def test_provider_names_and_role_values_are_mapped() -> None:
    claims = {"sub": "u2", "groups": ["staff", "dc-province"], "changwat": "10"}
    p = principal_from_provider(claims, MINISTRY)
    assert p.role is Role.provincial_officer
    assert p.province_code == "10"
    assert p.district_code is None


def test_grants_known_kept_unknown_ignored() -> None:
    first = next(iter(Grant))
    claims = {
        "sub": "u3",
        "groups": "dc-officer",
        "amphoe": "1001",
        "damrong_grants": [first.value, "another-app"],
    }
    assert principal_from_provider(claims, MINISTRY).grants == frozenset({first})


def test_space_separated_grants() -> None:
    first = next(iter(Grant))
    claims = {"sub": "u", "role": "admin", "grants": first.value}
    assert principal_from_provider(claims, IDENTITY).grants == frozenset({first})


def test_jurisdiction_claims_ignored_for_a_role_without_one() -> None:
    p = principal_from_provider(
        {"sub": "u", "role": "admin", "district_code": "5001", "province_code": "50"}, IDENTITY
    )
    assert (p.role, p.district_code, p.province_code) == (Role.admin, None, None)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"sub": "u"}, "oidc.reason.role"),
        ({"sub": "u", "role": "superuser"}, "oidc.reason.role"),
        ({"sub": "u", "role": ["staff"]}, "oidc.reason.role"),
        ({"sub": "u", "role": "district_officer"}, "oidc.reason.area"),
        ({"sub": "u", "role": "district_officer", "district_code": "50"}, "oidc.reason.area"),
        ({"sub": "u", "role": "provincial_officer"}, "oidc.reason.area"),
        ({"role": "admin"}, "oidc.reason.claims"),
        ({"sub": "u", "role": "admin", "grants": {"x": 1}}, "oidc.reason.claims"),
        ({"sub": "u", "role": "district_officer", "district_code": ["5001"]}, "oidc.reason.claims"),
    ],
)
def test_no_usable_role_named(claims: dict[str, object], reason: str) -> None:
    with pytest.raises(NoUsableRole) as caught:
        principal_from_provider(claims, IDENTITY)
    assert caught.value.reason == reason


def test_numeric_district_code_read_as_text() -> None:
    p = principal_from_provider(
        {"sub": "u", "role": "district_officer", "district_code": 5001}, IDENTITY
    )
    assert p.district_code == "5001"


def test_same_authority_only_when_the_services_see_the_same_principal() -> None:
    p = Principal(subject="u", role=Role.district_officer, district_code="5001")
    token = {"sub": "u", "role": "district_officer", "district_code": "5001"}
    assert same_authority(p, token)
    assert not same_authority(p, {**token, "district_code": "5002"})
    assert not same_authority(p, {"sub": "u", "groups": "dc-officer", "amphoe": "5001"})
    assert not same_authority(p, {})


def _console(issuer: str) -> TestClient:
    settings = ConsoleSettings(
        console_session_key=SecretStr(Fernet.generate_key().decode()),
        oidc_issuer=issuer,
        oidc_client_id="damrong-console",
    )
    return TestClient(create_app(settings), base_url="http://testserver")


def test_a_provider_that_does_not_answer_gives_a_page_not_a_500() -> None:
    with _console(f"http://127.0.0.1:{free_port()}") as client:
        answer = client.get("/auth/oidc/start?next=/dashboard", follow_redirects=False)
    assert answer.status_code == 503
    assert "ติดต่อผู้ให้บริการยืนยันตัวตนของกระทรวงไม่ได้" in answer.text


def test_a_return_without_the_flow_cookie_is_refused() -> None:
    with _console(f"http://127.0.0.1:{free_port()}") as client:
        answer = client.get("/auth/oidc/callback?state=x&code=y", follow_redirects=False)
    assert answer.status_code == 400
    assert "ไม่ตรงกับที่ระบบส่งไป" in answer.text
    assert "damrong_session" not in answer.cookies


def test_the_signin_page_offers_the_ministry_account_only_when_configured() -> None:
    with _console("http://127.0.0.1:1") as client:
        assert "/auth/oidc/start?next=" in client.get("/signin").text
    plain = ConsoleSettings(console_session_key=SecretStr(Fernet.generate_key().decode()))
    with TestClient(create_app(plain)) as client:
        assert "/auth/oidc/start" not in client.get("/signin").text
        assert client.get("/auth/oidc/start", follow_redirects=False).status_code == 404


NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def test_the_session_ends_with_the_token_it_sends() -> None:
    in_10 = int((NOW + dt.timedelta(minutes=10)).timestamp())
    in_60 = int((NOW + dt.timedelta(minutes=60)).timestamp())
    assert token_ends({"exp": in_10}, 3600, in_60, NOW) == NOW + dt.timedelta(minutes=10)
    # An opaque access token: the token endpoint's word for it.
    assert token_ends({}, 300, in_60, NOW) == NOW + dt.timedelta(minutes=5)
    assert token_ends({}, None, in_60, NOW) == NOW + dt.timedelta(minutes=60)
    assert token_ends({"exp": "soon"}, "300", None, NOW) == NOW
