"""Open311's form parsing (``POST requests``) and its hostile input: every bad body is a
400 naming what is wrong, never an exception of another kind."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest

from services.intake.domain.validation import InvalidComplaint, parse_complaint
from services.intake.open311.domain.errors import Open311Error
from services.intake.open311.domain.form import (
    DESCRIPTION_MAX,
    MAX_FIELDS,
    filing,
    parameter,
    read_form,
    subject_of,
)

FORM = "application/x-www-form-urlencoded"
NOW = dt.datetime(2026, 12, 4, 5, 0, tzinfo=dt.UTC)


def _form(**fields: str) -> dict[str, list[str]]:
    return read_form(urlencode(fields).encode(), FORM)


def _descriptions(exc: pytest.ExceptionInfo[Open311Error]) -> list[str]:
    return [e.description for e in exc.value.errors]


def test_a_full_request_becomes_the_rest_filing_document() -> None:
    form = _form(
        service_code="land",
        address_id="840503",
        description="มีคนบุกรุกที่สาธารณะริมคลอง\nทำรั้วปิดทางเดิน",
        first_name="สมชาย",
        last_name="ใจดี",
        phone="0812345678",
        email="somchai@example.com",
        device_id="dev-1",
        account_id="acc-9",
        media_url="https://example.com/a.jpg",
        jurisdiction_id="damrongdhama.moi.go.th",
    )
    form["attribute[land_document]"] = ["chanote"]
    doc = filing(form, "mobile_app")
    assert doc == {
        "channel": "mobile_app",
        "category": "land",
        "district_code": "8405",
        "subdistrict_code": "840503",
        "subject": "มีคนบุกรุกที่สาธารณะริมคลอง",
        "description": "มีคนบุกรุกที่สาธารณะริมคลอง\nทำรั้วปิดทางเดิน\n\nเอกสารสิทธิ์ของที่ดินที่เกี่ยวข้อง: โฉนดที่ดิน",
        "complainant": {
            "anonymous": False,
            "name": "สมชาย ใจดี",
            "phone": "0812345678",
            "email": "somchai@example.com",
        },
    }
    cmd = parse_complaint(doc, NOW)  # what intake files, validated as every filing
    assert cmd.complainant.phone == "+66812345678"
    assert "dev-1" not in str(doc) and "acc-9" not in str(doc) and "example.com/a" not in str(doc)


def test_without_names_phone_or_email_the_complaint_is_anonymous() -> None:
    doc = filing(_form(service_code="other", address_id="8405", description="x"), "web")
    assert doc["complainant"] == {"anonymous": True}
    assert "subdistrict_code" not in doc


def test_contact_details_without_a_name_are_refused_naming_first_name() -> None:
    with pytest.raises(Open311Error) as exc:
        filing(
            _form(service_code="other", address_id="8405", description="x", email="a@b.co"), "web"
        )
    assert exc.value.status == 400
    assert _descriptions(exc)[0].startswith("first_name: is required")


def test_description_is_required_and_limited_to_the_specs_4000() -> None:
    with pytest.raises(Open311Error) as exc:
        filing(_form(service_code="other", address_id="8405"), "web")
    assert _descriptions(exc) == ["description: is required: describe what happened"]
    with pytest.raises(Open311Error) as exc:
        filing(_form(service_code="other", address_id="8405", description="ก" * 4001), "web")
    assert _descriptions(exc) == [f"description: must be at most {DESCRIPTION_MAX:,} characters"]


def test_a_missing_service_code_is_400_and_an_unknown_one_404() -> None:
    with pytest.raises(Open311Error) as exc:
        filing(_form(address_id="8405", description="x"), "web")
    assert exc.value.status == 400 and "service_code" in _descriptions(exc)[0]
    with pytest.raises(Open311Error) as exc:
        filing(_form(service_code="pothole", address_id="8405", description="x"), "web")
    assert exc.value.status == 404 and "'pothole' was not found" in _descriptions(exc)[0]


def test_every_bad_parameter_is_named_at_once() -> None:
    form = _form(service_code="public_utilities", lat="200", long="x", description="\x00")
    form["attribute[nope]"] = ["1"]
    with pytest.raises(Open311Error) as exc:
        filing(form, "web")
    fields = [d.split(":")[0] for d in _descriptions(exc)]
    assert fields == ["description", "lat", "attribute[nope]", "attribute[utility]"]


def test_only_coordinates_cannot_place_a_request() -> None:
    with pytest.raises(Open311Error) as exc:
        filing(_form(service_code="other", lat="9.7", long="100.0", description="x"), "web")
    assert "district cannot be known" in _descriptions(exc)[0]
    with pytest.raises(Open311Error) as exc:
        filing(_form(service_code="other", lat="9.7", description="x"), "web")
    assert _descriptions(exc)[0].startswith("long: is required")


def test_no_location_at_all_says_the_district_cannot_be_known() -> None:
    with pytest.raises(Open311Error) as exc:
        filing(_form(service_code="other", description="x"), "web")
    assert _descriptions(exc)[0].startswith("address_id: a location is required")


@pytest.mark.parametrize(
    ("address_id", "message"),
    [
        ("999999", "999999 is not a current DOPA subdistrict code"),
        ("9999", "9999 is not a current DOPA district code"),
        ("84", "must be a DOPA subdistrict code (6 digits) or district code (4 digits)"),
        ("8405-", "must be a DOPA subdistrict code (6 digits) or district code (4 digits)"),
        ("٨٤٠٥", "must be a DOPA subdistrict code (6 digits) or district code (4 digits)"),
    ],
)
def test_bad_address_ids_are_named(address_id: str, message: str) -> None:
    with pytest.raises(Open311Error) as exc:
        filing(_form(service_code="other", address_id=address_id, description="x"), "web")
    assert _descriptions(exc) == [f"address_id: {message}"]


def test_thai_digits_in_an_address_id_are_read() -> None:
    doc = filing(_form(service_code="other", address_id="๘๔๐๕๐๓", description="x"), "web")
    assert (doc["district_code"], doc["subdistrict_code"]) == ("8405", "840503")


def test_an_address_string_places_the_request() -> None:
    doc = filing(
        _form(
            service_code="other",
            address_string="12/3 หมู่ 4 ต.เกาะเต่า อ.เกาะพะงัน จ.สุราษฎร์ธานี",
            description="x",
        ),
        "web",
    )
    assert (doc["district_code"], doc["subdistrict_code"]) == ("8405", "840503")


def test_attributes_are_checked_against_the_definition() -> None:
    base = {"service_code": "environment", "address_id": "8405", "description": "x"}
    form = _form(**base)
    form["attribute[pollution][]"] = ["air", "waste"]
    form["attribute[since]"] = ["2026-12-01T08:00:00+07:00"]
    doc = filing(form, "web")
    assert str(doc["description"]).endswith(
        "ลักษณะของปัญหา (เลือกได้หลายข้อ): อากาศ ฝุ่น ควัน, ขยะ\nเริ่มเกิดเหตุเมื่อใด: 2026-12-01T08:00:00+07:00"
    )
    bad = _form(**base)
    bad["attribute[pollution][]"] = ["lava"]
    bad["attribute[since]"] = ["yesterday"]
    bad["attribute[[x]"] = ["1"]
    with pytest.raises(Open311Error) as exc:
        filing(bad, "web")
    assert _descriptions(exc) == [
        "attribute[[x]: is not attribute[code] or attribute[code][]",
        "attribute[pollution]: must be one of: air, water, waste, noise, forest",
        "attribute[since]: must be an ISO 8601 date and time",
    ]


def test_a_number_attribute_must_be_a_number_and_a_single_value_list_one_value() -> None:
    form = _form(service_code="informal_debt", address_id="8405", description="x")
    form["attribute[debt_amount]"] = ["ห้าหมื่น"]
    with pytest.raises(Open311Error) as exc:
        filing(form, "web")
    assert _descriptions(exc) == ["attribute[debt_amount]: must be a number"]
    form = _form(service_code="land", address_id="8405", description="x")
    form["attribute[land_document]"] = ["chanote", "ns3"]
    with pytest.raises(Open311Error) as exc:
        filing(form, "web")
    assert _descriptions(exc) == ["attribute[land_document]: takes one value"]


def test_a_parameter_given_twice_is_refused() -> None:
    form = read_form(b"service_code=other&address_id=8405&description=a&description=b", FORM)
    with pytest.raises(Open311Error) as exc:
        filing(form, "web")
    assert _descriptions(exc) == ["description: is given more than once"]


def test_subject_is_the_first_line_shortened() -> None:
    assert subject_of("  หัวข้อ\nรายละเอียด") == "หัวข้อ"
    long = subject_of("ก" * 500)
    assert len(long) == 120 and long.endswith("…")


def test_rest_field_names_map_back_to_open311_parameters() -> None:
    doc = filing(
        _form(service_code="other", address_id="8405", description="x", first_name="ก", phone="12"),
        "web",
    )
    with pytest.raises(InvalidComplaint) as exc:
        parse_complaint(doc, NOW)
    assert [parameter(e.field) for e in exc.value.errors] == ["phone"]


# --- hostile bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"a=1", "application/json", f"the body must be {FORM} (GeoReport v2 POST)"),
        (b"a=1", None, f"the body must be {FORM} (GeoReport v2 POST)"),
        (b"a=1", "multipart/form-data; boundary=x", f"the body must be {FORM} (GeoReport v2 POST)"),
        (b"a=1", f"{FORM}; charset=iso-8859-11", "the body must be UTF-8 (charset=utf-8)"),
        (b"description=\xde\xe4", FORM, "the body is not UTF-8 text"),
        (b"description=%DE%E4", FORM, "the body is not UTF-8 text"),
        (b"description=%ED%A0%80", FORM, "the body is not UTF-8 text"),  # a lone surrogate
        ("&".join(["a=1"] * (MAX_FIELDS + 1)).encode(), FORM, "the body has more than 100 fields"),
    ],
)
def test_unreadable_bodies_are_400(body: bytes, content_type: str | None, message: str) -> None:
    with pytest.raises(Open311Error) as exc:
        read_form(body, content_type)
    assert exc.value.status == 400
    assert _descriptions(exc) == [message]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"&&&===&",
        b"%",
        b"%zz=%zz",
        b"service_code",
        b"attribute[a][b][c][d]=1&attribute[]=2&attribute=3",
        b"[" * 10_000 + b"=1",
        b"description=" + b"%00" * 100,
        ("description=" + "ก" * 50_000).encode(),
        b"address_string=" + ("%E0%B8%81+" * 5_000).encode(),
        b"address_id=" + b"9" * 5_000,
    ],
)
def test_hostile_forms_end_in_an_open311_error(body: bytes) -> None:
    form = read_form(body, f"{FORM}; charset=UTF-8")
    with pytest.raises(Open311Error) as exc:
        filing(form, "web")
    assert exc.value.status in (400, 404)
    assert exc.value.errors


def test_deeply_nested_attribute_keys_are_named_not_parsed() -> None:
    form = read_form(
        b"service_code=other&address_id=8405&description=x&" + b"attribute" + b"[a]" * 500 + b"=1",
        FORM,
    )
    with pytest.raises(Open311Error) as exc:
        filing(form, "web")
    assert _descriptions(exc)[0].endswith("is not attribute[code] or attribute[code][]")
    assert len(_descriptions(exc)[0]) < 200
