"""Then vs now: a complaint filed today with an earlier received date (a late record)
is missing from the report as known yesterday and present today: the page shows the gap,
the download carries it, and axe finds nothing serious."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from damrong.embedded.platform import Platform
from shared.auth.principal import Principal, Role
from shared.thai_calendar import BANGKOK
from tests.browser.conftest import serious_violations, sign_in
from tests.browser.test_dashboard import file, kpi
from tests.waiting import eventually

pytestmark = pytest.mark.browser

DISTRICT = "5805"  # Mae La Noi, Mae Hong Son: only this file's cases
SUPERVISOR = Principal("supervisor-compare", Role.national_supervisor)


@pytest.fixture(scope="module")
async def late(console_platform: Platform) -> dt.date:
    """Yesterday (Bangkok), after filing one complaint received three days ago."""
    now = dt.datetime.now(BANGKOK)
    async with httpx.AsyncClient(timeout=10, headers=console_platform.auth_headers()) as c:
        await file(
            c, console_platform, DISTRICT, received_at=(now - dt.timedelta(days=3)).isoformat()
        )

    async def rows() -> Any:
        doc = await kpi(console_platform, SUPERVISOR, "/v1/kpi/recording", district_code=DISTRICT)
        return doc["filings"]

    await eventually(rows, lambda n: n >= 1)
    return now.date() - dt.timedelta(days=1)


async def test_a_late_record_shows_as_the_gap(
    page: Page, console_platform: Platform, late: dt.date
) -> None:
    await sign_in(page, console_platform, SUPERVISOR, "/compare")
    await expect(page.locator("h1")).to_have_text("รายงานเดิมเทียบข้อมูลปัจจุบัน")
    assert await serious_violations(page) == []
    await page.get_by_label("วันที่ส่งรายงาน (T)").fill(late.isoformat())
    await page.get_by_label("จังหวัด").select_option("58")
    await page.get_by_role("button", name="แสดงผล").click()
    row = page.locator(f"#d-{DISTRICT}")
    await expect(row.locator("td")).to_have_text(["0", "1", "+1", "100.0%", "0", "0", "0"])
    await expect(row.locator("th")).to_contain_text("แม่ลาน้อย")
    assert await serious_violations(page) == []
    async with page.expect_download() as info:
        await page.get_by_role("link", name="CSV").click()
    lines = (await (await info.value).path()).read_text("utf-8-sig").splitlines()
    assert lines[0].startswith("รหัสอำเภอ,อำเภอ/เขต,รับ (เดิม),รับ (ปัจจุบัน),รับ บันทึกย้อนหลัง")
    mine = next(line.split(",") for line in lines if line.startswith(DISTRICT))
    assert mine[2:5] == ["0", "1", "1"]


async def test_a_date_in_the_future_is_named(
    page: Page, console_platform: Platform, late: dt.date
) -> None:
    await sign_in(page, console_platform, SUPERVISOR, "/compare")
    await page.get_by_label("วันที่ส่งรายงาน (T)").fill((late + dt.timedelta(days=30)).isoformat())
    await page.get_by_role("button", name="แสดงผล").click()
    await expect(page.get_by_role("alert")).to_contain_text("วันที่ต้องไม่เกินวันนี้")
    await expect(page.locator("#e-at")).to_be_visible()
    assert await serious_violations(page) == []
