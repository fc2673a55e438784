"""Importing a register through the console: the preview lists every rejected row with its
reasons and files nothing; the confirmation files the good rows; the rejected rows can be
downloaded; refused uploads are explained; every step is accessible."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import FilePayload, Page, expect

from damrong.embedded.platform import Platform
from shared.auth.principal import Principal, Role
from tests.browser.conftest import serious_violations, sign_in
from tests.waiting import eventually

pytestmark = pytest.mark.browser

DISTRICT = "9603"  # Bacho, Narathiwat: no other test of the tier files here
OFFICER = Principal("officer-import", Role.district_officer, district_code=DISTRICT)
HEADER = "เลขที่หนังสือ,วันที่รับเรื่อง,ช่องทาง,อำเภอ,ประเภทเรื่อง,เรื่อง,ชื่อผู้ร้อง,เลขประจำตัวประชาชน,ไม่ประสงค์ออกนาม"


def register(tag: str) -> bytes:
    """Rows 2 and 3 are good (open cases); 4, 5 and 6 are rejected."""
    lines = [
        HEADER,
        f",1/10/2568,หนังสือ,{DISTRICT},ที่ดิน,{tag} บุกรุก,นายสมชาย ใจดี,,ไม่",  # 2
        f",2 ต.ค. 2568,สายด่วน 1567,{DISTRICT},เหตุเดือดร้อนรำคาญ,{tag} เสียงดัง,,,ใช่",  # 3
        f",1/10/2568,หนังสือ,{DISTRICT},ที่ดิน,{tag} บัตรผิด,นายก ข,1101700230709,",  # 4
        f",1/10/2568,นกพิราบ,{DISTRICT},เรื่องผี,{tag} ป้ายแปลก,,,ใช่",  # 5
        f",1/10/2568,หนังสือ,5001,ที่ดิน,{tag} อำเภออื่น,,,ใช่",  # 6
    ]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


async def open_cases(platform: Platform) -> tuple[int, int]:
    """Open cases of DISTRICT as status' backlog and kpi's count them."""
    headers = platform.auth_headers()
    params = {"district_code": DISTRICT}
    async with httpx.AsyncClient() as client:
        status = await client.get(
            platform.url("status") + "/v1/worklists/backlog", params=params, headers=headers
        )
        kpi = await client.get(
            platform.url("kpi") + "/v1/kpi/backlog", params=params, headers=headers
        )
    assert status.status_code == 200 and kpi.status_code == 200, (status.text, kpi.text)
    return status.json()["total"], kpi.json()["open"]


async def upload(page: Page, name: str, data: bytes) -> None:
    await page.get_by_label("ไฟล์ทะเบียน").set_input_files(
        files=FilePayload(name=name, mimeType="text/csv", buffer=data)
    )
    await page.get_by_role("button", name="อัปโหลดและตรวจสอบ").click()


async def test_preview_then_confirm_files_only_the_good_rows(
    page: Page, console_platform: Platform, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    await sign_in(page, console_platform, OFFICER, "/imports/new")
    await expect(page.locator("h1")).to_have_text("นำเข้าทะเบียนเรื่องร้องเรียน")
    assert await serious_violations(page) == []
    await upload(page, "register.csv", register(tag))

    # The preview: counts, the first rows as read, every rejected row with its reasons.
    await expect(page.locator("h1")).to_have_text("ตรวจสอบก่อนบันทึก")
    await expect(page.locator("#count-rows")).to_have_text("5")
    await expect(page.locator("#count-filed")).to_have_text("2")
    await expect(page.locator("#count-rejected")).to_have_text("3")
    await expect(page.locator("table.sample")).to_contain_text(f"{tag} บุกรุก")
    rejected = page.locator("table.rejected tbody tr")
    await expect(rejected).to_have_count(3)
    await expect(rejected.nth(0)).to_contain_text("เลขประจำตัวประชาชน")
    await expect(rejected.nth(0)).to_contain_text("is not a valid 13-digit Thai national ID")
    await expect(rejected.nth(1)).to_contain_text("unknown channel 'นกพิราบ'")
    await expect(rejected.nth(1)).to_contain_text("unknown category 'เรื่องผี'")
    await expect(rejected.nth(2)).to_contain_text("5001 is outside your district")
    assert await serious_violations(page) == []
    assert await open_cases(console_platform) == (0, 0)  # nothing filed before confirming

    await page.get_by_role("button", name="ยืนยันการบันทึก 2 เรื่อง").click()
    await expect(page.locator("h1")).to_have_text("นำเข้าเสร็จแล้ว")
    await expect(page.locator("#count-filed")).to_have_text("2")
    await expect(page.locator("#count-rejected")).to_have_text("3")
    await expect(page.get_by_role("status")).to_contain_text("บันทึกแล้ว 2 เรื่อง")
    assert await serious_violations(page) == []
    # What htmx polls while the job runs: finished, it asks for the whole page again.
    progress = await page.request.get(page.url + "/progress", headers={"HX-Request": "true"})
    assert progress.status == 200 and progress.headers["hx-refresh"] == "true"
    assert 'value="100"' in await progress.text()
    assert await eventually(lambda: open_cases(console_platform), lambda n: n == (2, 2)) == (2, 2)

    async with page.expect_download() as info:
        await page.get_by_role("link", name="ดาวน์โหลดแถวที่ถูกปฏิเสธ (CSV)").click()
    download = await info.value
    saved = tmp_path / "rejected.csv"
    await download.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text("utf-8-sig"))))
    assert rows[0][:3] == ["แถว (row)", "เหตุผล (reasons)", "เลขที่หนังสือ"]
    assert [r[0] for r in rows[1:]] == ["4", "5", "6"]
    assert [r[7] for r in rows[1:]] == [f"{tag} บัตรผิด", f"{tag} ป้ายแปลก", f"{tag} อำเภออื่น"]


async def test_a_refused_upload_is_explained_beside_the_file_field(
    page: Page, console_platform: Platform
) -> None:
    await sign_in(page, console_platform, OFFICER, "/imports/new")
    await page.get_by_role("button", name="อัปโหลดและตรวจสอบ").click()
    await expect(page.locator("#f-file-error")).to_contain_text("กรุณาเลือกไฟล์ทะเบียน")

    await upload(page, "notes.csv", b"just,some\nwords,here\n")
    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("อ่านไฟล์ไม่ได้")
    await expect(summary.get_by_role("link")).to_have_attribute("href", "#f-file")
    await expect(page.locator("#f-file-error")).to_contain_text("no header row")
    assert await serious_violations(page) == []
    # A job id that is not one is a page not found, not a stack trace.
    await page.goto(console_platform.url("console") + "/imports/not-a-job")
    await expect(page.locator("h1")).to_have_text("ไม่พบหน้าที่ต้องการ")
    await page.goto(console_platform.url("console") + f"/imports/{uuid.uuid4()}")
    await expect(page.locator("h1")).to_have_text("ไม่พบหน้าที่ต้องการ")
