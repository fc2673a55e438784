"""The published contract's form: the AsyncAPI document's structure, the schema files
against it, decoding a record (hostile input refused, never a crash), and the command."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from damrong.cli.contract import contract_app, generated
from shared.contract import REGENERATE, cloudevent_of
from tests.unit.test_contract import asyncapi, message_for

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
    assert doc["info"]["title"] and re.match(r"^2\.0\.0\+[0-9a-f]{12}$", doc["info"]["version"])
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
