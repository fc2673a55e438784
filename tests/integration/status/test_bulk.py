"""``POST /v1/complaints:bulk-transition`` end to end: each item on its own, in order."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.auth import admin_headers
from tests.integration.status.conftest import StatusService
from tests.unit.status.factories import filed

pytestmark = pytest.mark.integration

URL = "/v1/complaints:bulk-transition"


async def _case(svc: StatusService) -> uuid.UUID:
    env = filed()
    await svc.publish(env)
    await svc.wait_for_case(env.complaint_id)
    return env.complaint_id


async def test_mixed_items_succeed_or_fail_alone(status_service: StatusService) -> None:
    svc = status_service
    c1, c2, c3, c4, c5 = [await _case(svc) for _ in range(5)]
    unknown = uuid.uuid4()
    items: list[dict[str, Any]] = [
        {"complaint_id": str(c1), "action": "close", "reason": "resolved", "note": "ปิดเรื่อง"},
        {"complaint_id": str(unknown), "action": "close", "reason": "resolved"},
        {"complaint_id": str(c2), "action": "start"},  # illegal: filed
        {"complaint_id": str(c3), "action": "accept", "expected_version": 5},  # stale
        {"complaint_id": str(c1), "action": "reopen"},  # duplicate
        {"complaint_id": str(c4), "action": "close", "reason": "tired"},  # bad reason
        {
            "complaint_id": str(c5),
            "action": "reject",
            "reason": "ไม่ใช่เรื่องร้องเรียน",
            "expected_version": 1,
        },
    ]
    r = await svc.client.post(URL, json={"items": items}, headers=admin_headers("chief-1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["succeeded"], body["failed"]) == (2, 5)
    results = body["results"]
    assert [x["complaint_id"] for x in results] == [i["complaint_id"] for i in items]
    assert [x["ok"] for x in results] == [True, False, False, False, False, False, True]
    assert results[0] == {"complaint_id": str(c1), "ok": True, "status": "closed", "version": 2}
    assert results[6] == {"complaint_id": str(c5), "ok": True, "status": "rejected", "version": 2}
    errors = [(x["error"]["status"], x["error"]["title"]) for x in results[1:6]]
    assert errors == [
        (404, "Case not found"),
        (409, "Illegal transition"),
        (409, "Version conflict"),
        (409, "Duplicate item"),
        (422, "Invalid field"),
    ]
    assert "filed" in results[2]["error"]["detail"]
    assert "item 0" in results[4]["error"]["detail"]

    for cid, expected in (
        (c1, ("closed", 2)),
        (c2, ("filed", 1)),
        (c3, ("filed", 1)),
        (c4, ("filed", 1)),
        (c5, ("rejected", 2)),
    ):
        case = (await svc.client.get(f"/v1/complaints/{cid}")).json()
        assert (case["status"], case["version"]) == expected
    history = (await svc.client.get(f"/v1/complaints/{c1}/history")).json()["events"]
    assert len(history) == 2
    assert (history[1]["actor"], history[1]["data"]["note"]) == ("chief-1", "ปิดเรื่อง")
    history = (await svc.client.get(f"/v1/complaints/{c5}/history")).json()["events"]
    assert history[1]["actor"] == "chief-1"  # the token's subject, for every item


async def test_limits_and_route(status_service: StatusService) -> None:
    svc = status_service
    item = {"complaint_id": str(uuid.uuid4()), "action": "accept"}
    too_many = await svc.client.post(URL, json={"items": [item] * 1001})
    assert too_many.status_code == 422
    assert too_many.headers["content-type"].startswith("application/problem+json")
    assert (await svc.client.post(URL, json={"items": []})).status_code == 422
    # The actor comes from the token: a body naming one is refused, naming the field.
    named = await svc.client.post(URL, json={"actor": "a", "items": [item]})
    assert named.status_code == 422 and named.json()["errors"][0]["field"] == "actor"
    # 1000 items is allowed: all unknown here, each answered on its own.
    r = await svc.client.post(URL, json={"items": [item] * 1000})
    assert r.status_code == 200
    body = r.json()
    assert (body["succeeded"], body["failed"]) == (0, 1000)
    assert body["results"][0]["error"]["status"] == 404
    assert {x["error"]["status"] for x in body["results"][1:]} == {409}
    # The colon route does not fall into /v1/complaints/{complaint_id}.
    assert (await svc.client.get(URL)).status_code == 405
