"""The identity provider's claims mapped to damrong's principal (pure)."""

from __future__ import annotations

import pytest

from services.console.domain.claims import (
    ClaimsMapping,
    NoUsableRole,
    principal_from_provider,
    same_authority,
)
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
