"""Consent at filing (``complainant.notify``, ``complainant.line_user_id``): validated with
every bad field named, sealed with the identity, and disclosed only channel by channel."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.intake.contacts.domain.consent import (
    ConsentingComplainant,
    consent_of,
    disclosed,
)
from services.intake.domain.validation import InvalidComplaint, parse_complaint

NOW = dt.datetime(2026, 3, 2, 4, tzinfo=dt.UTC)
LINE_ID = "U" + "0123456789abcdef" * 2


def body(**complainant: Any) -> dict[str, Any]:
    return {
        "channel": "web",
        "district_code": "1001",
        "category": "land",
        "subject": "ถนนชำรุด",
        "description": "ถนนหน้าบ้านเป็นหลุม",
        "complainant": {"anonymous": False, "name": "สมหญิง ใจดี", **complainant},
    }


def errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidComplaint) as caught:
        parse_complaint(data, NOW)
    return {e.field: e.message for e in caught.value.errors}


def test_consent_is_parsed_and_ordered() -> None:
    cmd = parse_complaint(
        body(
            phone="081-234-5678",
            email="somying@example.org",
            line_user_id=LINE_ID,
            notify=["sms", "line", "email"],
        ),
        NOW,
    )
    person = cmd.complainant
    assert isinstance(person, ConsentingComplainant)
    assert person.notify == ("line", "email", "sms")
    identity = person.identity()
    assert identity["notify"] == "line,email,sms" and identity["line_user_id"] == LINE_ID
    assert consent_of(identity) == ("line", "email", "sms")


def test_no_consent_by_default() -> None:
    person = parse_complaint(body(phone="0812345678"), NOW).complainant
    assert "notify" not in person.identity()
    assert consent_of(person.identity()) == () and disclosed(person.identity()) == {}


def test_each_channel_needs_its_contact_detail() -> None:
    found = [
        e.message
        for e in _all_errors(body(notify=["sms", "email", "line"]))
        if e.field == "complainant.notify"
    ]
    assert found == [
        "sms needs complainant.phone",
        "email needs complainant.email",
        "line needs complainant.line_user_id",
    ]


def test_a_repeated_channel_counts_once() -> None:
    person = parse_complaint(body(phone="0812345678", notify=["sms", "sms"]), NOW).complainant
    assert isinstance(person, ConsentingComplainant) and person.notify == ("sms",)


def _all_errors(data: dict[str, Any]) -> list[Any]:
    with pytest.raises(InvalidComplaint) as caught:
        parse_complaint(data, NOW)
    return caught.value.errors


def test_sms_needs_a_mobile_number() -> None:
    assert errors(body(phone="02-123-4567", notify=["sms"])) == {
        "complainant.notify": "sms needs a mobile complainant.phone"
    }


@pytest.mark.parametrize(
    ("notify", "message"),
    [
        ("sms", 'must be a list of at most 3 of "line", "email", "sms"'),
        ({"sms": True}, 'must be a list of at most 3 of "line", "email", "sms"'),
        (["sms"] * 4, 'must be a list of at most 3 of "line", "email", "sms"'),
        (["fax"], '\'fax\' is not one of "line", "email", "sms"'),
        ([["sms"]], '"[\'sms\']" is not one of "line", "email", "sms"'),
        ([None], '\'None\' is not one of "line", "email", "sms"'),
    ],
)
def test_malformed_consent_is_named(notify: Any, message: str) -> None:
    assert errors(body(phone="0812345678", notify=notify)) == {"complainant.notify": message}


def test_a_huge_or_deeply_nested_consent_is_refused_plainly() -> None:
    nested: Any = "sms"
    for _ in range(500):
        nested = [nested]
    assert set(errors(body(notify=nested))) == {"complainant.notify"}
    assert set(errors(body(notify=["x" * 100_000]))) == {"complainant.notify"}
    assert set(errors(body(notify=list(range(100_000))))) == {"complainant.notify"}


@pytest.mark.parametrize("value", ["U123", "u" + "0" * 32, "U" + "G" * 32, 42, "U" + "0" * 33])
def test_a_line_user_id_must_look_like_one(value: Any) -> None:
    assert set(errors(body(line_user_id=value))) == {"complainant.line_user_id"}


def test_an_anonymous_complainant_cannot_ask_for_messages() -> None:
    data = body()
    data["complainant"] = {"anonymous": True, "notify": ["sms"], "line_user_id": LINE_ID}
    assert errors(data) == {
        "complainant.notify": "must not be given for an anonymous complaint",
        "complainant.line_user_id": "must not be given for an anonymous complaint",
    }
    data["complainant"] = {"anonymous": True, "notify": []}
    assert parse_complaint(data, NOW).complainant.identity() == {}


def test_only_consented_details_are_disclosed() -> None:
    identity = {
        "name": "สมหญิง ใจดี",
        "national_id": "1101700230708",
        "phone": "+66812345678",
        "email": "somying@example.org",
        "line_user_id": LINE_ID,
        "notify": "email",
    }
    assert disclosed(identity) == {"email": "somying@example.org"}
    # A consent whose detail is gone (or a tampered list) discloses nothing more.
    assert disclosed({**identity, "notify": "sms,fax,name", "phone": ""}) == {}


def test_consent_changes_the_request_hash() -> None:
    key = b"k" * 32
    a = parse_complaint(body(email="a@example.org"), NOW)
    b = parse_complaint(body(email="a@example.org", notify=["email"]), NOW)
    assert a.request_hash(key) != b.request_hash(key)
