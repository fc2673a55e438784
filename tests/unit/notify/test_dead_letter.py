"""A dead message's dead letter carries the headers `damrong dlq` reads, once each."""

from __future__ import annotations

from services.notify.domain.dead_letter import dead_letter_headers, dlq_error


def test_headers_are_the_original_plus_the_dead_letter_ones() -> None:
    original = [("ce_id", b"1"), ("ce_signature", b"sig"), ("dlq_error", b"old")]
    headers = dead_letter_headers(original, dlq_error("sms", "http 400"), "damrong-notify", "t/0/7")
    assert headers == [
        ("ce_id", b"1"),
        ("ce_signature", b"sig"),
        ("dlq_error", b"notify sms: http 400"),
        ("dlq_group", b"damrong-notify"),
        ("dlq_origin", b"t/0/7"),
    ]


def test_an_unknown_origin_is_said_so_and_errors_are_bounded() -> None:
    headers = dict(dead_letter_headers([], dlq_error("email", "x" * 5000), "g", None))
    assert headers["dlq_origin"] == b"unknown"
    assert len(headers["dlq_error"]) == 1000
