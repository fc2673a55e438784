"""Open311's pure documents: JSON and XML from one structure, the answers' fields, the
status mapping and the catalogue (no I/O)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from defusedxml import ElementTree as SafeET  # type: ignore[import-untyped]

from services.intake.open311.domain import answers
from services.intake.open311.domain.catalogue import SERVICES, UNPUBLISHED, service
from services.intake.open311.domain.documents import Document, json_bytes, render, xml_bytes
from services.intake.open311.domain.errors import ErrorItem, Open311Error, bad_fields
from services.intake.open311.domain.views import (
    RequestView,
    from_public_case,
    public_state,
    request_fields,
)
from services.intake.tracking.domain.view import PublicCase
from shared.codes import CLOSURE_REASON_LABELS, CaseStatus, CategoryCode, ClosureReason

NOW = dt.datetime(2026, 12, 4, 5, 0, tzinfo=dt.UTC)


def _view(**over: object) -> RequestView:
    values: dict[str, object] = {
        "tracking_no": "8405-2570-0000042",
        "category": "land",
        "district_code": "8405",
        "subdistrict_code": "840503",
        "status": "closed",
        "closure_reason": "resolved",
        "agency": "สำนักงานที่ดินจังหวัดสุราษฎร์ธานี",
        "received_at": NOW - dt.timedelta(days=3),
        "updated_at": NOW,
    }
    values.update(over)
    return RequestView(**values)  # type: ignore[arg-type]


def test_xml_has_the_declaration_and_items_named_by_their_list() -> None:
    doc = Document("services", [{"service_code": "land", "metadata": True, "group": None}])
    raw = xml_bytes(doc)
    assert raw.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<services><service>')
    root = SafeET.fromstring(raw)
    item = root.find("service")
    assert item is not None
    assert item.findtext("metadata") == "true"
    assert item.find("group") is not None and item.findtext("group") == ""


def test_json_is_the_bare_array_with_nulls_and_booleans() -> None:
    doc = Document("services", [{"service_code": "land", "metadata": False, "group": None}])
    assert json.loads(json_bytes(doc)) == [
        {"service_code": "land", "metadata": False, "group": None}
    ]


def test_nested_lists_use_the_specifications_item_names() -> None:
    svc = service("public_utilities")
    assert svc is not None
    root = SafeET.fromstring(xml_bytes(answers.definition(svc)))
    assert root.tag == "service_definition"
    values = root.findall("attributes/attribute/values/value")
    assert [v.findtext("key") for v in values][:2] == ["electricity", "water"]


def test_thai_text_is_utf8_in_both_formats() -> None:
    doc = answers.services()
    body, media = render(doc, "xml")
    assert media == "text/xml; charset=utf-8"
    assert "ขอความช่วยเหลือ".encode() in body
    body, media = render(doc, "json")
    assert media == "application/json; charset=utf-8"
    assert json.loads(body)[0]["service_name"] == "ขอความช่วยเหลือ"


def test_characters_xml_cannot_carry_are_dropped_not_raised() -> None:
    raw = xml_bytes(Document("errors", [{"code": 400, "description": "bad\x00\x1b text"}]))
    assert SafeET.fromstring(raw).findtext("error/description") == "bad text"


def test_markup_in_text_is_escaped_and_reads_back() -> None:
    fields = request_fields(_view(status="forwarded", agency='<a href="x">&amp;</a>]]>'))
    raw = xml_bytes(Document("service_requests", [fields]))
    assert b"<a href" not in raw
    parsed = SafeET.fromstring(raw).findtext("request/agency_responsible")
    assert parsed == '<a href="x">&amp;</a>]]>'


def test_every_category_is_a_service_with_a_thai_name() -> None:
    assert [s.code for s in SERVICES] == [c.value for c in CategoryCode]
    listed = json.loads(json_bytes(answers.services()))
    assert {s["type"] for s in listed} == {"realtime"}
    assert all(s["keywords"] and s["group"] and s["service_name"] for s in listed)
    assert {s["service_code"] for s in listed if s["metadata"]} == {
        "informal_debt",
        "land",
        "public_utilities",
        "environment",
    }


def test_a_service_without_attributes_has_an_empty_definition() -> None:
    svc = service("other")
    assert svc is not None and not svc.metadata
    assert json.loads(json_bytes(answers.definition(svc))) == {
        "service_code": "other",
        "attributes": [],
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("filed", "open"),
        ("accepted", "open"),
        ("in_progress", "open"),
        ("forwarded", "open"),
        ("reopened", "open"),
        ("closed", "closed"),
        ("rejected", "closed"),
    ],
)
def test_every_case_status_maps_to_open_or_closed(status: str, expected: str) -> None:
    assert public_state(status, None, None).status == expected
    assert {s.value for s in CaseStatus} >= {status}


@pytest.mark.parametrize("reason", list(ClosureReason))
def test_a_closed_case_shows_its_closure_reason_in_thai(reason: ClosureReason) -> None:
    state = public_state("closed", reason.value, None)
    assert state.notes == CLOSURE_REASON_LABELS[reason][0]


def test_a_rejection_shows_a_fixed_text_never_the_officers_reason() -> None:
    state = public_state("rejected", None, None)
    assert state.status == "closed" and state.notes == "ไม่รับไว้พิจารณา"


def test_an_unknown_status_is_open_without_notes() -> None:
    assert public_state("escalated", None, "อำเภอ").agency == "อำเภอ"
    assert public_state("escalated", None, None).status == "open"
    assert public_state("escalated", None, None).notes is None


def test_the_forwarding_agency_is_agency_responsible() -> None:
    fields = request_fields(_view(status="forwarded", closure_reason=None))
    assert fields["status"] == "open"
    assert fields["agency_responsible"] == "สำนักงานที่ดินจังหวัดสุราษฎร์ธานี"


def test_a_request_has_the_specifications_fields_in_order_and_no_free_text() -> None:
    fields = request_fields(_view())
    assert list(fields) == [
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ]
    assert fields["description"] is None
    assert fields["status_notes"] == "แก้ไขแล้วเสร็จ"
    assert fields["address"] == "เกาะเต่า เกาะพะงัน สุราษฎร์ธานี"
    assert fields["address_id"] == "840503" and fields["zipcode"] == "84360"
    assert fields["requested_datetime"] == "2026-12-01T12:00:00+07:00"  # w3, Bangkok


def test_a_district_only_request_has_the_district_as_address_id() -> None:
    fields = request_fields(_view(subdistrict_code=None))
    assert fields["address_id"] == "8405" and fields["zipcode"] is None
    assert fields["address"] == "เกาะพะงัน สุราษฎร์ธานี"


def test_a_public_case_becomes_a_request_view() -> None:
    case = PublicCase(
        complaint_id=uuid.uuid4(),
        tracking_no="1001-2570-0000001",
        status=CaseStatus.closed,
        received_at=NOW,
        updated_at=NOW,
        closure_reason=ClosureReason.duplicate,
        agency=None,
        category="land",
        district_code="1001",
        subdistrict_code=None,
    )
    fields = request_fields(from_public_case(case))
    assert (fields["status"], fields["status_notes"]) == ("closed", "เรื่องซ้ำ")


def test_whistle_blowing_categories_are_unpublished() -> None:
    assert {"official_misconduct", "drugs", "gambling", "tip_off"} == UNPUBLISHED


def test_errors_are_code_and_description_in_both_formats() -> None:
    exc = bad_fields([("description", "is required"), ("address_id", "is wrong")])
    assert exc.status == 400
    doc = answers.errors(exc.errors)
    assert json.loads(json_bytes(doc)) == [
        {"code": 400, "description": "description: is required"},
        {"code": 400, "description": "address_id: is wrong"},
    ]
    root = SafeET.fromstring(xml_bytes(doc))
    assert [e.findtext("code") for e in root.findall("error")] == ["400", "400"]
    one = Open311Error(400, [ErrorItem(413, "too big")])
    assert json.loads(json_bytes(answers.errors(one.errors)))[0]["code"] == 413


def test_receipt_and_token_carry_the_tracking_number() -> None:
    receipt = json.loads(json_bytes(answers.receipt("8405-2570-0000042")))
    assert receipt[0]["service_request_id"] == "8405-2570-0000042"
    assert receipt[0]["account_id"] is None and "token" not in receipt[0]
    token = json.loads(json_bytes(answers.token("8405-2570-0000042")))
    assert token == [{"service_request_id": "8405-2570-0000042", "token": "8405-2570-0000042"}]


def test_discovery_names_the_specification_and_both_formats() -> None:
    doc = json.loads(json_bytes(answers.discovery("https://x/open311/v2", "c", "k", "test")))
    (endpoint,) = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert endpoint["type"] == "test" and endpoint["url"] == "https://x/open311/v2"
