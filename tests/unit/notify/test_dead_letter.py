"""A dead message's dead letter: its event's record, with the headers `damrong dlq` reads."""

from __future__ import annotations

import datetime as dt
import uuid

from services.notify.domain.dead_letter import dead_letter_headers, dlq_error
from services.notify.recording import record_of
from shared.envelope_codec import from_record
from shared.events import CaseAccepted, Envelope


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


def test_outside_a_consumer_the_record_is_the_events_own_encoding() -> None:
    now = dt.datetime(2026, 3, 2, 4, tzinfo=dt.UTC)
    env = Envelope(
        event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        version=2,
        source="/test",
        occurred_at=now,
        recorded_at=now,
        data=CaseAccepted(actor="o"),
    )
    record = record_of(env)
    assert record.origin is None and record.key == str(env.complaint_id).encode()
    assert from_record(record.headers, record.value) == env
