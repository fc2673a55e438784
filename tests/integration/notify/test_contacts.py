"""Intake's contact route: the consent and only the consented details, to the notify
service's role only, each disclosing read recorded; consent refused plainly at filing."""

from __future__ import annotations

import uuid

import pytest

from shared.auth.principal import Role
from tests.auth import bearer, token
from tests.integration.notify.conftest import NOTIFIER_TOKEN, Rig, person

pytestmark = pytest.mark.integration
NOTIFIER = bearer(NOTIFIER_TOKEN)


def url(cid: object) -> str:
    return f"/internal/v1/complaints/{cid}/contact"


async def test_the_notifier_gets_the_consent_and_only_the_consented_details(rig: Rig) -> None:
    who = person()
    case = await rig.file(who, ["email", "line"])
    answer = await rig.intake.get(url(case.complaint_id), headers=NOTIFIER)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "complaint_id": str(case.complaint_id),
        "anonymous": False,
        "notify": ["line", "email"],
        "line_user_id": who.line_user_id,
        "email": who.email,
    }
    access = (await rig.intake.get(f"/v1/pii-access?complaint_id={case.complaint_id}")).json()
    assert [(a["subject"], a["action"], a["fields"]) for a in access] == [
        ("notify-service", "read", ["email", "line_user_id"])
    ]


async def test_without_consent_nothing_is_disclosed_or_recorded(rig: Rig) -> None:
    who = person()
    for case in (await rig.file(who, []), await rig.file(who, [], anonymous=True)):
        answer = await rig.intake.get(url(case.complaint_id), headers=NOTIFIER)
        assert answer.status_code == 200
        assert set(answer.json()) == {"complaint_id", "anonymous", "notify"}
        assert answer.json()["notify"] == []
        access = await rig.intake.get(f"/v1/pii-access?complaint_id={case.complaint_id}")
        assert access.json() == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),  # the client's default: an admin
        (bearer(token(Role.admin, "admin", grants=("pii_reader",))), 403),
        (bearer(token(Role.district_officer, "d", district_code="1001")), 403),
        (bearer(token(Role.national_supervisor, "n")), 403),
        (bearer(token(Role.channel, "c", channel="line")), 403),
        ({"Authorization": "Bearer not-a-token"}, 401),
    ],
)
async def test_nobody_else_may_read_contacts(
    rig: Rig, headers: dict[str, str], status: int
) -> None:
    case = await rig.file(person(), ["sms"])
    answer = await rig.intake.get(url(case.complaint_id), headers=headers)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "+66" not in answer.text


async def test_an_unknown_or_malformed_id_and_an_erased_complainant(rig: Rig) -> None:
    assert (await rig.intake.get(url(uuid.uuid4()), headers=NOTIFIER)).status_code == 404
    for bad in ("not-a-uuid", "1" * 5000, "%00", "..%2f..%2fetc"):
        answer = await rig.intake.get(url(bad), headers=NOTIFIER)
        assert answer.status_code in (404, 422), (bad, answer.status_code)
    case = await rig.file(person(), ["sms"])
    reader = bearer(token(Role.admin, "pdpa-officer", grants=("pii_reader",)))
    clear = await rig.intake.get(f"/v1/complaints/{case.complaint_id}/complainant", headers=reader)
    assert (
        await rig.intake.delete(f"/v1/complainants/{clear.json()['complainant_ref']}")
    ).status_code == 204
    gone = await rig.intake.get(url(case.complaint_id), headers=NOTIFIER)
    assert gone.status_code == 410 and gone.json()["title"] == "Personal data erased"


def _filing(complainant: object) -> dict[str, object]:
    return {
        "channel": "web",
        "district_code": "1001",
        "category": "land",
        "subject": "s",
        "description": "d",
        "complainant": complainant,
    }


async def test_bad_consent_at_filing_is_named_never_a_500(rig: Rig) -> None:
    who = person()
    named = {"anonymous": False, "name": "ทดสอบ"}
    cases = [
        ({**named, "notify": ["sms"]}, "complainant.notify", "sms needs complainant.phone"),
        ({**named, "notify": "email"}, "complainant.notify", None),
        ({**named, "notify": [{"a": [1, [2, [3]]]}]}, "complainant.notify", None),
        ({**named, "line_user_id": "U" + "x" * 10_000}, "complainant.line_user_id", None),
        ({"anonymous": True, "notify": ["sms"]}, "complainant.notify", None),
        ({**named, "phone": who.phone, "notify": ["sms", "fax"]}, "complainant.notify", None),
    ]
    for complainant, field, message in cases:
        answer = await rig.intake.post("/v1/complaints", json=_filing(complainant))
        assert answer.status_code == 422, (complainant, answer.text)
        errors = {e["field"]: e["message"] for e in answer.json()["errors"]}
        assert field in errors
        if message is not None:
            assert errors[field] == message
    # Nesting deeper than any parser should follow, written by hand (encoders refuse it).
    deep = "[" * 5000 + '"sms"' + "]" * 5000
    body = (
        '{"channel":"web","district_code":"1001","category":"land","subject":"s",'
        '"description":"d","complainant":{"anonymous":false,"name":"x","notify":' + deep + "}}"
    )
    answer = await rig.intake.post(
        "/v1/complaints", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code in (400, 422), answer.text
