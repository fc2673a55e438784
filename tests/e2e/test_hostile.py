"""Hostile input over HTTP: every service answers with a clear 4xx problem, never a 5xx,
as its OpenAPI document declares, and a refused request changes nothing.

The services run as processes on a platform of this module's own (the fuzzer files
whatever random complaints pass validation, which the shared platform's exact-count
tests must not see).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import engine
from schemathesis.engine import events

from damrong.embedded.platform import Platform
from tests.auth import TEST_SECRET, admin_headers, bearer, token
from tests.e2e import realistic
from tests.e2e.platforms import platform_for_tests
from tests.waiting import eventually

PROBLEM = "application/problem+json"
FUZZ_EXAMPLES = 20  # per operation and phase: a bounded run that finds the classic defects
COMPLAINT = {
    "channel": "walk_in",
    "category": "land",
    "district_code": "5001",
    "subject": "ที่ดินทับซ้อน",
    "description": "รั้วรุกล้ำ",
    "complainant": {"anonymous": True},
}
SERVICES = ("intake", "status", "kpi")
NO_CASE = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
async def hostile_platform(
    tmp_path_factory: pytest.TempPathFactory, shared_infra: dict[str, str] | None
) -> AsyncIterator[Platform]:
    async with platform_for_tests(
        Path(tmp_path_factory.mktemp("hostile")),
        shared_infra,
        env={
            "AUTH_JWT_SECRET": TEST_SECRET,
            "FEEDBACK_LINK_SECRET": realistic.FEEDBACK_LINK_SECRET,
        },
    ) as p:
        yield p


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30, headers=admin_headers()) as c:
        yield c


# How invalid data may be refused: schemathesis's own list, and 413: a body over the
# endpoint's limit is refused before it is read, whatever it holds (a fuzzed description
# of thousands of wide characters, invalid for another reason too, was counted as
# "accepted").  Other checks still fail any 5xx.
INVALID_REFUSED = [
    "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx",
]  # fmt: skip


def _fuzz(base_url: str, schema_doc: dict[str, Any]) -> tuple[list[str], dict[str, int]]:
    """Every operation of ``schema_doc`` through schemathesis's whole run, as ``st run
    --checks all``: examples, coverage (boundary values, undeclared methods, missing
    headers), fuzzing and stateful phases, valid and invalid data, every check.  Returns
    the findings (one line each) and how many requests each operation got."""
    seed = random.getrandbits(32)
    config = schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "headers": admin_headers(),
            "seed": seed,
            "generation": {"mode": "all", "max-examples": FUZZ_EXAMPLES, "database": "none"},
            "checks": {"negative_data_rejection": {"expected-statuses": INVALID_REFUSED}},
        }
    )
    schema = schemathesis.openapi.from_dict(schema_doc, config=config)
    schema.config.checks.update(included_check_names=["all"])
    schema.hook(realistic.map_case)
    findings: list[str] = []
    calls: dict[str, int] = {}
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for case_id in recorder.interactions:
                label = recorder.cases[case_id].value.operation.label
                calls[label] = calls.get(label, 0) + 1
            findings.extend(
                _finding(event.phase.name, recorder, case_id, check.failure_info.failure)
                for case_id, checks in recorder.checks.items()
                for check in checks
                if check.failure_info is not None
            )
        elif isinstance(event, events.NonFatalError):
            findings.append(f"{event.label}: error: {event.value!r}")
        elif isinstance(event, events.FatalError):
            findings.append(f"error: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            findings.extend(f"{f.operation}: {f.code} {f.title}" for f in event.failures)
    return [f"{line} (seed {seed})" for line in dict.fromkeys(findings)], calls


def _finding(phase: str, recorder: Any, case_id: str, failure: Any) -> str:
    """One line: the operation, the failure, the phase, the request and the answer's
    first bytes."""
    case = recorder.cases[case_id].value
    interaction = recorder.interactions.get(case_id)
    response = None if interaction is None else interaction.response
    answer = (
        "no answer" if response is None else (f"{response.status_code} {response.content[:200]!r}")
    )
    return (
        f"{failure.operation}: {failure.code} {failure.title}: "
        f"{(failure.message.splitlines() or [''])[0]} | "
        f"{phase}: {case.method} {case.formatted_path} "
        f"query={case.query} body={str(case.body)[:200]} -> {answer}"
    )


@pytest.mark.parametrize("service", SERVICES)
async def test_fuzzed_requests_pass_every_check(
    hostile_platform: Platform, client: httpx.AsyncClient, service: str
) -> None:
    url = hostile_platform.url(service)
    schema_doc = (await client.get(f"{url}/openapi.json")).json()
    assert schema_doc["paths"], "the service documents no operation"
    findings, calls = await asyncio.to_thread(_fuzz, url, schema_doc)
    assert findings == [], "\n".join(findings)
    operations = sum(len(methods) for methods in schema_doc["paths"].values())
    assert len(calls) == operations and min(calls.values()) >= 5, calls


@pytest.mark.parametrize("service", SERVICES)
async def test_every_operation_declares_its_refusals_as_problems(
    hostile_platform: Platform, client: httpx.AsyncClient, service: str
) -> None:
    doc = (await client.get(f"{hostile_platform.url(service)}/openapi.json")).json()
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    assert set(doc["components"]["schemas"]["Problem"]["properties"]) == {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "errors",
    }
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            answers = operation["responses"]
            refusals = {code for code in answers if code[0] in "45"}
            assert {"401", "403", "503"} <= refusals, (method, path)
            assert all(answers[code]["content"] == {PROBLEM: problem} for code in refusals)
            formats = [p for p in operation.get("parameters", []) if p["name"] == "format"]
            if formats:  # a table also answers as CSV
                assert "text/csv" in answers["200"]["content"], (method, path)


@pytest.mark.parametrize(
    ("service", "method", "path", "allowed"),
    [
        ("intake", "PUT", "/v1/complaints", {"POST"}),
        ("intake", "TRACE", f"/v1/complaints/{NO_CASE}", {"GET"}),
        ("status", "DELETE", "/v1/complaints:bulk-transition", {"POST"}),
        ("kpi", "POST", "/v1/kpi/summary", {"GET"}),
    ],
)
async def test_an_undeclared_method_is_405_naming_the_allowed_ones(
    hostile_platform: Platform, service: str, method: str, path: str, allowed: set[str]
) -> None:
    """Routing answers before authentication: the same 405 with or without a token."""
    url = f"{hostile_platform.url(service)}{path}"
    async with httpx.AsyncClient(timeout=30) as anonymous:
        for headers in (admin_headers(), {}):
            r = await anonymous.request(method, url, headers=headers)
            assert r.status_code == 405, (headers, r.text)
            assert {m.strip() for m in r.headers["allow"].split(",")} == allowed
            assert r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("service", "method", "path", "body", "field"),
    [
        ("kpi", "GET", "/v1/kpi/backlog?as_of=0", None, "query.as_of"),
        ("kpi", "GET", "/v1/kpi/backlog?known_at=0.9", None, "query.known_at"),
        ("status", "GET", f"/v1/complaints/{NO_CASE}?known_at=0.9", None, "query.known_at"),
        (
            "status",
            "GET",
            "/v1/reports/cases?district_code=5001&from=0&to=2026-01-01",
            None,
            "query.from",
        ),
        (
            "status",
            "POST",
            f"/v1/complaints/{NO_CASE}/transitions",
            {"action": "close", "reason": "resolved", "occurred_at": 0},
            "occurred_at",
        ),
    ],
)
async def test_a_number_is_not_a_date(
    hostile_platform: Platform,
    client: httpx.AsyncClient,
    service: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    """The schemas say ISO 8601 text; a Unix time is refused, not read as one."""
    r = await client.request(method, f"{hostile_platform.url(service)}{path}", json=body)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]


async def test_oversized_body_is_413_and_files_nothing(
    hostile_platform: Platform, client: httpx.AsyncClient
) -> None:
    url = hostile_platform.url("intake")
    body = {**COMPLAINT, "description": "ก" * 70_000, "channel_ref": f"big-{uuid.uuid4()}"}
    r = await client.post(f"{url}/v1/complaints", json=body)
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM
    # Not filed: the same reference with a small body is a first filing, not a replay.
    small = {**body, "description": "สั้น"}
    assert (await client.post(f"{url}/v1/complaints", json=small)).status_code == 201


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,  # 10,000 levels, under the 64 KB limit
        b"[" * 30_000 + b"]" * 30_000,
        b"[" * 100_000 + b"]" * 100_000,  # over the limit: 413
        b'{"channel": "walk_in", "subject": "\xff\xfe"}',  # invalid UTF-8
        b'{"channel": "walk_in", "subject": "\\ud800"}',  # a lone surrogate
        b"not json at all",
    ],
)
async def test_malformed_bodies_get_a_problem_not_a_crash(
    hostile_platform: Platform, client: httpx.AsyncClient, raw: bytes
) -> None:
    for service, path in (
        ("intake", "/v1/complaints"),
        ("status", f"/v1/complaints/{uuid.uuid4()}/transitions"),
        ("status", "/v1/complaints:bulk-transition"),
    ):
        r = await client.post(
            f"{hostile_platform.url(service)}{path}",
            content=raw,
            headers={"content-type": "application/json"},
        )
        assert r.status_code in (400, 413, 422), (service, path, r.status_code, r.text[:200])
        assert r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("bad", ["a\x00b", "bell\x07", "esc\x1b[31m"])
async def test_control_characters_are_refused_by_field(
    hostile_platform: Platform, client: httpx.AsyncClient, bad: str
) -> None:
    intake = hostile_platform.url("intake")
    named = {**COMPLAINT, "complainant": {"anonymous": False, "name": "สมชาย"}}
    for field, body in (
        ("subject", {**COMPLAINT, "subject": bad}),
        ("description", {**COMPLAINT, "description": bad}),
        ("channel_ref", {**COMPLAINT, "channel_ref": bad}),
        ("complainant.name", {**named, "complainant": {"anonymous": False, "name": bad}}),
    ):
        r = await client.post(f"{intake}/v1/complaints", json=body)
        assert r.status_code == 422, (field, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field]
        assert "control character" in r.json()["errors"][0]["message"]

    filed = await client.post(f"{intake}/v1/complaints", json=COMPLAINT)
    assert filed.status_code == 201
    cid = filed.json()["complaint_id"]
    status = hostile_platform.url("status")

    async def case() -> int:
        return (await client.get(f"{status}/v1/complaints/{cid}")).status_code

    await eventually(case, lambda code: code == 200, timeout=30)
    for field in ("note", "reason", "agency"):
        r = await client.post(
            f"{status}/v1/complaints/{cid}/transitions",
            json={"action": "reject", "reason": "ซ้ำ", field: bad},
        )
        assert r.status_code == 422, (field, r.text)
        assert r.json()["errors"][0]["field"] == field
    r = await client.post(
        f"{status}/v1/complaints:bulk-transition",
        json={"items": [{"complaint_id": cid, "action": "accept", "note": bad}]},
    )
    assert r.status_code == 422
    # Nothing moved: the case is still at version 1.
    assert (await client.get(f"{status}/v1/complaints/{cid}")).json()["version"] == 1

    csv = (
        "เขต,วันที่รับเรื่อง,ประเภท,ช่องทาง,เรื่อง\n"
        f"5001,1/1/2567,land,walk_in,{bad}\n5001,1/1/2567,land,walk_in,ปกติ {uuid.uuid4()}\n"
    )
    r = await client.post(
        f"{intake}/v1/imports", params={"wait": "true"}, files={"file": ("r.csv", csv.encode())}
    )
    assert r.status_code == 200, r.text
    assert r.json()["filed"] == 1
    assert [x["row"] for x in r.json()["rejected"]] == [2]
    assert "control character" in " ".join(r.json()["rejected"][0]["reasons"])


def admin_headers_with_pii() -> dict[str, str]:
    return bearer(token("admin", "test-pii-reader", grants=("pii_reader",)))


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE complaints; --",
        "<script>alert('x')</script>",
        "{{7*7}} ${7*7} %s %n",
        "\u202eเรื่องกลับด้าน",
    ],
)
async def test_injection_text_is_stored_verbatim_and_harmless(
    hostile_platform: Platform, client: httpx.AsyncClient, text: str
) -> None:
    """In every free-text field: intake's subject, description, channel reference and the
    complainant's name and address (read back in clear by a pii_reader), and status's
    note, agency and reason (read back from the history)."""
    intake, status = hostile_platform.url("intake"), hostile_platform.url("status")
    ref = f"{text} {uuid.uuid4()}"
    r = await client.post(
        f"{intake}/v1/complaints",
        json={
            **COMPLAINT,
            "subject": text,
            "description": text,
            "channel_ref": ref,
            "complainant": {"anonymous": False, "name": text, "address": text},
        },
    )
    assert r.status_code == 201, r.text
    cid = r.json()["complaint_id"]
    got = await client.get(f"{intake}/v1/complaints/{cid}")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/json"
    # A JSON string, as sent: nothing interpreted, nothing escaped into markup.
    assert (got.json()["subject"], got.json()["channel_ref"]) == (text, ref)
    clear = await client.get(
        f"{intake}/v1/complaints/{cid}/complainant", headers=admin_headers_with_pii()
    )
    assert clear.status_code == 200, clear.text
    assert (clear.json()["name"], clear.json()["address"]) == (text, text)

    async def case() -> int:
        return (await client.get(f"{status}/v1/complaints/{cid}")).status_code

    await eventually(case, lambda code: code == 200, timeout=30)
    moves = [
        {"action": "accept", "note": text},
        {"action": "start"},
        {"action": "forward", "agency": text, "due_date": "2099-01-31"},
        {"action": "close", "reason": "resolved", "note": text},
    ]
    for move in moves:
        r = await client.post(f"{status}/v1/complaints/{cid}/transitions", json=move)
        assert r.status_code == 200, r.text
    events = (await client.get(f"{status}/v1/complaints/{cid}/history")).json()["events"]
    assert events[1]["data"]["note"] == text
    assert events[3]["data"]["agency"] == text
    assert events[4]["data"]["note"] == text


async def test_a_hostile_correlation_id_is_replaced(
    hostile_platform: Platform, client: httpx.AsyncClient
) -> None:
    url = hostile_platform.url("intake")
    r = await client.get(f"{url}/v1/reference/channels", headers={"x-correlation-id": "x" * 5000})
    assert r.status_code == 200
    echoed = r.headers["x-correlation-id"]
    assert len(echoed) == 36 and uuid.UUID(echoed)
    r = await client.get(f"{url}/v1/reference/channels", headers={"x-correlation-id": "ok-1"})
    assert r.headers["x-correlation-id"] == "ok-1"
