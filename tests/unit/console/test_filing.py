"""The filing form's pure rules: the request intake gets, and intake's errors explained."""

from __future__ import annotations

import uuid

from services.console.domain import filing as f
from services.console.templating import load_catalogue

TYPED = {
    "channel": "walk_in",
    "category": "land",
    "province_code": "50",
    "district_code": "5001",
    "subdistrict_code": "",
    "subject": "  รั้วรุกล้ำ  ",
    "description": "ล้อมรั้ว",
    "name": "นายสมชาย ใจดี",
    "phone": "081-234-5678",
    "email": "",
    "idempotency_key": "6f1c1d7e-3a57-4d4a-9b7c-0c8f3f0f9a11",
}


def test_the_request_leaves_out_blanks_and_the_province() -> None:
    body = f.to_request(f.read_form(TYPED))
    assert body == {
        "channel": "walk_in",
        "category": "land",
        "district_code": "5001",
        "subject": "รั้วรุกล้ำ",
        "description": "ล้อมรั้ว",
        "complainant": {"anonymous": False, "name": "นายสมชาย ใจดี", "phone": "081-234-5678"},
    }


def test_an_anonymous_request_carries_no_identity_even_if_typed() -> None:
    form = f.read_form({**TYPED, "anonymous": "yes"})
    assert form.anonymous
    assert f.to_request(form)["complainant"] == {"anonymous": True}


def test_the_idempotency_key_is_kept_or_replaced_when_unusable() -> None:
    assert f.read_form(TYPED).idempotency_key == TYPED["idempotency_key"]
    replaced = f.read_form({**TYPED, "idempotency_key": "x'; DROP"}).idempotency_key
    assert uuid.UUID(replaced).version == 4
    assert f.new_key() != f.new_key()


def test_intake_errors_become_messages_of_form_fields_in_page_order() -> None:
    problems = f.explain(
        {
            "complainant.phone": "is not a valid Thai mobile or landline number",
            "category": "is required",
            "subject": "must be at most 300 characters",
            "received_at": "something new",
        }
    )
    assert [(p.field, p.key, p.values) for p in problems] == [
        ("category", "filing.error.required", {}),
        ("subject", "filing.error.too_long", {"n": "300"}),
        ("phone", "filing.error.phone", {}),
        ("received_at", "filing.error.other", {"detail": "something new"}),
    ]


def test_a_province_without_a_district_is_caught_here() -> None:
    assert f.required_area(f.read_form({**TYPED, "district_code": ""})) == [
        f.FieldProblem("district_code", "filing.error.required")
    ]
    assert f.required_area(f.read_form(TYPED)) == []


def test_every_field_and_error_has_both_texts() -> None:
    catalogue = load_catalogue()
    keys = {f"filing.field.{name}" for name in f.FIELD_ORDER}
    keys |= {f"filing.error.{key}" for _, key in f._MESSAGES} | {"filing.error.other"}
    for key in sorted(keys):
        assert catalogue[key]["th"] and catalogue[key]["en"], key
    t_other = catalogue["filing.error.other"]["en"]
    assert "{detail}" in t_other


def test_options_in_the_users_language_and_dopa_order() -> None:
    places = [
        {"code": "5002", "name_th": "จอมทอง", "name_en": "Chom Thong"},
        {"code": "5001", "name_th": "เมืองเชียงใหม่", "name_en": "Mueang Chiang Mai"},
    ]
    assert [o.label for o in f.place_options(places, "th")] == ["เมืองเชียงใหม่", "จอมทอง"]
    codes = [{"code": "land", "label_th": "ที่ดิน", "label_en": "Land"}]
    assert f.code_options(codes, "en") == [f.Option("land", "Land")]
    assert f.province_of("5001") == "50" and f.province_of("") == ""
