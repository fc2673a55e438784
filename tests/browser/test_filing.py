"""Filing a complaint through the console as a district officer: filed once, found in
intake, errors beside their fields, anonymity, user text as text, a session that ends
while typing, the area pickers with and without htmx, and accessibility."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.async_api import Page, expect

from damrong.embedded.platform import Platform
from shared.auth.principal import Principal, Role
from tests.browser.conftest import login_url, serious_violations, sign_in
from tests.waiting import eventually

pytestmark = pytest.mark.browser

DISTRICT = "9602"  # Tak Bai, Narathiwat: a district no other test of the tier files in
OFFICER = Principal("officer-filing", Role.district_officer, district_code=DISTRICT)
NEW = "/complaints/new"


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def open_form(page: Page, platform: Platform) -> None:
    await sign_in(page, platform, OFFICER, NEW)
    await expect(page.locator("h1")).to_have_text("รับเรื่องร้องเรียน")


async def fill(page: Page, subject: str, *, phone: str = "081-234-5678") -> None:
    await page.get_by_label("ประเภทเรื่อง").select_option("land")
    await page.get_by_label("เรื่อง", exact=True).fill(subject)
    await page.get_by_label("รายละเอียด").fill("รั้วรุกล้ำที่ดินประมาณ ๒ เมตร")
    await page.get_by_label("ชื่อ-นามสกุล").fill("นายสมชาย ใจดี")
    await page.get_by_label("โทรศัพท์").fill(phone)


def filed_id(page: Page) -> str:
    return parse_qs(urlparse(page.url).query)["filed"][0]


async def intake_record(platform: Platform, complaint_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=platform.url("intake")) as client:
        r = await client.get(f"/v1/complaints/{complaint_id}", headers=platform.auth_headers())
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


async def backlog_total(platform: Platform) -> int:
    async with httpx.AsyncClient(base_url=platform.url("status")) as client:
        r = await client.get(
            "/v1/worklists/backlog",
            params={"district_code": DISTRICT, "limit": 1},
            headers=platform.auth_headers(),
        )
        assert r.status_code == 200, r.text
        total: int = r.json()["total"]
        return total


async def test_an_officer_files_a_complaint_found_in_intake(
    page: Page, console_platform: Platform
) -> None:
    await open_form(page, console_platform)
    assert await serious_violations(page) == []
    # The officer's own province and district are chosen already.
    await expect(page.get_by_label("อำเภอ/เขต")).to_have_value(DISTRICT)
    subject = f"{tag()} รั้วรุกล้ำ"
    await fill(page, subject)
    await page.get_by_label("ตำบล/แขวง").select_option("960201")
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()

    await expect(page.locator("h1")).to_have_text("บันทึกเรื่องร้องเรียนแล้ว")
    complaint_id = filed_id(page)
    record = await intake_record(console_platform, complaint_id)
    assert (record["subject"], record["district_code"], record["subdistrict_code"]) == (
        subject,
        DISTRICT,
        "960201",
    )
    assert record["channel"] == "walk_in" and record["complainant"]["anonymous"] is False
    assert record["filed_by"] == OFFICER.subject
    await expect(page.locator(".tracking")).to_have_text(record["tracking_no"])
    await expect(page.get_by_role("link", name="เปิดดูเรื่องนี้")).to_have_attribute(
        "href", f"/cases/{complaint_id}"
    )
    assert await serious_violations(page) == []
    await page.get_by_role("link", name="รับเรื่องใหม่").click()
    await expect(page.get_by_label("เรื่อง", exact=True)).to_have_value("")  # a new form


async def test_bad_fields_are_named_beside_them_and_in_a_summary_keeping_the_input(
    page: Page, console_platform: Platform
) -> None:
    await open_form(page, console_platform)
    subject = f"{tag()} ไม่มีประเภท"
    await fill(page, subject, phone="12345")
    await page.get_by_label("ประเภทเรื่อง").select_option("")
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()

    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("มีข้อมูลที่ต้องแก้ไข")
    await expect(summary.get_by_role("link", name=re.compile("^ประเภทเรื่อง"))).to_have_attribute(
        "href", "#f-category"
    )
    await expect(summary.get_by_role("link", name=re.compile("^โทรศัพท์"))).to_be_visible()
    await expect(page.locator("#f-phone-error")).to_contain_text("หมายเลขโทรศัพท์ไม่ถูกต้อง")
    await expect(page.locator("#f-category-error")).to_contain_text("กรุณา")
    await expect(page.get_by_label("โทรศัพท์")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("เรื่อง", exact=True)).to_have_value(subject)
    await expect(page.get_by_label("โทรศัพท์")).to_have_value("12345")
    assert await serious_violations(page) == []

    await page.get_by_label("ประเภทเรื่อง").select_option("land")
    await page.get_by_label("โทรศัพท์").fill("0812345678")
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()
    await expect(page.locator("h1")).to_have_text("บันทึกเรื่องร้องเรียนแล้ว")


async def test_the_same_form_sent_twice_files_once(page: Page, console_platform: Platform) -> None:
    before = await backlog_total(console_platform)
    await open_form(page, console_platform)
    await fill(page, f"{tag()} ส่งซ้ำ")
    form: dict[str, str | float | bool] = await page.evaluate(
        "() => Object.fromEntries(new FormData(document.getElementById('filing')))"
    )
    url = console_platform.url("console") + NEW
    answers = [
        await page.request.post(url, form=form, max_redirects=0),
        await page.request.post(url, form=form, max_redirects=0),
    ]
    assert [a.status for a in answers] == [303, 303]
    locations = [a.headers["location"] for a in answers]
    assert locations[0] == locations[1]  # the second answer names the first filing

    complaint_id = parse_qs(urlparse(locations[0]).query)["filed"][0]
    assert (await intake_record(console_platform, complaint_id))["complaint_id"] == complaint_id

    async def seen() -> tuple[int, int]:
        async with httpx.AsyncClient(base_url=console_platform.url("status")) as client:
            r = await client.get(
                f"/v1/complaints/{complaint_id}", headers=console_platform.auth_headers()
            )
        return r.status_code, await backlog_total(console_platform)

    assert await eventually(seen, lambda s: s[0] == 200) == (200, before + 1)

    # A double click in the browser sends once as well.
    await page.goto(url)
    await fill(page, f"{tag()} ดับเบิลคลิก")
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").dblclick()
    await expect(page.locator("h1")).to_have_text("บันทึกเรื่องร้องเรียนแล้ว")


async def test_an_anonymous_complaint_sends_no_identity(
    page: Page, console_platform: Platform
) -> None:
    await open_form(page, console_platform)
    await fill(page, f"{tag()} ไม่ออกนาม")
    await page.get_by_label("ผู้ร้องไม่ประสงค์ออกนาม").check()
    await expect(page.get_by_label("ชื่อ-นามสกุล")).to_be_hidden()
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()
    await expect(page.locator("h1")).to_have_text("บันทึกเรื่องร้องเรียนแล้ว")
    record = await intake_record(console_platform, filed_id(page))
    person = record["complainant"]
    assert person["anonymous"] is True
    assert [k for k, v in person.items() if v and k != "anonymous"] == []


async def test_a_subject_with_markup_is_shown_as_text(
    page: Page, console_platform: Platform
) -> None:
    await open_form(page, console_platform)
    subject = f"{tag()} <script>window.__pwned=1</script>"
    await fill(page, subject)
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()
    await expect(page.locator(".subject")).to_have_text(subject)
    assert await page.evaluate("() => typeof window.__pwned") == "undefined"


async def test_a_session_that_ends_while_typing_comes_back_filled(
    page: Page, console_platform: Platform
) -> None:
    await open_form(page, console_platform)
    subject = f"{tag()} หมดเวลา"
    await fill(page, subject)
    await page.context.clear_cookies(name="damrong_session")
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()
    await expect(page).to_have_url(re.compile(r"/signin\?expired=true"))

    await page.goto(login_url(console_platform, OFFICER, NEW))
    await expect(page.locator("h1")).to_have_text("รับเรื่องร้องเรียน")
    await expect(page.get_by_label("เรื่อง", exact=True)).to_have_value(subject)
    await expect(page.get_by_label("ชื่อ-นามสกุล")).to_have_value("นายสมชาย ใจดี")
    await page.get_by_label("ประเภทเรื่อง").select_option("land")
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()
    await expect(page.locator(".subject")).to_have_text(subject)


async def test_the_area_pickers_follow_the_province_with_and_without_script(
    page: Page, console_platform: Platform
) -> None:
    await open_form(page, console_platform)
    await page.get_by_label("จังหวัด").select_option("10")
    await expect(page.get_by_label("อำเภอ/เขต").locator("option[value='1001']")).to_have_text(
        "เขตพระนคร"
    )
    await page.get_by_label("อำเภอ/เขต").select_option("1001")
    await expect(page.get_by_label("ตำบล/แขวง").locator("option[value='100101']")).to_have_text(
        "พระบรมมหาราชวัง"
    )

    # Without script the "show districts" button posts the form back: nothing is filed.
    context = await page.context.browser.new_context(java_script_enabled=False)  # type: ignore[union-attr]
    try:
        plain = await context.new_page()
        await plain.goto(login_url(console_platform, OFFICER, NEW))
        await plain.get_by_label("เรื่อง", exact=True).fill("ไม่มีสคริปต์")
        await plain.get_by_label("จังหวัด").select_option("10")
        await plain.get_by_role("button", name="แสดงรายชื่ออำเภอ").click()
        await expect(plain.locator("#f-district_code option[value='1001']")).to_have_count(1)
        await expect(plain.get_by_label("เรื่อง", exact=True)).to_have_value("ไม่มีสคริปต์")
        await expect(plain.get_by_role("alert")).to_have_count(0)
    finally:
        await context.close()


async def test_the_form_in_english(page: Page, console_platform: Platform) -> None:
    await open_form(page, console_platform)
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("h1")).to_have_text("File a complaint")
    await expect(page.get_by_label("Category")).to_be_visible()
    await expect(page.get_by_role("button", name="File the complaint")).to_be_visible()
    await page.get_by_role("button", name="File the complaint").click()
    await expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    assert await serious_violations(page) == []
    await page.get_by_role("link", name="ภาษาไทย").click()


async def test_consent_to_be_told_is_checked_by_intake_beside_its_field(
    page: Page, console_platform: Platform
) -> None:
    await open_form(page, console_platform)
    consent = page.get_by_role("group", name=re.compile("การแจ้งความคืบหน้าให้ผู้ร้องทราบ"))
    await expect(consent).to_contain_text("ผู้ร้องเป็นผู้เลือกเอง")  # the PDPA explanation
    await expect(consent.get_by_role("checkbox")).to_have_count(2)  # SMS and e-mail, no LINE
    await fill(page, f"{tag()} แจ้งทาง SMS", phone="02-123-4567")  # a landline
    await page.get_by_label("SMS ไปยังเบอร์มือถือที่ให้ไว้").check()
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()

    summary = page.locator(".error-summary")
    link = summary.get_by_role("link", name=re.compile("^การแจ้งความคืบหน้า"))
    await expect(link).to_have_attribute("href", "#f-notify")
    await expect(page.locator("#f-notify-error")).to_contain_text("ต้องเป็นเบอร์มือถือ")
    await expect(page.get_by_label("SMS ไปยังเบอร์มือถือที่ให้ไว้")).to_be_checked()  # kept
    await expect(page.get_by_label("SMS ไปยังเบอร์มือถือที่ให้ไว้")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert await serious_violations(page) == []

    # E-mail without an address: named again; with one and a mobile number, filed.
    await page.get_by_label("SMS ไปยังเบอร์มือถือที่ให้ไว้").uncheck()
    await page.get_by_label("อีเมลไปยังอีเมลที่ให้ไว้").check()
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()
    await expect(page.locator("#f-notify-error")).to_contain_text("ต้องกรอกอีเมล")
    await page.get_by_label("โทรศัพท์").fill("0812345678")
    await page.locator("#f-email").fill("somchai@example.com")
    await page.get_by_label("SMS ไปยังเบอร์มือถือที่ให้ไว้").check()
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()
    await expect(page.locator("h1")).to_have_text("บันทึกเรื่องร้องเรียนแล้ว")
    await expect(page.locator("#tracking-secret")).to_have_count(0)  # named: no secret

    # Anonymous: the choice is hidden with the identity, and not sent.
    await page.get_by_role("link", name="รับเรื่องใหม่").click()
    await fill(page, f"{tag()} ไม่ออกนามแต่ติ๊กไว้")
    await page.get_by_label("SMS ไปยังเบอร์มือถือที่ให้ไว้").check()
    await page.get_by_label("ผู้ร้องไม่ประสงค์ออกนาม").check()
    await expect(consent).to_be_hidden()
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()
    await expect(page.locator("h1")).to_have_text("บันทึกเรื่องร้องเรียนแล้ว")


async def test_an_anonymous_receipt_shows_the_secret_once_and_it_tracks_the_case(
    page: Page, console_platform: Platform
) -> None:
    await open_form(page, console_platform)
    await fill(page, f"{tag()} ไม่ออกนาม ติดตามเอง")
    await page.get_by_label("ผู้ร้องไม่ประสงค์ออกนาม").check()
    await page.get_by_role("button", name="บันทึกเรื่องร้องเรียน").click()
    await expect(page.locator("h1")).to_have_text("บันทึกเรื่องร้องเรียนแล้ว")
    secret = (await page.locator("#tracking-secret").inner_text()).strip()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", secret), secret
    number = (await page.locator("#tracking-no").inner_text()).strip()
    await expect(page.get_by_role("region", name=re.compile("รหัสลับ"))).to_contain_text("/track")
    assert secret not in page.url
    assert await serious_violations(page) == []
    # Shown once: the cookie that carried it is gone, and a reload says so.
    cookies = await page.context.cookies()
    assert "damrong_receipt" not in {c["name"] for c in cookies}
    await page.reload()
    await expect(page.locator("#tracking-secret")).to_have_count(0)
    await expect(page.locator("main")).to_contain_text("แสดงเพียงครั้งเดียว")
    assert secret not in await page.content()

    # The citizen, not signed in, follows the case on /track with the number and secret.
    citizen = await page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        track = await citizen.new_page()

        async def shown() -> bool:
            await track.goto(console_platform.url("console") + "/track")
            await track.locator("#f-tracking_no").fill(number)
            await track.locator("#f-secret").fill(secret)
            await track.locator("form.track button[type=submit]").click()
            return await track.locator("h1").inner_text() == f"สถานะเรื่อง {number}"

        await eventually(shown, timeout=20, interval=3)
    finally:
        await citizen.close()
