"""The console's public tracking form (pure rules): what a citizen types, made into
intake's query; hostile input named beside its field, never passed on."""

from __future__ import annotations

from services.console.tracking.form import normalise_number, parse_form, wait_minutes


def test_a_number_copied_from_a_receipt_is_read_as_typed() -> None:
    assert normalise_number("๕๐๐๑ - ๒๕๖๙ - ๐๐๐๐๐๑๒") == "5001-2569-0000012"
    assert normalise_number(" 5001-2569-0000012 ") == "5001-2569-0000012".strip()
    form = parse_form({"tracking_no": "5001-2569-0000012", "phone_last4": "๕๖๗๘"})
    assert form.errors == {}
    assert form.query == {"phone_last4": "5678"}


def test_the_secret_is_passed_as_typed_and_one_proof_only() -> None:
    form = parse_form({"tracking_no": "5001-2569-0000012", "secret": "abcd-efgh-jkmn-pqrs"})
    assert form.errors == {} and form.query == {"secret": "abcd-efgh-jkmn-pqrs"}
    both = parse_form({"tracking_no": "5001-2569-0000012", "phone_last4": "1234", "secret": "x"})
    assert both.errors == {"phone_last4": "tracking.error.both"}
    neither = parse_form({"tracking_no": "5001-2569-0000012"})
    assert neither.errors == {"phone_last4": "tracking.error.proof_missing"}


def test_hostile_input_is_named_beside_its_field() -> None:
    cases = [
        ({}, "tracking_no", "tracking.error.tracking_no_missing"),
        ({"tracking_no": "9" * 1_000_000}, "tracking_no", "tracking.error.tracking_no_shape"),
        (
            {"tracking_no": "5001-2569-000001\u0000"},
            "tracking_no",
            "tracking.error.tracking_no_shape",
        ),
        ({"tracking_no": "<script>"}, "tracking_no", "tracking.error.tracking_no_shape"),
    ]
    for data, name, key in cases:
        form = parse_form({"phone_last4": "1234", **data})
        assert form.errors == {name: key}, data
        assert len(form.tracking_no) <= 64
    for phone in ("12a4", "12345", "\uff11\uff12\uff13\uff14", "1" * 100_000):
        form = parse_form({"tracking_no": "5001-2569-0000012", "phone_last4": phone})
        assert form.errors == {"phone_last4": "tracking.error.phone_shape"}, phone
        assert len(form.phone_last4) <= 64
    long_secret = parse_form({"tracking_no": "5001-2569-0000012", "secret": "ก" * 100_000})
    assert long_secret.errors == {"secret": "tracking.error.secret_shape"}
    assert long_secret.secret == ""
    # Not a string (a file field in a multipart post): as if left blank.
    odd = parse_form({"tracking_no": object(), "phone_last4": object()})
    assert set(odd.errors) == {"tracking_no", "phone_last4"}


def test_retry_after_becomes_whole_minutes() -> None:
    assert wait_minutes("3600") == 60
    assert wait_minutes("61") == 2
    assert wait_minutes("1") == 1
    assert wait_minutes(None) == 1
    assert wait_minutes("soon") == 1
