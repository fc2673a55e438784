"""Every filing rule of intake's validation, without I/O."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.intake.domain.validation import (
    DESCRIPTION_MAX,
    SUBJECT_MAX,
    InvalidComplaint,
    parse_complaint,
)
from shared.thai_calendar import BANGKOK

NOW = dt.datetime(2026, 3, 1, 5, 0, tzinfo=dt.UTC)
GOOD_PIN = "1101700230708"


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": "walk_in",
        "district_code": "5001",
        "subdistrict_code": "500101",
        "category": "land",
        "subject": "  บุกรุกที่ดิน  ",
        "description": "รายละเอียด",
        "complainant": {"anonymous": False, "name": "สมชาย ใจดี"},
    }
    data.update(overrides)
    return data


def person(**fields: Any) -> dict[str, Any]:
    return {"anonymous": False, "name": "สมชาย ใจดี", **fields}


def errors(data: Any, **kw: Any) -> dict[str, str]:
    with pytest.raises(InvalidComplaint) as info:
        parse_complaint(data, NOW, **kw)
    return {e.field: e.message for e in info.value.errors}


def test_good_request_is_normalised() -> None:
    cmd = parse_complaint(body(channel_ref=" LINE-1 "), NOW)
    assert cmd.subject == "บุกรุกที่ดิน"
    assert cmd.province_code == "50" and cmd.district_code == "5001"
    assert cmd.channel_ref == "LINE-1"
    assert cmd.received_at is None
    assert cmd.complainant.name == "สมชาย ใจดี"


def test_every_bad_field_is_reported_at_once() -> None:
    bad = {
        "channel": "pigeon",
        "district_code": 5001,
        "category": "nope",
        "subject": " ",
        "received_at": "yesterday",
        "surprise": 1,
        "complainant": {"anonymous": False, "national_id": "1101700230700", "phone": "12"},
    }
    assert set(errors(bad)) == {
        "channel",
        "district_code",
        "category",
        "subject",
        "description",
        "received_at",
        "surprise",
        "complainant.name",
        "complainant.national_id",
        "complainant.phone",
    }


def test_body_must_be_an_object() -> None:
    assert errors([1, 2]) == {"body": "must be a JSON object"}


@pytest.mark.parametrize("code", ["9999", "50", "500101", "1051"])
def test_district_must_be_a_current_dopa_code(code: str) -> None:
    assert "district_code" in errors(body(district_code=code, subdistrict_code=None))


def test_bangkok_khet_is_a_district() -> None:
    assert (
        parse_complaint(body(district_code="1050", subdistrict_code=None), NOW).province_code
        == "10"
    )


def test_unknown_subdistrict() -> None:
    assert errors(body(subdistrict_code="509999")) == {
        "subdistrict_code": "is not a current DOPA subdistrict code"
    }


def test_subdistrict_outside_the_district() -> None:
    # 500203 (Ban Luang) is in Chom Thong (5002), not in Mueang Chiang Mai (5001).
    assert errors(body(subdistrict_code="500203")) == {
        "subdistrict_code": "is not inside district 5001"
    }


def test_subdistrict_is_optional() -> None:
    assert parse_complaint(body(subdistrict_code=None), NOW).subdistrict_code is None


@pytest.mark.parametrize(
    "field,limit", [("subject", SUBJECT_MAX), ("description", DESCRIPTION_MAX)]
)
def test_text_length_limits(field: str, limit: int) -> None:
    assert parse_complaint(body(**{field: "ก" * limit}), NOW)
    assert field in errors(body(**{field: "ก" * (limit + 1)}))


@pytest.mark.parametrize("value", ["", "   ", None])
def test_subject_and_description_required(value: str | None) -> None:
    assert {"subject", "description"} <= set(errors(body(subject=value, description=value)))


@pytest.mark.parametrize("pin", [GOOD_PIN, "1-1017-00230-70-8", "1 1017 00230 70 8"])
def test_valid_national_id_is_stored_as_13_digits(pin: str) -> None:
    cmd = parse_complaint(body(complainant=person(national_id=pin)), NOW)
    assert cmd.complainant.national_id == GOOD_PIN


@pytest.mark.parametrize(
    "pin",
    [
        "1101700230709",  # wrong check digit
        "110170023070",  # 12 digits
        "0101700230704",  # first digit 0 (checksum right)
        "11017002307O8",  # letter O
    ],
)
def test_invalid_national_id(pin: str) -> None:
    assert "complainant.national_id" in errors(body(complainant=person(national_id=pin)))


@pytest.mark.parametrize(
    "raw,e164",
    [
        ("0812345678", "+66812345678"),
        ("081-234-5678", "+66812345678"),
        ("+66 81 234 5678", "+66812345678"),
        ("0612345678", "+66612345678"),
        ("021234567", "+6621234567"),  # Bangkok landline
        ("053-123-456", "+6653123456"),  # Chiang Mai landline
    ],
)
def test_thai_phones_are_normalised_to_e164(raw: str, e164: str) -> None:
    assert parse_complaint(body(complainant=person(phone=raw)), NOW).complainant.phone == e164


@pytest.mark.parametrize("raw", ["12345", "1567", "+14155552671", "not a phone", "08123"])
def test_invalid_phones(raw: str) -> None:
    assert "complainant.phone" in errors(body(complainant=person(phone=raw)))


@pytest.mark.parametrize(
    "email,ok",
    [
        ("somchai@example.co.th", True),
        ("a.b+c@mail.go.th", True),
        ("no-at-sign", False),
        ("two@@at.th", False),
        ("space in@x.th", False),
        ("nodot@localhost", False),
    ],
)
def test_email_syntax(email: str, ok: bool) -> None:
    data = body(complainant=person(email=email))
    if ok:
        assert parse_complaint(data, NOW).complainant.email == email
    else:
        assert "complainant.email" in errors(data)


def test_anonymous_complaint_carries_no_identity() -> None:
    cmd = parse_complaint(body(complainant={"anonymous": True}), NOW)
    assert cmd.complainant.anonymous and cmd.complainant.identity() == {}


def test_anonymous_complaint_with_identity_fields_names_each() -> None:
    got = errors(
        body(complainant={"anonymous": True, "name": "x", "phone": "0812345678", "email": "  "})
    )
    assert got == {
        "complainant.name": "must not be given for an anonymous complaint",
        "complainant.phone": "must not be given for an anonymous complaint",
    }


def test_named_complaint_needs_a_name() -> None:
    assert errors(body(complainant={"anonymous": False, "phone": "0812345678"})) == {
        "complainant.name": "is required"
    }


@pytest.mark.parametrize("complainant", [None, "anon", {"name": "x"}, {"anonymous": "yes"}])
def test_complainant_shape(complainant: Any) -> None:
    assert any(k.startswith("complainant") for k in errors(body(complainant=complainant)))


def test_received_at_naive_means_bangkok() -> None:
    cmd = parse_complaint(body(received_at="2026-03-01 09:00:00"), NOW)
    assert cmd.received_at == dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)


def test_received_at_aware_is_converted_to_utc() -> None:
    cmd = parse_complaint(body(received_at="2026-02-28T23:30:00+07:00"), NOW)
    assert cmd.received_at == dt.datetime(2026, 2, 28, 16, 30, tzinfo=dt.UTC)
    assert cmd.received_at is not None and cmd.received_at.tzinfo is dt.UTC


def test_received_at_allows_five_minutes_of_clock_skew() -> None:
    soon = (NOW + dt.timedelta(minutes=4, seconds=59)).isoformat()
    assert parse_complaint(body(received_at=soon), NOW).received_at is not None
    late = (NOW + dt.timedelta(minutes=5, seconds=1)).isoformat()
    assert errors(body(received_at=late)) == {"received_at": "must not be in the future"}


def test_naive_future_in_bangkok_time_is_rejected() -> None:
    # 12:10 in Bangkok is 05:10 UTC: ten minutes after NOW.
    local = NOW.astimezone(BANGKOK).replace(tzinfo=None) + dt.timedelta(minutes=10)
    assert "received_at" in errors(body(received_at=local.isoformat()))


@pytest.mark.parametrize("value", ["2026-13-01T00:00", 20260301, "1/3/2026"])
def test_received_at_must_be_iso(value: Any) -> None:
    assert "received_at" in errors(body(received_at=value))


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+07:00", "0001-01-01T03:00:00"])
def test_received_at_before_the_first_utc_day_is_refused(value: str) -> None:
    # Naive means Bangkok (+07:00): both lie before 0001-01-01 in UTC.
    assert errors(body(received_at=value)) == {"received_at": "is out of range"}


def test_unknown_complainant_field() -> None:
    assert errors(body(complainant=person(nickname="x"))) == {
        "complainant.nickname": "unknown field"
    }


@pytest.mark.parametrize(
    "key,ok",
    [("abc-123", True), ("", False), ("ก", False), ("x" * 201, False), ("has space", False)],
)
def test_idempotency_key_syntax(key: str, ok: bool) -> None:
    if ok:
        assert parse_complaint(body(), NOW, idempotency_key=key).idempotency_key == key
    else:
        assert "Idempotency-Key" in errors(body(), idempotency_key=key)


def test_abolished_subdistrict_is_not_current() -> None:
    # 100205 was abolished in 2006 (geothai.abolished); old records may hold it, filings not.
    assert "subdistrict_code" in errors(body(district_code="1002", subdistrict_code="100205"))
