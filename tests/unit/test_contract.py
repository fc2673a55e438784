"""The published event contract (docs/events): generated from the models, checked in as
generated, and describing exactly the records the relays write and the readers accept."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from damrong.cli.contract import contract_app, generated, stale
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


# -- the AsyncAPI document's structure ---------------------------------------------------
# No AsyncAPI 3.0 JSON Schema ships in an installed package, so the structure the
# specification requires is asserted here; every schema in it is checked as JSON Schema.

MESSAGE_FIELDS = {
    "headers", "payload", "correlationId", "contentType", "name", "title", "summary",
    "description", "tags", "externalDocs", "bindings", "examples", "traits",
}  # fmt: skip
KEY = re.compile(r"^[a-zA-Z0-9\.\-_]+$")


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_asyncapi_document_structure() -> None:
    doc = asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc) <= {
        "asyncapi", "id", "info", "servers", "defaultContentType", "channels", "operations",
        "components",
    }  # fmt: skip
    assert doc["info"]["title"] and re.match(r"^1\.0\.0\+[0-9a-f]{12}$", doc["info"]["version"])
    for server in doc["servers"].values():
        assert server["protocol"] == "kafka" and server["host"]
    for ref in refs(doc):
        resolve(doc, ref)  # every reference resolves inside the document
    addresses = {ch["address"] for ch in doc["channels"].values()}
    assert addresses == {"complaints.events", "complaints.events.dlq"}
    for channel in doc["channels"].values():
        assert channel["bindings"]["kafka"]["topic"] == channel["address"]
        for key, message in channel["messages"].items():
            assert KEY.match(key) and message["$ref"] == f"#/components/messages/{key}"
    for op in doc["operations"].values():
        assert op["action"] in {"send", "receive"}
        channel = op["channel"]["$ref"]
        assert resolve(doc, channel) in doc["channels"].values()
        for message in op["messages"]:
            assert message["$ref"].startswith(f"{channel}/messages/")
    sent = {
        m["$ref"].rsplit("/", 1)[1] for op in doc["operations"].values() for m in op["messages"]
    }
    assert sent == set(doc["components"]["messages"])  # every message is sent by someone
    for key, message in doc["components"]["messages"].items():
        assert KEY.match(key) and set(message) <= MESSAGE_FIELDS, key
        assert message["headers"]["type"] == "object"
        assert set(message["bindings"]["kafka"]) == {"key", "bindingVersion"}
        for schema in (message["headers"], message["payload"], message["bindings"]["kafka"]["key"]):
            jsonschema.Draft7Validator.check_schema(schema)  # AsyncAPI schemas extend draft 7
    for key, schema in doc["components"]["schemas"].items():
        assert KEY.match(key)
        jsonschema.Draft7Validator.check_schema(schema)


def test_schema_files_are_valid_and_agree_with_the_asyncapi_payloads() -> None:
    doc = asyncapi()
    components = json.dumps(doc["components"]["schemas"]).replace(
        "#/components/schemas/", "#/$defs/"
    )
    as_defs = json.loads(components)
    for path, text in generated().items():
        if not path.endswith(".json"):
            continue
        schema = json.loads(text)
        jsonschema.Draft202012Validator.check_schema(schema)
        for name, sub in schema["$defs"].items():
            assert sub == as_defs[name], (path, name)
        payload_ref = schema["properties"]["data"]["$ref"].rsplit("/", 1)[1]
        message = message_for(doc, schema["title"])
        assert message["payload"] == {"$ref": f"#/components/schemas/{payload_ref}"}


# -- decoding a record: hostile input never crashes, it is refused ---------------------


@pytest.mark.parametrize(
    ("headers", "value"),
    [
        ([("ce_id", b"\xff\xfe")], b"{}"),  # not UTF-8
        ([("ce_id", b"a"), ("ce_id", b"b")], b"{}"),  # twice
        ([("dlq_error", b"x")], b"{}"),  # not an attribute
        ([("ce_version", b"x")], b"{}"),
        ([("ce_version", "٣".encode())], b"{}"),  # a digit, but not ASCII
        ([("ce_version", b"9" * 5000)], b"{}"),  # past int's digit limit
        ([], b"{"),
        ([], "{}".encode("utf-16")),
        ([], '{"a": "ที่ดิน"}'.encode("cp874")),  # Thai, but not UTF-8
        ([], b"[" * 200_000 + b"]" * 200_000),  # deeper than the parser goes
    ],
)
def test_cloudevent_of_refuses_what_it_cannot_read(
    headers: list[tuple[str, bytes]], value: bytes
) -> None:
    with pytest.raises(ValueError):
        cloudevent_of(headers, value)


def test_cloudevent_of_reads_a_huge_value() -> None:
    value = json.dumps({"note": "ก" * 2_000_000}).encode()
    assert len(cloudevent_of([("ce_version", b"7")], value)["data"]["note"]) == 2_000_000


# -- the command ------------------------------------------------------------------------


def test_write_then_check(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(contract_app, ["check", "--dir", str(tmp_path)]).exit_code == 1
    written = runner.invoke(contract_app, ["write", "--dir", str(tmp_path)])
    assert written.exit_code == 0, written.output
    assert runner.invoke(contract_app, ["check", "--dir", str(tmp_path)]).exit_code == 0
    gone = tmp_path / "schemas" / "th.go.dopa.damrong.gone.v1.json"
    gone.write_text("{}")
    result = runner.invoke(contract_app, ["check", "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "gone.v1.json" in result.output
    target = tmp_path / "schemas" / "th.go.dopa.damrong.case.closed.v1.json"
    target.write_text(target.read_text() + " ")
    result = runner.invoke(contract_app, ["check", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "case.closed.v1.json" in result.output and REGENERATE in result.output
    assert runner.invoke(contract_app, ["write", "--dir", str(tmp_path)]).exit_code == 0
    assert not gone.exists()
    assert runner.invoke(contract_app, ["check", "--dir", str(tmp_path)]).exit_code == 0
