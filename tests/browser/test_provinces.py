"""The province map and a province's districts: tiles carry kpi's numbers as text, a tile
leads to its province, a district to its backlog worklist, the table sorts and downloads,
another province's officer is refused, and axe finds nothing serious."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from damrong.embedded.platform import Platform
from shared.auth.principal import Principal, Role
from shared.thai_calendar import fiscal_year
from tests.browser.conftest import serious_violations, sign_in
from tests.browser.test_dashboard import close, file, form_period, kpi
from tests.waiting import eventually

pytestmark = pytest.mark.browser

PROVINCE = "58"  # Mae Hong Son
DISTRICT = "5804"  # Mae Sariang: only this file's cases
SUPERVISOR = Principal("supervisor-provinces", Role.national_supervisor)
PROVINCIAL = Principal("provincial-provinces", Role.provincial_officer, province_code=PROVINCE)


@pytest.fixture(scope="module")
async def seeded(console_platform: Platform) -> None:
    year = fiscal_year(dt.datetime.now(dt.UTC))
    async with httpx.AsyncClient(timeout=10, headers=console_platform.auth_headers()) as c:
        ids = [await file(c, console_platform, DISTRICT) for _ in range(3)]
        await close(c, console_platform, ids[0])

    async def mine() -> Any:
        doc = await kpi(
            console_platform, SUPERVISOR, "/v1/kpi/districts",
            fiscal_year=year, district_code=DISTRICT,
        )  # fmt: skip
        return doc["districts"]

    await eventually(mine, lambda rows: rows and rows[0]["received"] >= 3 and rows[0]["closed"])


async def test_map_tile_to_province_to_the_districts_worklist(
    page: Page, console_platform: Platform, seeded: None
) -> None:
    await sign_in(page, console_platform, SUPERVISOR, "/provinces")
    await expect(page.locator("h1")).to_have_text("แผนที่จังหวัด")
    assert await page.locator("#map a").count() == 77
    period = await form_period(page)
    doc = await kpi(
        console_platform, SUPERVISOR, "/v1/kpi/districts", **period, province_code=PROVINCE
    )
    rows = doc["districts"]
    backlog = sum(r["backlog"] for r in rows)
    received = sum(r["received"] for r in rows)
    closed = sum(r["closed"] for r in rows)
    tile = page.locator(f"#tile-{PROVINCE}")
    await expect(tile).to_contain_text("แม่ฮ่องสอน")
    await expect(tile.locator(".val")).to_have_text(f"{backlog:,}")
    assert await serious_violations(page) == []

    await page.get_by_role("link", name="อัตราการยุติเรื่อง").click()
    await expect(tile.locator(".val")).to_have_text(f"{closed / received * 100:.0f}%")
    assert await serious_violations(page) == []

    await tile.click()
    await expect(page.locator("h1")).to_have_text("แม่ฮ่องสอน")
    row = page.locator("#districts tbody tr").filter(has_text=f"({DISTRICT})")
    mine = next(r for r in rows if r["district_code"] == DISTRICT)
    await expect(row.locator("td")).to_have_text(
        [str(mine["received"]), str(mine["closed"]),
         f"{mine['closed'] / mine['received'] * 100:.1f}%", str(mine["backlog"])]
    )  # fmt: skip
    assert await serious_violations(page) == []
    link = row.get_by_role("link")
    assert await link.get_attribute("href") == f"/worklists/backlog?district={DISTRICT}"
    await link.click()
    await expect(page).to_have_url(re.compile(rf"/worklists/backlog\?district={DISTRICT}$"))


async def test_the_districts_sort_and_download(
    page: Page, console_platform: Platform, seeded: None
) -> None:
    await sign_in(page, console_platform, SUPERVISOR, f"/provinces/{PROVINCE}")
    await page.get_by_role("link", name="คงค้าง").click()
    header = page.locator("#districts th[aria-sort]")
    await expect(header).to_have_attribute("aria-sort", "descending")
    cells = page.locator("#districts tbody tr td:nth-child(5)")
    values = [int(v.replace(",", "")) for v in await cells.all_inner_texts()]
    assert values == sorted(values, reverse=True) and values[0] >= 2
    assert await serious_violations(page) == []
    async with page.expect_download() as info:
        await page.get_by_role("link", name="CSV").click()
    lines = (await (await info.value).path()).read_text("utf-8-sig").splitlines()
    assert lines[0] == "รหัส,อำเภอ/เขต,เรื่องที่รับ,ยุติแล้ว,อัตราการยุติ,คงค้าง"
    assert len(lines) - 1 == await page.locator("#districts tbody tr").count() == 7
    assert [int(line.split(",")[-1]) for line in lines[1:]] == values


async def test_a_provincial_officer_is_refused_another_province(
    page: Page, console_platform: Platform, seeded: None
) -> None:
    await sign_in(page, console_platform, PROVINCIAL, f"/provinces/{PROVINCE}")
    await expect(page.locator("h1")).to_have_text("แม่ฮ่องสอน")
    response = await page.goto(f"{console_platform.url('console')}/provinces/10")
    assert response is not None and response.status in (403, 404)
    await expect(page.locator("h1")).to_have_text(re.compile("ไม่มีสิทธิ์เข้าถึง|ไม่พบหน้าที่ต้องการ"))
    assert await serious_violations(page) == []
