"""The KPI dashboard as supervisors use it: its tiles and monthly table equal kpi's own
answers under the same filters, every table downloads, the monthly report prints as a Thai
A4 PDF, an officer sees only their own area, the complainants' satisfaction panel equals
kpi's report, and axe finds nothing serious."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
import zlib
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from playwright.async_api import Page, expect

from damrong.embedded.platform import Platform
from services.console.templating import percent
from shared import feedback_links
from shared.auth.principal import Principal, Role
from shared.thai_calendar import BANGKOK, fiscal_year
from tests.browser.conftest import serious_violations, sign_in
from tests.waiting import eventually

pytestmark = pytest.mark.browser

PROVINCE = "58"  # Mae Hong Son: no other test of the tier files here
DISTRICT = "5801"
OTHER_DISTRICT = "5802"
SUPERVISOR = Principal("supervisor-dashboard", Role.national_supervisor)
OFFICER = Principal("officer-dashboard", Role.district_officer, district_code=DISTRICT)


async def file(client: httpx.AsyncClient, platform: Platform, district: str, **extra: Any) -> str:
    r = await client.post(
        f"{platform.url('intake')}/v1/complaints",
        json={
            "channel": "walk_in",
            "district_code": district,
            "category": "land",
            "subject": f"{uuid.uuid4().hex[:8]} ทดสอบตัวชี้วัด",
            "description": "รายละเอียด",
            "complainant": {"anonymous": True},
            **extra,
        },
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code in (200, 201), r.text
    complaint_id: str = r.json()["complaint_id"]
    return complaint_id


async def close(client: httpx.AsyncClient, platform: Platform, complaint_id: str) -> None:
    url = f"{platform.url('status')}/v1/complaints/{complaint_id}"

    async def seen() -> int:
        return (await client.get(url)).status_code

    await eventually(seen, lambda s: s == 200)
    r = await client.post(
        f"{url}/transitions",
        json={"action": "close", "expected_version": 1, "reason": "duplicate"},
    )
    assert r.status_code == 200, r.text


async def kpi(platform: Platform, principal: Principal, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(base_url=platform.url("kpi"), timeout=10) as c:
        r = await c.get(path, params=params, headers=platform.auth_headers(principal))
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
async def seeded(console_platform: Platform) -> dict[str, Any]:
    """Three complaints in the province (one closed), one in another of its districts."""
    async with httpx.AsyncClient(timeout=10, headers=console_platform.auth_headers()) as c:
        ids = [await file(c, console_platform, DISTRICT) for _ in range(2)]
        ids.append(await file(c, console_platform, OTHER_DISTRICT))
        await close(c, console_platform, ids[0])

    async def summary() -> Any:
        return await kpi(
            console_platform, SUPERVISOR, "/v1/kpi/summary",
            fiscal_year=fiscal_year(dt.datetime.now(dt.UTC)), province_code=PROVINCE,
        )  # fmt: skip

    doc = await eventually(summary, lambda d: d["received"] >= 3 and d["closed"] >= 1)
    return {"ids": ids, "summary": doc}


async def form_period(page: Page) -> dict[str, str]:
    """The fiscal year and as-of date the page's filter form shows (the page's defaults)."""
    return {
        "fiscal_year": await page.get_by_label("ปีงบประมาณ (พ.ศ.)").input_value(),
        "as_of": await page.get_by_label("ข้อมูล ณ วันที่").input_value(),
    }


def pdf_objects(pdf: bytes) -> bytes:
    """The PDF with its compressed streams (object streams too) inflated."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(parts)


def tile_text(name: str, doc: dict[str, Any]) -> str:
    value = doc[name]
    if name == "closure_rate":
        return percent(value)
    if name == "median_days_to_close":
        return "–" if value is None else f"{value:,.1f}"
    return f"{value:,}"


async def test_the_tiles_and_monthly_table_equal_kpis_answer(
    page: Page, console_platform: Platform, seeded: dict[str, Any]
) -> None:
    await sign_in(page, console_platform, SUPERVISOR, f"/dashboard?province={PROVINCE}")
    await expect(page.locator("h1")).to_have_text("ตัวชี้วัดผลการดำเนินงาน")
    period = await form_period(page)
    params = {**period, "province_code": PROVINCE}
    summary = await kpi(console_platform, SUPERVISOR, "/v1/kpi/summary", **params)
    assert summary["received"] >= 3
    for name in ("received", "closed", "open", "closure_rate", "closed_within_sla",
                 "median_days_to_close"):  # fmt: skip
        await expect(page.locator(f"#tile-{name} .value")).to_have_text(tile_text(name, summary))
    monthly = await kpi(console_platform, SUPERVISOR, "/v1/kpi/monthly", **params)
    rows = page.locator("#monthly-table tbody tr")
    await expect(rows).to_have_count(len(monthly["months"]))
    last = monthly["months"][-1]
    assert last["month"] == period["as_of"][:7]  # as of today: no month still to come
    cells = rows.last.locator("td")
    await expect(cells).to_have_text(
        [str(last[k]) for k in ("carried_in", "received", "closed", "remaining", "reopened")]
    )
    # Thai month name and BE year in the first column, and the chart drawn beside it.
    await expect(rows.last.locator("th")).to_have_text(re.compile(r"^\S+\.\S*\s25\d\d$"))
    assert await page.locator("figure.chart > svg rect.s1").count() == len(monthly["months"])
    assert await serious_violations(page) == []


async def test_every_table_downloads_with_the_pages_filters(
    page: Page, console_platform: Platform, seeded: dict[str, Any]
) -> None:
    await sign_in(page, console_platform, SUPERVISOR, f"/dashboard?province={PROVINCE}")
    period = await form_period(page)
    monthly = await kpi(
        console_platform, SUPERVISOR, "/v1/kpi/monthly", **period, province_code=PROVINCE
    )
    async with page.expect_download() as info:
        await page.get_by_role("link", name=re.compile("^CSV รายงานประจำเดือน")).click()
    download = await info.value
    text = (await download.path()).read_text("utf-8-sig")
    lines = [line for line in text.splitlines() if line]
    assert lines[0].startswith("เดือน,ยกมา,รับใหม่,ยุติ,คงเหลือ")
    assert len(lines) == 1 + len(monthly["months"])
    last = monthly["months"][-1]
    assert lines[-1].split(",")[1:5] == [
        str(last[k]) for k in ("carried_in", "received", "closed", "remaining")
    ]
    async with page.expect_download() as info:
        await page.get_by_role("link", name=re.compile("^XLSX ตัวชี้วัดหลัก")).click()
    book = load_workbook(io.BytesIO((await (await info.value).path()).read_bytes()))
    sheet = book.worksheets[0]
    header, values = list(sheet.iter_rows(values_only=True))
    assert header[0] == "เรื่องที่รับ"
    summary = await kpi(
        console_platform, SUPERVISOR, "/v1/kpi/summary", **period, province_code=PROVINCE
    )
    assert values[:3] == (summary["received"], summary["closed"], summary["open"])


async def test_the_monthly_report_prints_as_a_thai_a4_pdf(
    page: Page, console_platform: Platform, seeded: dict[str, Any]
) -> None:
    await sign_in(page, console_platform, SUPERVISOR, f"/dashboard?province={PROVINCE}")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="พิมพ์รายงานประจำเดือน (PDF)").click()
    pdf = (await (await info.value).path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    # A4 is 595 x 842 points; the Thai face is embedded (a subset named ...+Sarabun).
    body = pdf_objects(pdf)
    assert re.search(rb"/MediaBox \[\s*0 0 595(\.\d+)? 841\.\d+|/MediaBox \[\s*0 0 595 842", body)
    assert re.search(rb"/FontName /[A-Z]{6}\+Sarabun", body)


async def test_an_officer_sees_only_their_district(
    page: Page, console_platform: Platform, seeded: dict[str, Any]
) -> None:
    await sign_in(page, console_platform, OFFICER, "/dashboard")
    period = await form_period(page)
    mine = await kpi(console_platform, OFFICER, "/v1/kpi/summary", **period)
    assert mine["district_code"] == DISTRICT
    province = await kpi(
        console_platform, SUPERVISOR, "/v1/kpi/summary", **period, province_code=PROVINCE
    )
    assert mine["received"] < province["received"]  # the other district's case is not theirs
    await expect(page.locator("#tile-received .value")).to_have_text(f"{mine['received']:,}")
    await expect(page.locator("#scope")).to_contain_text("เมืองแม่ฮ่องสอน, แม่ฮ่องสอน")
    assert await serious_violations(page) == []
    response = await page.goto(f"{console_platform.url('console')}/dashboard?province=10")
    assert response is not None and response.status == 403
    await expect(page.locator("h1")).to_have_text("ไม่มีสิทธิ์เข้าถึง")


async def test_a_bad_filter_is_named_not_a_crash(
    page: Page, console_platform: Platform, seeded: dict[str, Any]
) -> None:
    await sign_in(page, console_platform, SUPERVISOR, "/dashboard")
    bad = "/dashboard?fiscal_year=abc&as_of=31/02/2569"
    response = await page.goto(console_platform.url("console") + bad)
    assert response is not None and response.status == 422
    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("ปีงบประมาณต้องเป็นปี พ.ศ.")
    await expect(summary).to_contain_text("วันที่ไม่ถูกต้อง")
    await expect(page.locator("#e-as_of")).to_be_visible()
    assert await serious_violations(page) == []


async def test_in_english_months_keep_their_be_years(
    page: Page, console_platform: Platform, seeded: dict[str, Any]
) -> None:
    await sign_in(page, console_platform, SUPERVISOR, f"/dashboard?province={PROVINCE}")
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("h1")).to_have_text("Performance indicators")
    first = page.locator("#monthly-table tbody tr").first.locator("th")
    await expect(first).to_have_text(re.compile(r"^Oct 25\d\d$"))
    await expect(page.locator("#f-province option[selected]")).to_have_text("Mae Hong Son")
    assert await serious_violations(page) == []


async def test_a_provincial_officer_sees_their_province_as_kpi_answers_it(
    page: Page, console_platform: Platform, seeded: dict[str, Any]
) -> None:
    provincial = Principal("provincial-dashboard", Role.provincial_officer, province_code=PROVINCE)
    await sign_in(page, console_platform, provincial, "/dashboard")
    period = await form_period(page)
    summary = await kpi(console_platform, provincial, "/v1/kpi/summary", **period)
    assert summary["province_code"] == PROVINCE and summary["received"] >= 3
    for name in ("received", "closed", "open", "closure_rate"):
        await expect(page.locator(f"#tile-{name} .value")).to_have_text(tile_text(name, summary))
    response = await page.goto(f"{console_platform.url('console')}/dashboard?province=10")
    assert response is not None and response.status == 403
    assert await serious_violations(page) == []


async def test_a_silent_district_is_marked_in_words_not_colour_alone(
    page: Page, console_platform: Platform, seeded: dict[str, Any]
) -> None:
    # Three weeks after today nothing has been recorded for more than 14 days.
    later = (dt.datetime.now(BANGKOK) + dt.timedelta(days=21)).date().isoformat()
    await sign_in(page, console_platform, SUPERVISOR, "/dashboard")
    console = console_platform.url("console")
    await page.goto(f"{console}/dashboard?province={PROVINCE}&as_of={later}")
    row = page.locator("#recording-table tbody tr").filter(has_text=f"({DISTRICT})")
    await expect(row).to_have_class("silent")
    await expect(row.locator("td").last).to_have_text("⚠ เงียบ")
    await expect(page.locator(".notice.bad")).to_contain_text("อำเภอที่ไม่ได้บันทึกข้อมูลมานาน")
    assert await serious_violations(page) == []


async def rate(platform: Platform, complaint_id: str, **answer: Any) -> None:
    """The complainant answers the closure (version 2) through status' public route."""
    token = feedback_links.issue(
        uuid.UUID(complaint_id), 2, platform.feedback_link_secret, dt.datetime.now(dt.UTC)
    )
    async with httpx.AsyncClient(timeout=10) as c:
        r = await c.post(f"{platform.url('status')}/v1/feedback", json={"token": token, **answer})
        assert r.status_code == 201, r.text


async def test_the_satisfaction_panel_equals_kpis_answer_and_downloads(
    page: Page, console_platform: Platform, seeded: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(timeout=10, headers=console_platform.auth_headers()) as c:
        cid = await file(c, console_platform, DISTRICT)
        await close(c, console_platform, cid)
    await rate(console_platform, cid, score=2, not_solved=True)

    async def figures() -> Any:
        return await kpi(
            console_platform, SUPERVISOR, "/v1/kpi/satisfaction",
            fiscal_year=fiscal_year(dt.datetime.now(dt.UTC)), province_code=PROVINCE,
        )  # fmt: skip

    await eventually(figures, lambda d: d["total"]["rated"] >= 1 and d["total"]["disputed"] >= 1)
    await sign_in(page, console_platform, SUPERVISOR, f"/dashboard?province={PROVINCE}")
    period = await form_period(page)
    doc = await kpi(
        console_platform, SUPERVISOR, "/v1/kpi/satisfaction", **period, province_code=PROVINCE
    )
    total = doc["total"]
    panel = page.get_by_role("region", name="ความพึงพอใจของผู้ร้องหลังยุติเรื่อง")
    await expect(panel.locator("#sat-mean_score .value")).to_have_text(
        f"{total['mean_score']:,.2f}"
    )
    await expect(panel.locator("#sat-response_rate .value")).to_have_text(
        percent(total["response_rate"])
    )
    await expect(panel.locator("#sat-disputed_rate")).to_contain_text(
        f"{total['disputed']} จาก {total['closures']} ครั้งที่ยุติเรื่อง"
    )
    await expect(panel.locator("#sat-reopened_rate .value")).to_have_text(
        percent(total["reopened_rate"])
    )
    scores = panel.locator("#satisfaction-scores tbody tr")
    await expect(scores).to_have_count(5)
    await expect(scores.nth(1).locator("th")).to_have_text("2 จาก 5")
    await expect(scores.nth(1).locator("td").first).to_have_text(str(total["score_2"]))
    mine = next(d for d in doc["districts"] if d["district_code"] == DISTRICT)
    row = panel.locator("#satisfaction-table tbody tr").filter(has_text=f"({DISTRICT})")
    await expect(row.locator("th")).to_have_text(f"เมืองแม่ฮ่องสอน ({DISTRICT})")
    await expect(row.locator("td").first).to_have_text(str(mine["closures"]))
    await expect(row.locator("td").nth(3)).to_contain_text(str(mine["disputed"]))
    assert await serious_violations(page) == []

    async with page.expect_download() as info:
        await panel.get_by_role("link", name=re.compile("^CSV ความพึงพอใจ")).click()
    text = (await (await info.value).path()).read_text("utf-8-sig")
    lines = [line.split(",") for line in text.splitlines() if line]
    assert lines[0][:3] == ["รหัสอำเภอ", "อำเภอ/เขต", "ครั้งที่ยุติเรื่อง"]
    assert len(lines) == 2 + len(doc["districts"])  # the header, the districts, the total
    assert lines[-1][1:3] == ["รวม", str(total["closures"])]
    assert [DISTRICT, "เมืองแม่ฮ่องสอน", str(mine["closures"])] in [r[:3] for r in lines]
