"""The public tracking page: a citizen, not signed in, follows a complaint with its number
and phone digits (or an anonymous complaint's secret); Thai first, the 404 and 429
messages in Thai and English, no personal data on the page, and accessibility."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from damrong.embedded.platform import Platform
from tests.browser.conftest import serious_violations
from tests.waiting import eventually

pytestmark = pytest.mark.browser

DISTRICT = "9603"  # Bacho, Narathiwat: a district no other test of the tier files in


async def _file(platform: Platform, complainant: dict[str, Any]) -> dict[str, Any]:
    body = {
        "channel": "walk_in",
        "district_code": DISTRICT,
        "category": "land",
        "subject": "ถนนชำรุด",
        "description": "ถนนหน้าบ้านเป็นหลุม",
        "channel_ref": uuid.uuid4().hex,
        "complainant": complainant,
    }
    async with httpx.AsyncClient(base_url=platform.url("intake")) as client:
        r = await client.post("/v1/complaints", json=body, headers=platform.auth_headers())
        assert r.status_code == 201, r.text
        return dict(r.json())


async def _move(platform: Platform, cid: str, **body: Any) -> None:
    async with httpx.AsyncClient(base_url=platform.url("status")) as client:

        async def opened() -> int:
            r = await client.get(f"/v1/complaints/{cid}", headers=platform.auth_headers())
            return r.status_code

        await eventually(opened, lambda code: code == 200)
        r = await client.post(
            f"/v1/complaints/{cid}/transitions", json=body, headers=platform.auth_headers()
        )
        assert r.status_code == 200, r.text


async def _submit(page: Page, platform: Platform, number: str, **proof: str) -> None:
    await page.goto(platform.url("console") + "/track")
    await page.locator("#f-tracking_no").fill(number)
    await page.locator("#f-phone_last4").fill(proof.get("phone", ""))
    await page.locator("#f-secret").fill(proof.get("secret", ""))
    await page.locator("form.track button[type=submit]").click()


async def test_a_citizen_follows_a_closed_complaint_in_thai(
    page: Page, console_platform: Platform
) -> None:
    p = console_platform
    filed = await _file(p, {"anonymous": False, "name": "นางสมศรี มีสุข", "phone": "081-234-5678"})
    number, cid = filed["tracking_no"], filed["complaint_id"]
    await _move(p, cid, action="accept", note="ติดต่อคุณสมศรีแล้ว")
    await _move(p, cid, action="close", reason="resolved")

    await page.goto(p.url("console") + "/track")
    await expect(page.locator("h1")).to_have_text("ติดตามเรื่องร้องเรียน")
    assert await serious_violations(page) == []

    # Every attempt counts against intake's limit per number (10 an hour): ask slowly.
    async def closed_shown() -> bool:
        await _submit(page, p, number, phone="5678")
        tag = page.locator("dl.panel .tag")
        return await tag.count() == 1 and await tag.inner_text() == "ยุติเรื่องแล้ว"

    await eventually(closed_shown, timeout=20, interval=3)
    await expect(page.locator("h1")).to_have_text(f"สถานะเรื่อง {number}")
    text = await page.locator("main").inner_text()
    assert "แก้ไขปัญหาแล้ว" in text  # the closure reason, in Thai
    for step in ("รับเรื่องร้องเรียน", "รับไว้พิจารณา", "ยุติเรื่อง"):
        assert step in text
    assert "25" in text and " น." in text  # Buddhist-Era date and time
    for private in ("สมศรี", "5678", "ติดต่อ", "test-admin"):
        assert private not in text
    assert await serious_violations(page) == []

    # A wrong phone: the not-found message in Thai, then in English.
    await _submit(page, p, number, phone="0000")
    await expect(page.locator(".notice.bad")).to_contain_text("ไม่พบเรื่องร้องเรียน")
    assert await serious_violations(page) == []
    await page.get_by_role("link", name="English").click()
    await _submit(page, p, number, phone="0001")
    await expect(page.locator(".notice.bad")).to_contain_text("No complaint matches")
    # The form's own checks, beside their field.
    await _submit(page, p, "12-34", phone="12a")
    await expect(page.locator(".error-summary")).to_contain_text("complaint number looks like")
    await expect(page.locator("#f-phone_last4-error")).to_contain_text("four digits")
    assert await serious_violations(page) == []


async def test_anonymous_secret_and_too_many_attempts(
    page: Page, console_platform: Platform
) -> None:
    p = console_platform
    filed = await _file(p, {"anonymous": True})
    number, secret = filed["tracking_no"], filed["tracking_secret"]

    async def shown() -> bool:
        await _submit(page, p, number, secret=secret.lower())
        return await page.locator("h1").inner_text() == f"สถานะเรื่อง {number}"

    await eventually(shown, timeout=20, interval=3)
    await expect(page.locator("dl.panel .tag")).to_have_text("รับเรื่องแล้ว")

    # Guessing the number's proof is refused after intake's limit per number (10 an hour).
    for n in range(12):
        await _submit(page, p, number, phone=f"{n:04d}")
        notice = page.locator(".notice.bad")
        if await notice.count() and "หลายครั้งเกินไป" in await notice.inner_text():
            break
    else:
        raise AssertionError("no 429 after 12 attempts")
    assert n <= 10
    await expect(page.locator(".notice.bad")).to_contain_text("กรุณาลองใหม่ในอีก")
    assert await serious_violations(page) == []
    await page.get_by_role("link", name="English").click()
    await _submit(page, p, number, secret=secret)
    await expect(page.locator(".notice.bad")).to_contain_text("Too many attempts")
