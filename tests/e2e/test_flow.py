"""One complaint through every service, over HTTP only, on the running platform."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from damrong.embedded.platform import Platform
from shared.auth.principal import Principal, Role
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

BKK = dt.timezone(dt.timedelta(hours=7))


async def test_complaint_filed_moved_and_closed_shows_in_history_and_kpi(
    platform: Platform,
) -> None:
    district = "5004"  # used by this test only
    received = dt.datetime(2025, 9, 30, 23, 30, tzinfo=BKK)  # FY 2568 in Bangkok time
    # The district's own officer moves the case: the actor recorded is its token's subject.
    officer = platform.auth_headers(
        Principal("officer-5004", Role.district_officer, district_code=district)
    )
    async with httpx.AsyncClient(timeout=10, headers=platform.auth_headers()) as c:
        r = await c.post(
            f"{platform.url('intake')}/v1/complaints",
            json={
                "channel": "hotline_1567",
                "district_code": district,
                "category": "land",
                "subject": "บุกรุกที่ดินสาธารณะ",
                "description": "มีการบุกรุกที่ดินสาธารณะประโยชน์",
                "received_at": received.isoformat(),
                "complainant": {"anonymous": False, "name": "สมชาย ใจดี", "phone": "0812345678"},
            },
        )
        assert r.status_code == 201, r.text
        filed = r.json()
        cid = filed["complaint_id"]
        assert filed["status"] == "filed" and filed["tracking_no"]

        status = platform.url("status")
        case = await eventually(
            lambda: c.get(f"{status}/v1/complaints/{cid}"),
            lambda resp: resp.status_code == 200,
            timeout=30,
        )
        assert case.json()["version"] == 1 and case.json()["status"] == "filed"
        assert case.json()["tracking_no"] == filed["tracking_no"]

        steps = [
            ("accept", {}),
            ("start", {}),
            ("forward", {"agency": "สำนักงานที่ดินจังหวัด", "due_date": "2099-12-31"}),
            ("start", {}),
            ("close", {"reason": "resolved"}),
        ]
        for version, (action, extra) in enumerate(steps, start=1):
            r = await c.post(
                f"{status}/v1/complaints/{cid}/transitions",
                json={"action": action, "expected_version": version, **extra},
                headers=officer,
            )
            assert r.status_code == 200, r.text
            assert r.json()["version"] == version + 1

        stale = await c.post(
            f"{status}/v1/complaints/{cid}/transitions",
            json={"action": "reopen", "expected_version": 3},
            headers=officer,
        )
        assert stale.status_code == 409
        assert stale.headers["content-type"].startswith("application/problem+json")

        history = (await c.get(f"{status}/v1/complaints/{cid}/history")).json()["events"]
        assert [e["version"] for e in history] == [1, 2, 3, 4, 5, 6]
        assert history[0]["type"].endswith("complaint.filed.v1")
        assert history[-1]["type"].endswith("case.closed.v1")
        assert all(e["actor"] == "officer-5004" for e in history[1:])

        kpi = platform.url("kpi")
        summary = await eventually(
            lambda: c.get(
                f"{kpi}/v1/kpi/summary", params={"fiscal_year": 2568, "district_code": district}
            ),
            lambda resp: resp.status_code == 200 and resp.json()["closed"] == 1,
            timeout=30,
        )
        body = summary.json()
        assert (body["received"], body["closed"], body["open"]) == (1, 1, 0)
        assert body["closure_rate"] == 1.0
        assert body["by_channel"]["hotline_1567"]["closed"] == 1
        other_year = await c.get(
            f"{kpi}/v1/kpi/summary", params={"fiscal_year": 2569, "district_code": district}
        )
        assert other_year.json()["received"] == 0

    # The complainant's identity stays in intake's database: no service logs it.
    for name in ("intake", "status", "kpi"):
        text = platform.log_file(name).read_text(encoding="utf-8")
        assert text.strip(), f"{name} wrote no log at all: the scan below would prove nothing"
        for secret in ("สมชาย", "ใจดี", "0812345678", "+66812345678", "81234567"):
            assert secret not in text, f"{name} logged personal data"


async def test_bad_complaint_is_refused_with_problem_details(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=10, headers=platform.auth_headers()) as c:
        r = await c.post(
            f"{platform.url('intake')}/v1/complaints",
            json={
                "channel": "carrier_pigeon",
                "district_code": "9999",
                "category": "land",
                "subject": "x",
                "description": "y",
                "complainant": {"anonymous": False, "name": "ก", "national_id": "1234567890123"},
            },
        )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"channel", "district_code", "complainant.national_id"} <= fields


async def test_every_service_reports_healthy(platform: Platform) -> None:
    async with httpx.AsyncClient(timeout=10, headers=platform.auth_headers()) as c:
        for name in ("intake", "status", "kpi"):
            r = await c.get(f"{platform.url(name)}/healthz")
            assert r.status_code == 200, (name, r.text)
