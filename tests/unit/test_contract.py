"""The published event contract (docs/events): generated from the models, checked in as
generated, and describing exactly the records the relays write and the readers accept."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
import yaml

from damrong.cli.contract import generated, stale
from shared import events
from shared.chain import GENESIS, seal
from shared.codes import CategoryCode, ChannelCode, ClosureReason
from shared.contract import REGENERATE, cloudevent_of
from shared.envelope_codec import DecodeError, to_record
from shared.events import (
    INTAKE_SOURCE,
    STATUS_SOURCE,
    CaseAccepted,
    CaseClosed,
    CaseForwarded,
    CaseRejected,
    CaseReopened,
    CaseStarted,
    ComplaintFiled,
    Envelope,
    EventData,
    reply_due,
)
from shared.signed_records import PUBLISHES, RecordVerifier, may_publish
from tests.signing import PUBLIC_KEYS, sign

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"
NOW = dt.datetime(2026, 3, 1, 17, 30, 15, 123456, tzinfo=dt.UTC)
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def asyncapi() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(generated()["asyncapi.yaml"])
    return doc


def record_schema(ce_type: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(generated()[f"schemas/{ce_type}.json"])
    return schema


def message_for(doc: dict[str, Any], ce_type: str) -> dict[str, Any]:
    found = [
        m
        for m in doc["components"]["messages"].values()
        if m["headers"]["properties"].get("ce_type", {}).get("const") == ce_type
    ]
    assert len(found) == 1, ce_type
    return found[0]


def validate(schema: dict[str, Any], instance: Any, doc: dict[str, Any] | None = None) -> None:
    """``instance`` against ``schema`` (refs into ``doc``, the AsyncAPI document, if given)."""
    if doc is not None:
        schema = {**schema, "components": doc["components"]}
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(instance)


def samples(cid: uuid.UUID | None = None) -> list[Envelope]:
    """One chained case through every transition the relays write."""
    cid = cid or uuid.uuid4()
    due = dt.date(2026, 4, 1)
    data: list[EventData] = [
        ComplaintFiled(
            tracking_no="DR-2569-000001",
            channel=ChannelCode.line,
            category=CategoryCode.land,
            province_code="50",
            district_code="5001",
            received_at=NOW,
            recorded_at=NOW,
            anonymous=False,
        ),
        CaseAccepted(actor="officer-1", note="รับเรื่อง"),
        CaseStarted(actor="officer-1"),
        CaseForwarded(actor="officer-1", agency="สำนักงานที่ดิน", reply_due=reply_due(due, NOW)),
        CaseStarted(actor="officer-1"),
        CaseClosed(actor="officer-1", reason=ClosureReason.resolved),
        CaseReopened(actor="officer-2", reason="ยังไม่ได้แก้ไข"),
        CaseRejected(actor="officer-2", reason="ซ้ำ"),
    ]
    out: list[Envelope] = []
    prev = GENESIS
    for version, payload in enumerate(data, start=1):
        env = seal(
            Envelope(
                event_id=uuid.uuid4(),
                complaint_id=cid,
                version=version,
                source=INTAKE_SOURCE if version == 1 else STATUS_SOURCE,
                occurred_at=NOW + dt.timedelta(minutes=version),
                recorded_at=NOW + dt.timedelta(minutes=version, seconds=1),
                correlation_id=f"req-{version}" if version % 2 else None,
                data=payload,
            ),
            prev,
        )
        assert env.hash is not None
        prev = env.hash
        out.append(env)
    return out


def signed(env: Envelope) -> tuple[bytes, list[tuple[str, bytes]], bytes]:
    key, headers, value = to_record(env)
    return key, sign(headers, value), value


def header_map(headers: list[tuple[str, bytes]]) -> dict[str, str]:
    return {k: v.decode() for k, v in headers}


# -- the checked-in documents ----------------------------------------------------------


def test_checked_in_contract_is_the_generated_one() -> None:
    assert stale(DOCS) == [], (
        f"docs/events differs from the contract generated from shared/: run `{REGENERATE}` "
        "and commit the result"
    )


def test_every_kind_and_version_has_a_message_and_a_schema() -> None:
    docs, doc = generated(), asyncapi()
    wanted = [events.type_name(kind) for kind in events.EVENT_CLASSES]
    wanted += [events.type_name(kind, v) for kind, v in events.LEGACY_CLASSES]
    assert "th.go.dopa.damrong.case.forwarded.v1" in wanted
    for ce_type in wanted:
        assert f"schemas/{ce_type}.json" in docs
        message_for(doc, ce_type)
    assert len(docs) == len(wanted) + 1  # and nothing else but the AsyncAPI document


def test_a_kind_registered_later_is_in_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    class CaseTested(CaseAccepted):  # type: ignore[misc]
        kind: Literal["case.tested"] = "case.tested"  # type: ignore[assignment]
        score: int

    monkeypatch.setitem(events.EVENT_CLASSES, "case.tested", CaseTested)
    schema = json.loads(generated()["schemas/th.go.dopa.damrong.case.tested.v1.json"])
    assert schema["$defs"]["CaseTested"]["required"] == ["actor", "score"]
    assert message_for(asyncapi(), "th.go.dopa.damrong.case.tested.v1")["name"] == "case.tested.v1"


def test_generation_is_deterministic() -> None:
    assert generated() == generated()


# -- records as written validate; records as not written do not -------------------------


def test_records_as_the_relays_write_them_validate() -> None:
    doc = asyncapi()
    for env in samples():
        key, headers, value = signed(env)
        ce_type = events.type_name(env.kind)
        validate(record_schema(ce_type), cloudevent_of(headers, value))
        message = message_for(doc, ce_type)
        validate(message["headers"], header_map(headers))
        validate(message["payload"], json.loads(value), doc)
        validate(message["bindings"]["kafka"]["key"], key.decode())


def test_an_unchained_record_without_correlation_id_validates() -> None:
    env = samples()[2].model_copy(update={"prev_hash": None, "hash": None, "correlation_id": None})
    _key, headers, value = signed(env)
    assert {"ce_hash", "ce_prevhash", "ce_correlationid"}.isdisjoint(header_map(headers))
    validate(record_schema(env.type), cloudevent_of(headers, value))
    validate(message_for(asyncapi(), env.type)["headers"], header_map(headers))


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["data"].update(reason="because"),  # not a closure reason
        lambda r: r["data"].pop("actor"),
        lambda r: r["data"].update(extra=1),
        lambda r: r.update(type="th.go.dopa.damrong.case.closed.v2"),
        lambda r: r.update(source=INTAKE_SOURCE),  # intake may not publish closures
        lambda r: r.update(version=0),
        lambda r: r.pop("signature"),
        lambda r: r.pop("prevhash"),  # a hash without its link
        lambda r: r.update(subject="not-a-uuid"),
        lambda r: r.update(hash="ABC"),
        lambda r: r.update(unknown="x"),
    ],
)
def test_a_record_not_as_written_fails_its_schema(change: Any) -> None:
    env = samples()[5]
    _key, headers, value = signed(env)
    record = cloudevent_of(headers, value)
    change(record)
    with pytest.raises(jsonschema.ValidationError):
        validate(record_schema(env.type), record)


def test_an_unknown_header_fails_the_message_headers() -> None:
    _key, headers, _value = signed(samples()[1])
    message = message_for(asyncapi(), samples()[1].type)
    with pytest.raises(jsonschema.ValidationError):
        validate(message["headers"], {**header_map(headers), "ce_extra": "x"})


def test_the_legacy_forwarding_is_described_as_readers_read_it() -> None:
    v1 = {"actor": "o", "note": None, "agency": "ที่ดิน", "due_date": "2026-04-01"}
    old, new = "th.go.dopa.damrong.case.forwarded.v1", "th.go.dopa.damrong.case.forwarded.v2"
    validate(record_schema(old)["$defs"]["CaseForwardedV1"], v1)
    with pytest.raises(jsonschema.ValidationError):
        validate(record_schema(new)["$defs"]["CaseForwarded"], v1)
    message = message_for(asyncapi(), old)
    assert message["tags"] == [{"name": "legacy"}]
    assert "upcast it to v2. v1's ``due_date`` becomes" in message["description"]


# -- the headers as the readers require them -------------------------------------------


def test_required_headers_are_exactly_those_the_readers_require() -> None:
    verifier = RecordVerifier(PUBLIC_KEYS)
    message = message_for(asyncapi(), samples()[1].type)
    required = set(message["headers"]["required"])
    env = samples()[1]
    _key, headers, value = signed(env)
    verifier.check(headers, value)
    for name in required:
        with pytest.raises(DecodeError):
            verifier.check([(k, v) for k, v in headers if k != name], value)
    bare = env.model_copy(update={"prev_hash": None, "hash": None, "correlation_id": None})
    _key, headers, value = to_record(bare)
    headers = sign([(k, v) for k, v in headers if k != "content-type"], value)
    verifier.check(headers, value)  # every optional header absent: still read
    assert set(header_map(headers)) == required


def test_sources_are_those_allowed_to_publish_each_kind() -> None:
    doc = asyncapi()
    for kind in events.EVENT_CLASSES:
        message = message_for(doc, events.type_name(kind))
        declared = message["headers"]["properties"]["ce_source"]["enum"]
        assert declared == sorted(s for s in PUBLISHES if may_publish(s, kind))
        assert declared, f"nobody publishes {kind}"
