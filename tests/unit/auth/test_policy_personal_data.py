"""Policy rules of personal data: whistle-blower cases, clear reads, erasure."""

from __future__ import annotations

import pytest

from shared.auth.policy import (
    Area, Decision, Operation, decide, hidden_categories, reads_clear_personal_data,
)
from shared.auth.principal import Grant, Principal, Role
from tests.unit.auth.principals import ADMIN, AUDITOR, DISTRICT, NATIONAL, PROVINCE, WALK_IN

O = Operation
MISCONDUCT = Area("50", "5001", "walk_in", "official_misconduct")
LAND = Area("50", "5001", "walk_in", "land")


@pytest.mark.parametrize(("who", "op", "area", "expected"), [
    # the district office may be the one complained about: it neither reads nor moves
    (DISTRICT, O.read_case, MISCONDUCT, Decision.not_found),
    (DISTRICT, O.transition, MISCONDUCT, Decision.forbidden),
    (DISTRICT, O.erase_personal_data, MISCONDUCT, Decision.forbidden),
    (DISTRICT, O.read_case, LAND, Decision.allow),
    # ...but anyone who files may file one
    (DISTRICT, O.file, MISCONDUCT, Decision.allow),
    (DISTRICT, O.import_, MISCONDUCT, Decision.allow),
    (WALK_IN, O.file, MISCONDUCT, Decision.allow),
    # the province and above read it
    (PROVINCE, O.read_case, MISCONDUCT, Decision.allow),
    (PROVINCE, O.transition, MISCONDUCT, Decision.allow),
    (NATIONAL, O.read_case, MISCONDUCT, Decision.allow),
    (AUDITOR, O.read_case, MISCONDUCT, Decision.allow),
    (ADMIN, O.erase_personal_data, MISCONDUCT, Decision.allow),
    # erasure: admins and the district's officers only
    (DISTRICT, O.erase_personal_data, LAND, Decision.allow),
    (DISTRICT, O.erase_personal_data, Area("50", "5004", "line", "land"), Decision.forbidden),
    (PROVINCE, O.erase_personal_data, LAND, Decision.forbidden),
    (AUDITOR, O.erase_personal_data, LAND, Decision.forbidden),
])
def test_decisions(who: Principal, op: Operation, area: Area, expected: Decision) -> None:
    assert decide(who, op, area) is expected


def test_lists_hide_restricted_categories_below_the_province() -> None:
    assert hidden_categories(DISTRICT) == {"official_misconduct"}
    assert hidden_categories(PROVINCE) == hidden_categories(ADMIN) == frozenset()


def test_clear_reads_need_the_grant_whatever_the_role() -> None:
    assert not reads_clear_personal_data(ADMIN)
    assert reads_clear_personal_data(
        Principal("a", Role.auditor, grants=frozenset({Grant.pii_reader})))
    assert reads_clear_personal_data(
        Principal("o", Role.district_officer, district_code="5001",
                  grants=frozenset({Grant.pii_reader})))
