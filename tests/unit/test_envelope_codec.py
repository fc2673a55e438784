"""The Kafka record format: round trips, cloudevents conformance, poison detection."""

from __future__ import annotations

import dataclasses
import datetime as dt

import orjson
import pytest
from cloudevents.core.bindings import kafka as ce_kafka

from shared.chain import GENESIS, compute_hash, seal
from shared.codes import CategoryCode, ChannelCode, ClosureReason
from shared.envelope_codec import (
    DecodeError,
    encode,
    from_record,
    link_from_record,
    sealed_record,
    to_record,
)
from shared.events import (
    CaseAccepted,
    CaseClosed,
    CaseForwarded,
    CaseRejected,
    CaseReopened,
    CaseStarted,
    ComplaintFiled,
    EventData,
    ReplyDue,
)
from tests.events import envelope

T = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
BKK = dt.timezone(dt.timedelta(hours=7))
PAYLOADS: list[EventData] = [
    ComplaintFiled(
        tracking_no="5001-2569-0000001",
        channel=ChannelCode.line,
        category=CategoryCode.land,
        province_code="50",
        district_code="5001",
        subdistrict_code="500101",
        received_at=T,
        recorded_at=T,
        anonymous=False,
    ),
    CaseAccepted(actor="o1", note="รับเรื่อง"),
    CaseRejected(actor="o1", reason="not ours"),
    CaseStarted(actor="o1"),
    CaseForwarded(
        actor="o1",
        agency="อบต.",
        agency_code="6501",
        reply_due=ReplyDue(date=dt.date(2026, 4, 1), days=31),
    ),
    CaseClosed(actor="o1", reason=ClosureReason.resolved),
    CaseReopened(actor="o1"),
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.kind)
def test_round_trip_and_cloudevents_reads_the_same_event(payload: EventData) -> None:
    version = 1 if isinstance(payload, ComplaintFiled) else 3
    at = dt.datetime(2026, 3, 1, 16, 30, tzinfo=BKK)
    env = seal(envelope(payload, version=version, at=at, correlation_id="c-1"), GENESIS)
    key, headers, value = to_record(env)
    assert key == str(env.complaint_id).encode()
    assert from_record(headers, value) == env

    event = ce_kafka.from_binary_event(ce_kafka.KafkaMessage(dict(headers), key, value))
    attrs = event.get_attributes()
    assert attrs["id"] == str(env.event_id)
    assert attrs["type"] == env.type
    assert attrs["subject"] == str(env.complaint_id)
    assert attrs["time"] == env.occurred_at
    assert attrs["version"] == str(env.version)
    assert attrs["datacontenttype"] == "application/json"
    assert (attrs["prevhash"], attrs["hash"]) == (GENESIS, env.hash)
    data = event.get_data()
    data = orjson.loads(data) if isinstance(data, (bytes, str)) else data
    assert data == env.data.model_dump(mode="json", exclude={"kind"})


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.kind)
@pytest.mark.parametrize("correlation_id", [None, "c-1"])
def test_sealed_record_is_the_sealed_envelope_encoded(
    payload: EventData, correlation_id: str | None
) -> None:
    env = envelope(payload, version=2, at=T, correlation_id=correlation_id)
    prev = compute_hash(link_from_record(*to_record(envelope(PAYLOADS[0], at=T))[1:]))
    sealed = sealed_record(env, prev)
    assert sealed == encode(seal(env, prev))
    assert dict(sealed.headers)["ce_prevhash"] == prev
    assert sealed != encode(seal(env, GENESIS))


def test_utc_times_travel_with_z_suffix() -> None:
    _key, headers, _value = to_record(envelope(PAYLOADS[1], at=T))
    hdrs = dict(headers)
    assert hdrs["ce_time"] == b"2026-03-01T09:30:00Z"
    assert "ce_correlationid" not in hdrs


def _good() -> tuple[dict[str, bytes], bytes]:
    _key, headers, value = to_record(envelope(PAYLOADS[3], version=4))
    return dict(headers), value


@pytest.mark.parametrize(
    "defect",
    [
        "no_specversion",
        "old_specversion",
        "no_id",
        "foreign_type",
        "unknown_version",
        "xml",
        "bad_json",
        "json_list",
        "extra_field",
        "version_zero",
        "bad_uuid",
        "bad_time",
    ],
)
def test_defective_records_are_decode_errors(defect: str) -> None:
    hdrs, value = _good()
    match defect:
        case "no_specversion":
            del hdrs["ce_specversion"]
        case "old_specversion":
            hdrs["ce_specversion"] = b"0.3"
        case "no_id":
            del hdrs["ce_id"]
        case "foreign_type":
            hdrs["ce_type"] = b"com.example.thing.v1"
        case "unknown_version":
            hdrs["ce_type"] = b"th.go.dopa.damrong.case.started.v9"
        case "xml":
            hdrs["content-type"] = b"application/xml"
        case "bad_json":
            value = b"{not json"
        case "json_list":
            value = b"[1, 2]"
        case "extra_field":
            value = orjson.dumps({**orjson.loads(value), "national_id": "1101700230708"})
        case "version_zero":
            hdrs["ce_version"] = b"0"
        case "bad_uuid":
            hdrs["ce_subject"] = b"not-a-uuid"
        case "bad_time":
            hdrs["ce_time"] = b"yesterday"
    with pytest.raises(DecodeError):
        from_record(list(hdrs.items()), value)


def test_a_v1_forwarded_record_is_upcast_and_verifies_as_written() -> None:
    """Written before v2: read as v2 (reply due counted from the forwarding's Bangkok
    date), while its chain link keeps the v1 payload its hash covers."""
    _key, headers, _value = to_record(envelope(PAYLOADS[3], version=4))
    hdrs = dict(headers)
    hdrs["ce_type"] = b"th.go.dopa.damrong.case.forwarded.v1"
    hdrs["ce_time"] = b"2026-03-01T18:00:00Z"  # already 2 March in Bangkok
    value = orjson.dumps({"actor": "o1", "note": None, "agency": "PEA", "due_date": "2026-03-16"})
    link = link_from_record(list(hdrs.items()), value)
    hdrs["ce_prevhash"] = GENESIS.encode()
    hdrs["ce_hash"] = compute_hash(dataclasses.replace(link, prev_hash=GENESIS)).encode()
    env = from_record(list(hdrs.items()), value)
    assert env.data == CaseForwarded(
        actor="o1",
        agency="PEA",
        agency_code=None,
        reply_due=ReplyDue(date=dt.date(2026, 3, 16), days=14),
    )
    written = link_from_record(list(hdrs.items()), value)
    assert written.type.endswith(".v1") and written.data["due_date"] == "2026-03-16"
    assert compute_hash(written) == env.hash
