"""Whistle-blower complaints against officials (``official_misconduct``) in status: read,
listed and moved only at provincial level and above; the district sees nothing of them."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from shared.auth.principal import Role
from shared.chain import GENESIS, seal
from shared.codes import CategoryCode, ChannelCode
from shared.events import ComplaintFiled, Envelope
from tests.auth import bearer, token
from tests.integration.status.conftest import StatusService

pytestmark = pytest.mark.integration

AT = dt.datetime(2026, 1, 5, 3, tzinfo=dt.UTC)
DISTRICT, PROVINCE = "1098", "10"  # this module's own codes
OFFICER = bearer(token(Role.district_officer, "o-1098", district_code=DISTRICT))
PROVINCIAL = bearer(token(Role.provincial_officer, "p-10", province_code=PROVINCE))


def filed(category: CategoryCode) -> Envelope:
    return seal(
        Envelope(
            event_id=uuid.uuid4(),
            complaint_id=uuid.uuid4(),
            version=1,
            source="/damrong/intake",
            occurred_at=AT,
            recorded_at=AT,
            data=ComplaintFiled(
                tracking_no=f"DR-{uuid.uuid4().hex[:8]}",
                channel=ChannelCode.walk_in,
                category=category,
                province_code=PROVINCE,
                district_code=DISTRICT,
                subdistrict_code=None,
                received_at=AT,
                recorded_at=AT,
                anonymous=False,
            ),
        ),
        GENESIS,
    )


async def test_the_district_neither_reads_lists_nor_moves_them(
    status_service: StatusService,
) -> None:
    svc = status_service
    secret, plain = filed(CategoryCode.official_misconduct), filed(CategoryCode.land)
    for env in (secret, plain):
        await svc.publish(env)
        await svc.wait_for_case(env.complaint_id)
    c, sid = svc.client, secret.complaint_id

    for url in (f"/v1/complaints/{sid}", f"/v1/complaints/{sid}/history"):
        assert (await c.get(url, headers=OFFICER)).status_code == 404, url
        assert (await c.get(url, headers=PROVINCIAL)).status_code == 200, url
    assert (await c.get(f"/v1/complaints/{plain.complaint_id}", headers=OFFICER)).status_code == 200

    def ids(r: httpx.Response) -> set[str]:
        return {i["complaint_id"] for i in r.json()["items"]}

    listed = await c.get("/v1/worklists/backlog", headers=OFFICER, params={"limit": 1000})
    assert str(plain.complaint_id) in ids(listed) and str(sid) not in ids(listed)
    only = await c.get(
        "/v1/worklists/backlog", headers=OFFICER, params={"category": "official_misconduct"}
    )
    assert only.json()["total"] == 0
    seen = await c.get(
        "/v1/worklists/backlog",
        headers=PROVINCIAL,
        params={"district_code": DISTRICT, "limit": 1000},
    )
    assert str(sid) in ids(seen)

    move = {"action": "accept", "expected_version": 1}
    assert (
        await c.post(f"/v1/complaints/{sid}/transitions", json=move, headers=OFFICER)
    ).status_code == 403
    bulk = await c.post(
        "/v1/complaints:bulk-transition",
        headers=OFFICER,
        json={"items": [{"complaint_id": str(sid), "action": "accept"}]},
    )
    assert bulk.json()["results"][0]["error"]["status"] == 403
    assert (
        await c.post(f"/v1/complaints/{sid}/transitions", json=move, headers=PROVINCIAL)
    ).status_code == 200
