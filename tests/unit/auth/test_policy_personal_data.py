"""Policy rules of personal data: whistle-blower cases, clear reads, erasure."""

from __future__ import annotations

import pytest

from shared.auth.policy import (
    Area,
    Decision,
    Operation,
    decide,
    hidden_categories,
    reads_clear_personal_data,
)
from shared.auth.principal import Grant, Principal, Role
from tests.unit.auth.principals import ADMIN, AUDITOR, DISTRICT, NATIONAL, PROVINCE, WALK_IN

Op = Operation
MISCONDUCT = Area("50", "5001", "walk_in", "official_misconduct")
LAND = Area("50", "5001", "walk_in", "land")


@pytest.mark.parametrize(
    ("who", "op", "area", "expected"),
    [
        # the district office may be the one complained about: it neither reads nor moves
        (DISTRICT, Op.read_case, MISCONDUCT, Decision.not_found),
        (DISTRICT, Op.transition, MISCONDUCT, Decision.forbidden),
        (DISTRICT, Op.erase_personal_data, MISCONDUCT, Decision.forbidden),
        (DISTRICT, Op.read_case, LAND, Decision.allow),
        # ...but anyone who files may file one
        (DISTRICT, Op.file, MISCONDUCT, Decision.allow),
        (DISTRICT, Op.import_, MISCONDUCT, Decision.allow),
        (WALK_IN, Op.file, MISCONDUCT, Decision.allow),
        # the province and above read it
        (PROVINCE, Op.read_case, MISCONDUCT, Decision.allow),
        (PROVINCE, Op.transition, MISCONDUCT, Decision.allow),
        (NATIONAL, Op.read_case, MISCONDUCT, Decision.allow),
        (AUDITOR, Op.read_case, MISCONDUCT, Decision.allow),
        (ADMIN, Op.erase_personal_data, MISCONDUCT, Decision.allow),
        # erasure: admins and the district's officers only
        (DISTRICT, Op.erase_personal_data, LAND, Decision.allow),
        (DISTRICT, Op.erase_personal_data, Area("50", "5004", "line", "land"), Decision.forbidden),
        (PROVINCE, Op.erase_personal_data, LAND, Decision.forbidden),
        (AUDITOR, Op.erase_personal_data, LAND, Decision.forbidden),
    ],
)
def test_decisions(who: Principal, op: Operation, area: Area, expected: Decision) -> None:
    assert decide(who, op, area) is expected


def test_lists_hide_restricted_categories_below_the_province() -> None:
    assert hidden_categories(DISTRICT) == {"official_misconduct"}
    assert hidden_categories(PROVINCE) == hidden_categories(ADMIN) == frozenset()


def test_clear_reads_need_the_grant_whatever_the_role() -> None:
    assert not reads_clear_personal_data(ADMIN)
    assert reads_clear_personal_data(
        Principal("a", Role.auditor, grants=frozenset({Grant.pii_reader}))
    )
    assert reads_clear_personal_data(
        Principal(
            "o", Role.district_officer, district_code="5001", grants=frozenset({Grant.pii_reader})
        )
    )
