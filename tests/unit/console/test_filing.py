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


def test_consent_is_sent_for_a_named_complainant_in_a_fixed_order() -> None:
    form = f.read_form(TYPED, notify=["email", "sms", "email"])
    assert form.notify == ("sms", "email")
    assert f.to_request(form)["complainant"]["notify"] == ["sms", "email"]
    assert "notify" not in f.to_request(f.read_form(TYPED))["complainant"]  # none chosen


def test_consent_keeps_only_the_offered_channels_whatever_is_posted() -> None:
    posted: list[object] = ["line", "fax", "", "SMS", None, 7, "x" * 100_000, ["sms"], "sms"]
    assert f.read_form(TYPED, notify=posted).notify == ("sms",)
    assert f.read_form(TYPED, notify=["ข้อความ", "\x00sms"]).notify == ()


def test_an_anonymous_complainant_sends_no_consent_even_if_ticked() -> None:
    form = f.read_form({**TYPED, "anonymous": "yes"}, notify=["sms", "email"])
    assert f.to_request(form)["complainant"] == {"anonymous": True}


def test_intakes_consent_errors_are_named_beside_the_consent_field() -> None:
    cases = {
        "sms needs complainant.phone": "filing.error.notify_sms",
        "sms needs a mobile complainant.phone": "filing.error.notify_sms_mobile",
        "email needs complainant.email": "filing.error.notify_email",
        "line needs complainant.line_user_id": "filing.error.other",
    }
    for message, key in cases.items():
        [problem] = f.explain({"complainant.notify": message})
        assert (problem.field, problem.key) == ("notify", key), message
    # After the identity fields, as on the page.
    problems = f.explain(
        {"complainant.notify": "sms needs complainant.phone", "subject": "is required"}
    )
    assert [p.field for p in problems] == ["subject", "notify"]


def test_consent_texts_exist_in_both_languages() -> None:
    catalogue = load_catalogue()
    keys = [f"filing.notify.{c}" for c in f.NOTIFY_OPTIONS]
    keys += ["filing.hint.notify", "filing.hint.notify_what"]
    keys += [f"filing.secret.{k}" for k in ("title", "once", "how", "print", "gone")]
    for key in keys:
        assert catalogue[key]["th"] and catalogue[key]["en"], key
    assert "{url}" in catalogue["filing.secret.how"]["th"]
