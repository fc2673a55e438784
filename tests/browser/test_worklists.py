"""The officer's morning: a complaint filed in the console appears in the backlog, is
closed with others in one action, each outcome shown, a failure kept selected; the
dashboard then counts exactly what kpi counts; lists filter, sort and page by URL."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.async_api import Page, expect

from damrong.embedded.platform import Platform
from shared.auth.principal import Principal, Role
from shared.thai_calendar import fiscal_year
from tests.browser.conftest import serious_violations, sign_in
from tests.waiting import eventually

pytestmark = pytest.mark.browser


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


DISTRICT = "6402"  # Ban Dan Lan Hoi, Sukhothai: no other test of the tier files here
OFFICER = Principal("officer-worklists", Role.district_officer, district_code=DISTRICT)


async def file(platform: Platform, subject: str, category: str = "land") -> str:
    async with httpx.AsyncClient(base_url=platform.url("intake")) as client:
        r = await client.post(
            "/v1/complaints",
            json={
                "channel": "walk_in",
                "district_code": DISTRICT,
                "category": category,
                "subject": subject,
                "description": "รายละเอียด",
                "complainant": {"anonymous": True},
            },
            headers={**platform.auth_headers(OFFICER), "Idempotency-Key": str(uuid.uuid4())},
        )
        assert r.status_code in (200, 201), r.text
        cid: str = r.json()["complaint_id"]
    await case(platform, cid)
    return cid


async def case(platform: Platform, cid: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=platform.url("status")) as client:

        async def get() -> httpx.Response:
            return await client.get(f"/v1/complaints/{cid}", headers=platform.auth_headers())

        answer = await eventually(get, lambda r: r.status_code == 200, timeout=60)
        body: dict[str, Any] = answer.json()
        return body


async def close_behind_the_page(platform: Platform, cid: str) -> None:
    async with httpx.AsyncClient(base_url=platform.url("status")) as client:
        r = await client.post(
            f"/v1/complaints/{cid}/transitions",
            json={"action": "close", "reason": "duplicate"},
            headers=platform.auth_headers(OFFICER),
        )
        assert r.status_code == 200, r.text


async def test_filed_in_the_console_then_closed_with_others_in_one_action(
    page: Page, console_platform: Platform
) -> None:
    platform = console_platform
    # Filed through the console's own form, as the officer does at the counter.
    await sign_in(page, platform, OFFICER, "/complaints/new")
    subject = f"{uuid.uuid4().hex[:6]} ถนนชำรุด"
    await page.get_by_label("ประเภทเรื่อง").select_option("land")
    await page.get_by_label("เรื่อง", exact=True).fill(subject)
    await page.get_by_label("รายละเอียด").fill("ถนนในหมู่บ้านชำรุด")
    await page.get_by_label("ผู้ร้องไม่ประสงค์ออกนาม").check()
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()
    await expect(page).to_have_url(re.compile(r"filed="))
    mine = parse_qs(urlparse(page.url).query)["filed"][0]
    others = [await file(platform, f"อื่น {i}") for i in range(2)]
    gone = await file(platform, "ยุติไปแล้วโดยผู้อื่น")

    await page.goto(platform.url("console") + "/worklists/backlog?sort=-received_at")
    await expect(page.locator("h1")).to_have_text("รายการงาน")
    await expect(page.locator(f"input[name=case][value='{mine}']")).to_have_count(1)
    ids = [await box.get_attribute("value") for box in await page.locator("input[name=case]").all()]
    assert set(others) | {gone, mine} == set(ids)
    assert len(ids) == 4
    assert await serious_violations(page) == []

    await close_behind_the_page(platform, gone)  # someone else closes it meanwhile
    await page.get_by_label("เลือกทุกเรื่องในหน้านี้").check()
    await page.get_by_label("เหตุผลการยุติเรื่อง").select_option("resolved")
    await page.get_by_role("button", name="ยุติเรื่องที่เลือก").click()

    await expect(page.get_by_role("status")).to_contain_text("ยุติเรื่องแล้ว 3 เรื่อง ไม่สำเร็จ 1 เรื่อง")
    failed = page.locator(f"input[name=case][value='{gone}']")
    await expect(failed).to_be_checked()  # the failure stays selected
    assert await serious_violations(page) == []
    for cid in [*others, mine]:
        assert (await case(platform, cid))["status"] == "closed"

    # The dashboard's numbers are kpi's numbers for the same district.
    await page.goto(platform.url("console") + f"/dashboard?district={DISTRICT}")
    async with httpx.AsyncClient(base_url=platform.url("kpi")) as client:

        async def summary() -> dict[str, Any]:
            r = await client.get(
                "/v1/kpi/summary",
                params={"district_code": DISTRICT, "fiscal_year": fiscal_year(now())},
                headers=platform.auth_headers(OFFICER),
            )
            body: dict[str, Any] = r.json()
            return body

        # Mine and the two others closed here, the fourth by someone else.
        kpi = await eventually(summary, lambda s: s["closed"] == 4, timeout=60)
    await page.reload()
    for name in ("received", "closed", "open"):
        await expect(page.locator(f"#tile-{name} .value")).to_have_text(str(kpi[name]))


async def test_filters_sort_and_pages_live_in_the_url(
    page: Page, console_platform: Platform
) -> None:
    platform = console_platform
    for i in range(3):
        await file(platform, f"เรียง {i}", category="drugs")
    await sign_in(page, platform, OFFICER, "/worklists/backlog?category=drugs")
    boxes = page.locator("input[name=case]")
    await expect(boxes).to_have_count(3)
    first = await boxes.first.get_attribute("value")
    await page.get_by_role("link", name="วันที่รับเรื่อง").click()  # oldest first
    await page.get_by_role("link", name="วันที่รับเรื่อง ▲").click()  # then newest first
    await expect(page).to_have_url(re.compile(r"sort=-received_at"))
    assert await boxes.first.get_attribute("value") != first
    csv = await page.request.get(platform.url("console") + "/worklists/backlog.csv?category=drugs")
    assert csv.status == 200 and (await csv.text()).count("\n") == 4  # header + 3 rows
    await page.goto(platform.url("console") + "/worklists/backlog?district=12")
    await expect(page.get_by_role("alert")).to_contain_text("รหัสอำเภอต้องเป็นตัวเลข 4 หลัก")
