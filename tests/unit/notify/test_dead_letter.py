"""A dead message's dead letter: its event's record, with the headers `damrong dlq` reads."""

from __future__ import annotations

import datetime as dt
import uuid

from aiokafka.structs import ConsumerRecord

from services.notify.domain.dead_letter import dead_letter_headers, dlq_error
from services.notify.recording import lend_records, record_of
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


def _event() -> Envelope:
    now = dt.datetime(2026, 3, 2, 4, tzinfo=dt.UTC)
    return Envelope(
        event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        version=2,
        source="/test",
        occurred_at=now,
        recorded_at=now,
        data=CaseAccepted(actor="o"),
    )


def test_outside_a_consumer_the_record_is_the_events_own_encoding() -> None:
    env = _event()
    record = record_of(env)
    assert record.origin is None and record.key == str(env.complaint_id).encode()
    assert from_record(record.headers, record.value) == env


async def test_during_a_batch_the_record_is_the_one_read_signature_and_all() -> None:
    env, other = _event(), _event()
    read: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        topic="events",
        partition=3,
        offset=41,
        timestamp=0,
        timestamp_type=0,
        key=b"k",
        value=b"as read",
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=7,
        headers=[("ce_signature", b"sig")],
    )
    async with lend_records(None, [(read, env)]):  # type: ignore[arg-type]  # no SQL here
        record = record_of(env)
        assert (record.origin, record.key, record.value) == ("events/3/41", b"k", b"as read")
        assert record.headers == [("ce_signature", b"sig")]
        assert record_of(other).origin is None  # not of this batch: its own encoding
    assert record_of(env).origin is None  # the batch is over: nothing is lent any more
