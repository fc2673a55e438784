"""Open311 GeoReport v2 on intake, running in-process on its own database and topics
with the status service beside it (a filed request moves through real case events into
the public view), and a channel API key for ``mobile_app``."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
import pytest
from defusedxml import ElementTree as SafeET  # type: ignore[import-untyped]

from services.intake.main import create_app as intake_app
from services.status.main import create_app as status_app
from shared.auth.api_keys import new_api_key
from tests.integration.intake.conftest import IntakeService
from tests.service_app import RunningApp, running_app
from tests.waiting import eventually

pytestmark = pytest.mark.integration

V2 = "/open311/v2"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
PERSON = {
    "first_name": "บุษบา",
    "last_name": "ปิ่นทองคำ",
    "phone": "089-765-4321",
    "email": "busaba.open311@example.org",
}


@dataclass
class Rig:
    intake: IntakeService
    status: RunningApp
    public: httpx.AsyncClient  # sends no credential at all
    key: str


@pytest.fixture(scope="module")
async def rig(infra: dict[str, str]) -> AsyncIterator[Rig]:
    key, digest = new_api_key()
    async with AsyncExitStack() as stack:
        intake = await stack.enter_async_context(
            running_app(intake_app, infra, auth_api_keys={digest: "mobile_app"})
        )
        topics = {
            "events_topic": intake.settings.events_topic,
            "dlq_topic": intake.settings.dlq_topic,
        }
        status = await stack.enter_async_context(running_app(status_app, infra, **topics))
        db = await asyncpg.connect(
            intake.settings.database_url, server_settings={"search_path": "intake"}
        )
        stack.push_async_callback(db.close)
        public = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=intake.app), base_url="http://t")
        )
        yield Rig(IntakeService(intake.client, intake.settings, db), status, public, key)


async def post_form(
    rig: Rig, fields: dict[str, str], fmt: str = "json", headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST ``fields`` (with the channel's api_key) to ``requests.{fmt}``."""
    return await rig.public.post(
        f"{V2}/requests.{fmt}",
        content=urlencode({"api_key": rig.key, **fields}),
        headers={**FORM, **(headers or {})},
    )


async def post(rig: Rig, fmt: str = "json", **fields: str) -> httpx.Response:
    return await post_form(rig, fields, fmt)


def errors_of(r: httpx.Response) -> list[dict[str, Any]]:
    """The error list of an answer in either format, checking the format's shape."""
    if r.headers["content-type"].startswith("application/json"):
        body = r.json()
        assert isinstance(body, list) and body, body
        assert all(set(e) == {"code", "description"} for e in body)
        return list(body)
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    root = SafeET.fromstring(r.content)
    assert root.tag == "errors"
    return [
        {"code": int(e.findtext("code")), "description": e.findtext("description")}
        for e in root.findall("error")
    ]


async def filed(rig: Rig, **fields: str) -> str:
    description = fields.pop("description", f"ที่ดิน {uuid.uuid4().hex}")
    fields = {"service_code": "land", "address_id": "840503", "description": description, **fields}
    r = await post_form(rig, fields)
    assert r.status_code == 201, r.text
    return str(r.json()[0]["service_request_id"])


# --- reading the catalogue ----------------------------------------------------------------


async def test_services_and_definitions_need_no_credential(rig: Rig) -> None:
    r = await rig.public.get(f"{V2}/services.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json; charset=utf-8"
    codes = {s["service_code"]: s for s in r.json()}
    assert codes["land"]["service_name"] == "ที่ดินและการบุกรุก" and codes["land"]["metadata"]
    r = await rig.public.get(f"{V2}/services/public_utilities.xml")
    root = SafeET.fromstring(r.content)
    assert root.findtext("attributes/attribute/code") == "utility"
    assert root.findtext("attributes/attribute/required") == "true"


async def test_an_unknown_service_definition_is_404_in_the_specs_format(rig: Rig) -> None:
    for fmt in ("json", "xml"):
        r = await rig.public.get(f"{V2}/services/pothole.{fmt}")
        assert r.status_code == 404
        assert "'pothole' was not found" in errors_of(r)[0]["description"]


async def test_discovery_announces_the_endpoint(rig: Rig) -> None:
    r = await rig.public.get(f"{V2}/discovery.xml")
    root = SafeET.fromstring(r.content)
    assert (
        root.findtext("endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"
    )
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]


# --- filing -------------------------------------------------------------------------------


async def test_a_request_is_filed_for_the_keys_channel_with_the_complainant_sealed(
    rig: Rig,
) -> None:
    description = f"มีการบุกรุกที่สาธารณะ {uuid.uuid4().hex}"
    r = await post_form(
        rig,
        {
            "service_code": "land",
            "address_string": "ต.เกาะเต่า อ.เกาะพะงัน จ.สุราษฎร์ธานี",
            "description": description,
            "device_id": "device-xyz-1",
            **PERSON,
        },
        "xml",
    )
    assert r.status_code == 201, r.text
    assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = SafeET.fromstring(r.content)
    number = root.findtext("request/service_request_id")
    assert number and number.startswith("8405-")
    assert root.find("request/token") is None  # realtime: the id at once
    row = await rig.intake.db.fetchrow(
        "SELECT channel, category, district_code, subdistrict_code, description, subject,"
        " anonymous, complainant_masked::text AS masked, identity, filed_by"
        " FROM complaints WHERE tracking_no = $1",
        number,
    )
    assert row is not None
    assert (row["channel"], row["category"], row["district_code"], row["subdistrict_code"]) == (
        "mobile_app",
        "land",
        "8405",
        "840503",
    )
    assert row["filed_by"].startswith("apikey:mobile_app:")
    assert row["description"] == description and not row["anonymous"]
    assert row["identity"] is not None  # sealed in intake's encrypted store
    stored = json.dumps(dict(row), default=str, ensure_ascii=False)
    for secret in (PERSON["last_name"], "7654321", PERSON["email"], "device-xyz-1"):
        assert secret not in stored
    events = await eventually(
        rig.intake.records, lambda rs: any(number.encode() in (m.value or b"") for m in rs)
    )
    for m in events:
        for secret in (PERSON["first_name"], PERSON["last_name"], "7654321", PERSON["email"]):
            assert secret.encode() not in (m.value or b"")


async def test_a_missing_or_wrong_api_key_is_403(rig: Rig) -> None:
    body = urlencode({"service_code": "land", "address_id": "8405", "description": "x"})
    r = await rig.public.post(f"{V2}/requests.json", content=body, headers=FORM)
    assert r.status_code == 403
    assert errors_of(r) == [{"code": 403, "description": "api_key is required to create a request"}]
    r = await rig.public.post(
        f"{V2}/requests.xml", content=body + "&api_key=dmr_wrong", headers=FORM
    )
    assert r.status_code == 403
    assert "Invalid api_key" in errors_of(r)[0]["description"]
    # A bearer token is no api_key: the channel must be the key's.
    r = await rig.intake.client.post(f"{V2}/requests.json", content=body, headers=FORM)
    assert r.status_code == 403


async def test_the_key_may_come_as_x_api_key_but_not_as_two_keys(rig: Rig) -> None:
    body = urlencode({"service_code": "other", "address_id": "8405", "description": "x"})
    r = await rig.public.post(
        f"{V2}/requests.json", content=body, headers={**FORM, "X-API-Key": rig.key}
    )
    assert r.status_code == 201, r.text
    r = await rig.public.post(
        f"{V2}/requests.json",
        content=body + "&api_key=" + rig.key,
        headers={**FORM, "X-API-Key": "dmr_other"},
    )
    assert r.status_code == 403


async def test_bad_requests_name_every_parameter(rig: Rig) -> None:
    r = await post(rig, service_code="public_utilities", lat="13.7", long="100.5")
    assert r.status_code == 400
    descriptions = [e["description"] for e in errors_of(r)]
    assert descriptions[0].startswith("description: is required")
    assert descriptions[1].startswith("lat: cannot place a request")
    assert "district cannot be known" in descriptions[1]
    assert descriptions[2].startswith("attribute[utility]: is required")


async def test_an_unplaceable_address_is_400_saying_the_district_cannot_be_known(
    rig: Rig,
) -> None:
    r = await post(
        rig, "xml", service_code="other", address_string="1234 5th street", description="x"
    )
    assert r.status_code == 400
    (error,) = errors_of(r)
    assert error["description"].startswith("address_string:")
    assert "the district cannot be known" in error["description"]


async def test_an_unknown_service_code_is_404(rig: Rig) -> None:
    r = await post(rig, service_code="001", address_id="8405", description="x")
    assert r.status_code == 404
    assert errors_of(r)[0]["description"].startswith("service_code '001' was not found")


async def test_intakes_own_checks_are_named_as_open311_parameters(rig: Rig) -> None:
    r = await post(
        rig, service_code="other", address_id="8405", description="x", first_name="ก", phone="12345"
    )
    assert r.status_code == 400
    assert [e["description"] for e in errors_of(r)] == [
        "phone: is not a valid Thai mobile or landline number"
    ]


async def test_an_idempotency_key_files_once(rig: Rig) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    fields = {"service_code": "other", "address_id": "8405", "description": uuid.uuid4().hex}
    first = await post_form(rig, fields, "json", key)
    again = await post_form(rig, fields, "json", key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    other = await post_form(rig, {**fields, "description": "something else"}, "json", key)
    assert other.status_code == 400
    assert errors_of(other)[0]["code"] == 409


# --- hostile bodies: never a 500, never problem+json ----------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "says"),
    [
        (b"service_code=other", "application/json", "the body must be application/x-www-form"),
        (b'{"service_code": "other"}', "application/json", "the body must be"),
        (b"description=\xff\xfe", FORM["Content-Type"], "the body is not UTF-8 text"),
        (b"description=%C0%AF", FORM["Content-Type"], "the body is not UTF-8 text"),
        (b"a=1&" * 200, FORM["Content-Type"], "the body has more than 100 fields"),
        (b"%%%&&&[[[===", FORM["Content-Type"], "api_key is required"),
    ],
)
async def test_malformed_bodies_are_refused_in_the_specs_format(
    rig: Rig, content: bytes, content_type: str, says: str
) -> None:
    r = await rig.public.post(
        f"{V2}/requests.xml", content=content, headers={"Content-Type": content_type}
    )
    assert r.status_code in (400, 403), r.text
    assert says in errors_of(r)[0]["description"]


async def test_a_huge_body_is_refused_declared_or_streamed(rig: Rig) -> None:
    limit = rig.intake.settings.max_body_bytes
    huge = b"description=" + b"a" * (limit + 1)
    r = await rig.public.post(f"{V2}/requests.json", content=huge, headers=FORM)
    assert r.status_code == 400
    assert errors_of(r) == [
        {"code": 413, "description": f"the body is larger than {limit:,} bytes"}
    ]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(limit // 1024 + 2):
            yield b"a" * 1024

    r = await rig.public.post(f"{V2}/requests.xml", content=chunks(), headers=FORM)
    assert r.status_code == 400 and errors_of(r)[0]["code"] == 413


async def test_unknown_paths_methods_and_formats_answer_in_the_specs_format(rig: Rig) -> None:
    r = await rig.public.get(f"{V2}/nothing.json")
    assert r.status_code == 404 and errors_of(r)[0]["code"] == 404
    r = await rig.public.get(f"{V2}/services.csv")
    assert r.status_code == 404 and "use .xml or .json" in errors_of(r)[0]["description"]
    r = await rig.public.delete(f"{V2}/services.json")
    assert r.status_code == 400 and r.headers["allow"] == "GET"
    assert errors_of(r)[0]["code"] == 405
    r = await rig.public.put(f"{V2}/requests.xml")
    assert r.status_code == 400 and r.headers["allow"] == "GET, POST"


# --- reading requests -----------------------------------------------------------------------


async def test_a_request_moves_to_closed_with_its_reason_and_agency(rig: Rig) -> None:
    number = await filed(rig, **PERSON)
    r = await rig.public.get(f"{V2}/requests/{number}.json")
    assert r.status_code == 200
    (req,) = r.json()
    assert (req["status"], req["service_code"], req["address_id"]) == ("open", "land", "840503")
    cid = await rig.intake.db.fetchval(
        "SELECT complaint_id FROM complaints WHERE tracking_no = $1", number
    )
    status = rig.status.client

    async def case() -> httpx.Response:
        return await status.get(f"/v1/complaints/{cid}")

    await eventually(case, lambda r: r.status_code == 200)
    due = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=15)).isoformat()
    for body in (
        {"action": "accept"},
        {"action": "start"},
        {"action": "forward", "agency": "สำนักงานที่ดินจังหวัดสุราษฎร์ธานี", "due_date": due},
        {"action": "close", "reason": "resolved", "note": "คุณบุษบาแจ้งว่าเรียบร้อย"},
    ):
        t = await status.post(f"/v1/complaints/{cid}/transitions", json=body)
        assert t.status_code in (200, 201), t.text

    async def public() -> dict[str, Any]:
        return dict((await rig.public.get(f"{V2}/requests/{number}.json")).json()[0])

    req = await eventually(public, lambda q: q["status"] == "closed")
    assert req["status_notes"] == "แก้ไขแล้วเสร็จ"
    assert req["agency_responsible"] == "สำนักงานที่ดินจังหวัดสุราษฎร์ธานี"
    assert req["updated_datetime"] >= req["requested_datetime"]
    xml = (await rig.public.get(f"{V2}/requests/{number}.xml")).content
    root = SafeET.fromstring(xml)
    assert root.findtext("request/status") == "closed"
    # Nothing of the complainant, nor the officer's note, nor the description, in public.
    for text in (xml.decode(), json.dumps(req, ensure_ascii=False)):
        for secret in (*PERSON.values(), "7654321", "คุณบุษบา", "ที่ดิน "):
            assert secret not in text


async def test_the_list_filters_by_ids_codes_status_and_window(rig: Rig) -> None:
    land = await filed(rig)
    r = await post(rig, service_code="other", address_id="1001", description="อื่น ๆ")
    other = str(r.json()[0]["service_request_id"])

    async def listed(**params: str) -> list[str]:
        r = await rig.public.get(f"{V2}/requests.json", params=params)
        assert r.status_code == 200, r.text
        return [q["service_request_id"] for q in r.json()]

    assert await listed(service_request_id=f"{other},{land},nope") == [other, land]
    await eventually(lambda: listed(service_code="other"), lambda ids: other in ids)
    assert land not in await listed(service_code="other")
    assert other in await listed(service_code="other,land", status="open")
    assert other not in await listed(service_code="other", status="closed")
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=200)).isoformat()
    assert other not in await listed(end_date=old)
    r = await rig.public.get(f"{V2}/requests.xml", params={"start_date": "soon"})
    assert r.status_code == 400 and errors_of(r)[0]["description"].startswith("start_date:")


async def test_whistle_blowing_requests_are_not_public(rig: Rig) -> None:
    r = await post(rig, service_code="drugs", address_id="840503", description="มีการค้ายา")
    assert r.status_code == 201
    number = str(r.json()[0]["service_request_id"])
    r = await rig.public.get(f"{V2}/requests/{number}.json")
    assert r.status_code == 404
    r = await rig.public.get(f"{V2}/requests.json", params={"service_request_id": number})
    assert r.json() == []
    r = await rig.public.get(f"{V2}/tokens/{number}.json")
    assert r.status_code == 404


async def test_a_token_is_the_request_id(rig: Rig) -> None:
    number = await filed(rig)
    r = await rig.public.get(f"{V2}/tokens/{number}.xml")
    root = SafeET.fromstring(r.content)
    assert (root.findtext("request/service_request_id"), root.findtext("request/token")) == (
        number,
        number,
    )
    r = await rig.public.get(f"{V2}/tokens/0000-0000-0000000.json")
    assert r.status_code == 404 and errors_of(r)[0]["code"] == 404


@pytest.mark.parametrize(
    "query",
    [
        "start_date=%FF%FE",
        "status=%00",
        "service_code=" + "%5B" * 5_000,
        "service_request_id=" + ",".join(["1001-2570-0000001"] * 1_001),
        "&".join(f"p{i}=1" for i in range(2_000)),
        "start_date=2026-01-01T00:00:00Z&end_date=2026-12-01T00:00:00Z",
        "end_date=99999-01-01",
    ],
)
async def test_hostile_queries_are_400_or_answered(rig: Rig, query: str) -> None:
    r = await rig.public.get(f"{V2}/requests.xml?{query}")
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert errors_of(r)[0]["code"] == 400
    else:
        assert SafeET.fromstring(r.content).tag == "service_requests"


async def test_an_unknown_request_is_404(rig: Rig) -> None:
    for path in ("9999-2570-9999999", "x" * 300, "%00", "' OR 1=1 --"):
        r = await rig.public.get(f"{V2}/requests/{path}.xml")
        assert r.status_code == 404, path
        assert errors_of(r)[0]["code"] == 404
