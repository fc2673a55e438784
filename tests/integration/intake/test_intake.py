"""Intake on the real PostgreSQL and broker: filing, the published event, idempotency,
validation problems, masked reads and the reference data."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat

from shared.codes import CategoryCode, ChannelCode
from tests.integration.intake.conftest import IntakeService
from tests.waiting import eventually

pytestmark = pytest.mark.integration

PIN = "1101700230708"
PERSON = {
    "anonymous": False,
    "title": "นาย",
    "name": "สมชาย ใจดี",
    "national_id": PIN,
    "phone": "081-234-5678",
    "email": "somchai@example.co.th",
    "address": "99 หมู่ 1 ตำบลศรีภูมิ",
}


def complaint(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": "walk_in",
        "district_code": "5001",
        "subdistrict_code": "500101",
        "category": "informal_debt",
        "subject": "ถูกเจ้าหนี้นอกระบบข่มขู่",
        "description": "รายละเอียดเรื่องร้องเรียน",
        "complainant": PERSON,
    }
    data.update(overrides)
    return data


async def count(intake: IntakeService, sql: str, *args: Any) -> int:
    return int(await intake.db.fetchval(sql, *args))


async def test_filing_publishes_a_cloudevent_without_personal_data(
    intake: IntakeService,
) -> None:
    r = await intake.client.post(
        "/v1/complaints", json=complaint(), headers={"x-correlation-id": "corr-123"}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "filed"
    district, fy, serial = body["tracking_no"].split("-")
    assert district == "5001" and len(fy) == 4 and len(serial) == 7
    assert r.headers["location"] == f"/v1/complaints/{body['complaint_id']}"
    assert r.headers["x-correlation-id"] == "corr-123"

    async def published() -> Any:
        return [m for m in await intake.records() if m.key == body["complaint_id"].encode()]

    (msg,) = await eventually(published)
    event = ce_kafka.from_binary(
        ce_kafka.KafkaMessage(dict(msg.headers), msg.key, msg.value), JSONFormat()
    )
    attrs = event.get_attributes()
    assert attrs["type"] == "th.go.dopa.damrong.complaint.filed.v1"
    assert attrs["subject"] == body["complaint_id"]
    assert attrs["source"] == "/damrong/intake"
    assert attrs["version"] == "1"
    assert attrs["correlationid"] == "corr-123"
    raw_data = event.get_data()
    assert raw_data is not None
    data = orjson.loads(raw_data) if isinstance(raw_data, (bytes, str)) else dict(raw_data)
    assert data["tracking_no"] == body["tracking_no"]
    assert data["district_code"] == "5001" and data["province_code"] == "50"
    assert data["anonymous"] is False
    raw = msg.value + b"".join(v for _k, v in msg.headers)
    for secret in ("สมชาย", PIN, "812345678", "somchai", "หมู่ 1", "ข่มขู่", "รายละเอียด"):
        assert secret.encode() not in raw, secret

    # Stored sealed, with masked values beside it; nothing in clear.
    stored = await intake.db.fetchrow(
        "SELECT complainant, identity, complainant_masked, complainant_ref "
        "FROM complaints WHERE complaint_id = $1",
        uuid.UUID(body["complaint_id"]),
    )
    assert stored is not None
    assert (
        stored["complainant"] is None and str(stored["complainant_ref"]) == body["complainant_ref"]
    )
    assert orjson.loads(stored["complainant_masked"])["phone"] == "08x-xxx-5678"
    for secret in ("สมชาย", PIN, "812345678", "somchai", "หมู่ 1"):
        assert secret.encode() not in stored["identity"], secret


async def test_read_back_shows_the_complainant_masked(intake: IntakeService) -> None:
    filed = (await intake.client.post("/v1/complaints", json=complaint())).json()
    r = await intake.client.get(f"/v1/complaints/{filed['complaint_id']}")
    assert r.status_code == 200
    got = r.json()
    assert got["tracking_no"] == filed["tracking_no"]
    assert got["subject"] == "ถูกเจ้าหนี้นอกระบบข่มขู่"
    assert got["complainant"]["national_id"] == "1-xxxx-xxxxx-70-8"
    assert got["complainant"]["phone"] == "08x-xxx-5678"
    assert got["complainant"]["name"] == "ส***"
    assert got["complainant"]["address"] == "***"
    assert PIN not in r.text and "สมชาย" not in r.text and "description" not in got


async def test_unknown_complaint_is_a_404_problem(intake: IntakeService) -> None:
    r = await intake.client.get(f"/v1/complaints/{uuid.uuid4()}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


async def test_twenty_concurrent_retries_file_once(intake: IntakeService) -> None:
    key = f"k-{uuid.uuid4()}"
    body = complaint(complainant={"anonymous": True})
    responses = await asyncio.gather(
        *[
            intake.client.post("/v1/complaints", json=body, headers={"Idempotency-Key": key})
            for _ in range(20)
        ]
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 19 + [201], [r.text for r in responses if r.status_code >= 300]
    assert len({r.content for r in responses}) == 1  # the same body every time
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    assert (
        await count(intake, "SELECT count(*) FROM complaints WHERE idempotency_key = $1", key) == 1
    )
    cid = responses[0].json()["complaint_id"]
    assert await count(intake, "SELECT count(*) FROM outbox WHERE key = $1", cid.encode()) == 1


async def test_same_channel_ref_files_once_even_with_other_keys(intake: IntakeService) -> None:
    ref = f"LINE-{uuid.uuid4()}"
    body = complaint(channel="line", channel_ref=ref)
    responses = await asyncio.gather(
        *[
            intake.client.post(
                "/v1/complaints", json=body, headers={"Idempotency-Key": f"k-{uuid.uuid4()}"}
            )
            for _ in range(5)
        ]
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["complaint_id"] for r in responses}) == 1
    assert await count(intake, "SELECT count(*) FROM complaints WHERE channel_ref = $1", ref) == 1
    # The same reference on another channel is another complaint.
    other = await intake.client.post(
        "/v1/complaints", json=complaint(channel="email", channel_ref=ref)
    )
    assert other.status_code == 201


async def test_replay_without_received_at_is_the_same_request(intake: IntakeService) -> None:
    key = f"k-{uuid.uuid4()}"
    first = await intake.client.post(
        "/v1/complaints", json=complaint(), headers={"Idempotency-Key": key}
    )
    await asyncio.sleep(0.01)  # a later "now" must not make the retry a different request
    again = await intake.client.post(
        "/v1/complaints", json=complaint(), headers={"Idempotency-Key": key}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()


async def test_same_key_other_body_is_a_409(intake: IntakeService) -> None:
    key = f"k-{uuid.uuid4()}"
    first = await intake.client.post(
        "/v1/complaints", json=complaint(), headers={"Idempotency-Key": key}
    )
    assert first.status_code == 201
    before = await count(intake, "SELECT count(*) FROM complaints")
    r = await intake.client.post(
        "/v1/complaints", json=complaint(subject="อีกเรื่อง"), headers={"Idempotency-Key": key}
    )
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert await count(intake, "SELECT count(*) FROM complaints") == before


async def test_invalid_request_lists_every_bad_field_and_writes_nothing(
    intake: IntakeService,
) -> None:
    before = await count(intake, "SELECT count(*) FROM complaints")
    outbox_before = await count(intake, "SELECT count(*) FROM outbox")
    bad = complaint(
        channel="carrier_pigeon",
        subdistrict_code="500203",
        subject="",
        received_at="2999-01-01T00:00:00+07:00",
        complainant={
            "anonymous": False,
            "national_id": "1101700230709",
            "phone": "12",
            "email": "nope",
        },
    )
    r = await intake.client.post("/v1/complaints", json=bad)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {
        "channel",
        "subdistrict_code",
        "subject",
        "received_at",
        "complainant.name",
        "complainant.national_id",
        "complainant.phone",
        "complainant.email",
    }
    assert await count(intake, "SELECT count(*) FROM complaints") == before
    assert await count(intake, "SELECT count(*) FROM outbox") == outbox_before


async def test_invalid_json_and_anonymous_with_identity(intake: IntakeService) -> None:
    r = await intake.client.post(
        "/v1/complaints", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
    r = await intake.client.post(
        "/v1/complaints",
        json=complaint(complainant={"anonymous": True, "name": "x", "national_id": PIN}),
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {
        "complainant.name",
        "complainant.national_id",
    }


async def test_backdated_filing_takes_its_fiscal_year_and_serials_are_block_allocated(
    intake: IntakeService,
) -> None:
    r = await intake.client.post(
        "/v1/complaints",
        json=complaint(
            district_code="1050", subdistrict_code=None, received_at="2025-09-30T23:59:00"
        ),
    )
    assert r.status_code == 201
    assert r.json()["tracking_no"].startswith("1050-2568-")
    assert r.json()["received_at"] == "2025-09-30T16:59:00+00:00"
    serials = []
    for _ in range(5):
        body = (await intake.client.post("/v1/complaints", json=complaint())).json()
        serials.append(int(body["tracking_no"].rsplit("-", 1)[1]))
    assert serials == sorted(serials) and len(set(serials)) == 5
    # Blocks of 100: the sequence moved far fewer times than complaints were filed.
    filed = await count(intake, "SELECT count(*) FROM complaints")
    last = await count(intake, "SELECT last_value FROM tracking_serial")
    assert last % 100 == 0 and last <= 100 * (1 + filed // 100)


async def test_reference_data(intake: IntakeService) -> None:
    provinces = (await intake.client.get("/v1/reference/provinces")).json()
    assert len(provinces) == 77
    assert {"code": "10", "name_th": "กรุงเทพมหานคร", "name_en": "Bangkok"} in provinces
    districts = (await intake.client.get("/v1/reference/districts")).json()
    assert len(districts) == 928
    cm = (await intake.client.get("/v1/reference/districts", params={"province_code": "50"})).json()
    assert cm and all(d["province_code"] == "50" for d in cm)
    assert {d["code"] for d in cm} >= {"5001"}
    r = await intake.client.get("/v1/reference/districts", params={"province_code": "28"})
    assert r.status_code == 422
    channels = (await intake.client.get("/v1/reference/channels")).json()
    assert {c["code"] for c in channels} == {c.value for c in ChannelCode}
    assert all(c["label_th"] and c["label_en"] for c in channels)
    categories = (await intake.client.get("/v1/reference/categories")).json()
    assert {c["code"] for c in categories} == {c.value for c in CategoryCode}


async def test_who_filed_is_the_token_subject_for_filings_and_imports(
    intake: IntakeService,
) -> None:
    from tests.auth import bearer, token

    officer = bearer(
        token("district_officer", "officer-5001-7", district_code="5001", province_code="50")
    )
    r = await intake.client.post(
        "/v1/complaints", json=complaint(channel_ref=f"ref-{uuid.uuid4()}"), headers=officer
    )
    assert r.status_code == 201, r.text
    got = await intake.client.get(f"/v1/complaints/{r.json()['complaint_id']}")
    assert got.json()["filed_by"] == "officer-5001-7"

    register = (
        f"อำเภอ,วันที่รับเรื่อง,ประเภท,ช่องทาง,เรื่อง\n5001,1/1/2567,land,walk_in,รั้วรุกล้ำ {uuid.uuid4()}\n"
    ).encode()
    r = await intake.client.post(
        "/v1/imports", params={"wait": "true"}, files={"file": ("r.csv", register)}, headers=officer
    )
    assert r.status_code == 200 and r.json()["filed"] == 1, r.text
    filed_by = await intake.db.fetch(
        "SELECT filed_by FROM intake.complaints WHERE subject LIKE 'รั้วรุกล้ำ %'"
    )
    assert [row["filed_by"] for row in filed_by] == ["officer-5001-7"]
