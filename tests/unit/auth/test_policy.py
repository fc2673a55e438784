"""The pure authorisation policy: roles, jurisdiction, filter confinement, personal data."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import pytest

import shared.auth.policy as policy_module
import shared.auth.principal as principal_module
from shared.auth.policy import (
    Area,
    Decision,
    Operation,
    OutOfScope,
    confine,
    decide,
    import_district,
    sees_personal_data,
)
from shared.auth.principal import (
    Grant,
    InvalidClaims,
    Principal,
    Role,
    principal_from_claims,
)
from tests.unit.auth.principals import (
    ADMIN,
    AUDITOR,
    DISTRICT,
    LINE,
    NATIONAL,
    NOTIFIER,
    PROVINCE,
)

Op = Operation
CONTACT = Op.read_contact
CHIANG_MAI = Area("50", "5001", "walk_in")  # district 5001, province 50
SAN_SAI = Area("50", "5004", "line")  # same province, another district
BANGKOK = Area("10", "1001", "line")  # another province


@pytest.mark.parametrize(
    ("who", "op", "area", "expected"),
    [
        # channel systems file for their channel only, and do nothing else
        (LINE, Op.file, SAN_SAI, Decision.allow),
        (LINE, Op.file, CHIANG_MAI, Decision.forbidden),
        (LINE, Op.read_case, SAN_SAI, Decision.forbidden),
        (LINE, Op.reference, None, Decision.allow),
        # a district officer: its district only; reads elsewhere look like missing cases
        (DISTRICT, Op.file, CHIANG_MAI, Decision.allow),
        (DISTRICT, Op.file, SAN_SAI, Decision.forbidden),
        (DISTRICT, Op.transition, SAN_SAI, Decision.forbidden),
        (DISTRICT, Op.read_case, CHIANG_MAI, Decision.allow),
        (DISTRICT, Op.read_case, SAN_SAI, Decision.not_found),
        (DISTRICT, Op.audit, None, Decision.forbidden),
        # a provincial officer: reads and moves its province's cases, files nothing
        (PROVINCE, Op.transition, SAN_SAI, Decision.allow),
        (PROVINCE, Op.transition, BANGKOK, Decision.forbidden),
        (PROVINCE, Op.read_case, BANGKOK, Decision.not_found),
        (PROVINCE, Op.file, CHIANG_MAI, Decision.forbidden),
        (PROVINCE, Op.import_, None, Decision.forbidden),
        # national supervisors and auditors read everything and write nothing
        (NATIONAL, Op.read_case, BANGKOK, Decision.allow),
        (NATIONAL, Op.read_kpi, None, Decision.allow),
        (NATIONAL, Op.transition, BANGKOK, Decision.forbidden),
        (NATIONAL, Op.audit, None, Decision.forbidden),
        (AUDITOR, Op.read_case, BANGKOK, Decision.allow),
        (AUDITOR, Op.audit, None, Decision.allow),
        (AUDITOR, Op.file, BANGKOK, Decision.forbidden),
        (AUDITOR, Op.transition, BANGKOK, Decision.forbidden),
        # the embedded default's admin does everything but read contact details, which
        # only the notify service (the notifier role) does, and nothing else
        *[(ADMIN, op, BANGKOK, Decision.allow) for op in Operation if op is not CONTACT],
        (ADMIN, Op.read_contact, None, Decision.forbidden),
        (NOTIFIER, Op.read_contact, None, Decision.allow),
        *[(NOTIFIER, op, BANGKOK, Decision.forbidden) for op in Operation if op is not CONTACT],
        *[(who, Op.read_contact, None, Decision.forbidden) for who in (LINE, DISTRICT, AUDITOR)],
    ],
)
def test_decide(who: Principal, op: Operation, area: Area | None, expected: Decision) -> None:
    assert decide(who, op, area) is expected


def test_confine_district_officer_to_its_district() -> None:
    assert confine(DISTRICT, None, None) == ("50", "5001")
    assert confine(DISTRICT, "50", "5001") == ("50", "5001")
    for province, district in (("10", None), (None, "5004"), ("50", "1001")):
        with pytest.raises(OutOfScope):
            confine(DISTRICT, province, district)


def test_confine_provincial_officer_to_its_province() -> None:
    assert confine(PROVINCE, None, None) == ("50", None)
    assert confine(PROVINCE, None, "5004") == ("50", "5004")
    for province, district in (("10", None), (None, "1001")):
        with pytest.raises(OutOfScope):
            confine(PROVINCE, province, district)


def test_national_roles_keep_their_filters() -> None:
    for who in (NATIONAL, AUDITOR, ADMIN):
        assert confine(who, "10", "1001") == ("10", "1001")
        assert confine(who, None, None) == (None, None)


def test_personal_data_and_imports() -> None:
    assert not sees_personal_data(AUDITOR)
    assert sees_personal_data(Principal("a", Role.auditor, grants=frozenset({Grant.pii_reader})))
    assert sees_personal_data(DISTRICT) and sees_personal_data(ADMIN)
    assert import_district(DISTRICT) == "5001" and import_district(ADMIN) is None


def test_principal_from_claims() -> None:
    p = principal_from_claims(
        {
            "sub": "o-1",
            "role": "district_officer",
            "district_code": "5001",
            "grants": ["pii_reader"],
        }
    )
    assert (p.province_code, p.grants) == ("50", frozenset({Grant.pii_reader}))
    assert principal_from_claims(p.claims()) == p
    assert principal_from_claims(LINE.claims()) == LINE


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "x"},  # no role
        {"sub": "x", "role": "janitor"},  # unknown role
        {"sub": "", "role": "admin"},  # empty subject
        {"sub": "x", "role": "district_officer"},  # no district
        {"sub": "x", "role": "district_officer", "district_code": "50"},  # not a district
        {"sub": "x", "role": "district_officer", "district_code": "5001", "province_code": "10"},
        {"sub": "x", "role": "provincial_officer"},  # no province
        {"sub": "x", "role": "channel"},  # no channel
        {"sub": "x", "role": "channel", "channel": "pigeon"},  # unknown channel
        {"sub": "x", "role": "admin", "channel": "line"},  # channel on a person
        {"sub": "x", "role": "auditor", "district_code": "5001"},  # scope on auditor
        {"sub": "x", "role": "auditor", "grants": ["root"]},  # unknown grant
        {"sub": "x", "role": "auditor", "grants": "pii_reader"},  # not a list
        {"sub": 7, "role": "admin"},  # not a string
    ],
)
def test_bad_claims_are_refused(claims: dict[str, object]) -> None:
    with pytest.raises(InvalidClaims):
        principal_from_claims(claims)


@pytest.mark.parametrize("module", [policy_module, principal_module], ids=lambda m: m.__name__)
def test_policy_core_is_pure(module: types.ModuleType) -> None:
    assert module.__file__ is not None
    source = Path(module.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots <= {
        "__future__",
        "collections",
        "dataclasses",
        "enum",
        "re",
        "typing",
        "shared",
    }, roots
