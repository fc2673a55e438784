"""Signing in by one-time link, the frame every page shares, and signing out."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from damrong.embedded.platform import Platform
from shared.auth.principal import Principal, Role
from tests.browser.conftest import login_url, serious_violations, sign_in

pytestmark = pytest.mark.browser

OFFICER = Principal("officer-signin", Role.district_officer, district_code="5001")


async def test_a_link_signs_in_once_and_sign_out_ends_the_session(
    page: Page, console_platform: Platform
) -> None:
    link = login_url(console_platform, OFFICER)
    await page.goto(link)
    await expect(page.locator("h1")).to_have_text("หน้าแรก")
    await expect(page.locator("header")).to_contain_text("เจ้าหน้าที่อำเภอ 5001")
    assert await serious_violations(page) == []

    await page.get_by_role("button", name="ออกจากระบบ").click()
    await expect(page.locator("h1")).to_have_text("เข้าสู่ระบบ")
    await page.goto(console_platform.url("console") + "/")
    await expect(page).to_have_url(re.compile(r"/signin\?"))

    await page.goto(link)  # the same link a second time
    await expect(page.get_by_role("alert")).to_contain_text("ลิงก์นี้ถูกใช้ไปแล้ว")


async def test_english_by_toggle_with_buddhist_era_kept(
    page: Page, console_platform: Platform
) -> None:
    await sign_in(page, console_platform, OFFICER)
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("h1")).to_have_text("Start")
    assert await page.get_attribute("html", "lang") == "en"
    await page.get_by_role("link", name="ภาษาไทย").click()
    await expect(page.locator("h1")).to_have_text("หน้าแรก")


async def test_every_page_carries_the_security_headers(
    page: Page, console_platform: Platform
) -> None:
    response = await page.goto(login_url(console_platform, OFFICER))
    assert response is not None
    headers = await response.all_headers()
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    cookies = {c["name"]: c for c in await page.context.cookies()}
    session = cookies["damrong_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
