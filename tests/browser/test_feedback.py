"""The public feedback page: the complainant of a closed case, not signed in, follows the
link they were sent, rates the closure and says the problem was not solved; Thai first,
labelled radio buttons and checkbox, the thank-you page, the used, outdated and broken
link pages, the CSRF check, and accessibility (axe) on each."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from damrong.embedded.platform import Platform
from shared import feedback_links
from shared.auth.principal import Principal, Role
from tests.browser.conftest import serious_violations, sign_in
from tests.waiting import eventually

pytestmark = pytest.mark.browser

DISTRICT = "9604"  # Rueso, Narathiwat: no other test of the tier files here


async def _closed_case(platform: Platform) -> tuple[str, str]:
    """A complaint filed, accepted and closed (version 3); its (complaint id, number)."""
    body = {
        "channel": "walk_in",
        "district_code": DISTRICT,
        "category": "public_utilities",
        "subject": "ไฟถนนดับ",
        "description": "ไฟถนนหน้าหมู่บ้านดับมาหนึ่งเดือน",
        "channel_ref": uuid.uuid4().hex,
        "complainant": {"anonymous": False, "name": "นายสมชาย ใจดี", "phone": "0812345678"},
    }
    headers = platform.auth_headers()
    async with httpx.AsyncClient(base_url=platform.url("intake")) as intake:
        r = await intake.post("/v1/complaints", json=body, headers=headers)
        assert r.status_code == 201, r.text
        cid, number = r.json()["complaint_id"], r.json()["tracking_no"]
    async with httpx.AsyncClient(base_url=platform.url("status")) as status:

        async def opened() -> int:
            return (await status.get(f"/v1/complaints/{cid}", headers=headers)).status_code

        await eventually(opened, lambda code: code == 200)
        for move in ({"action": "accept"}, {"action": "close", "reason": "resolved"}):
            r = await status.post(f"/v1/complaints/{cid}/transitions", json=move, headers=headers)
            assert r.status_code == 200, r.text
    return cid, number


def _link(platform: Platform, cid: str, closed_version: int = 3, **kw: Any) -> str:
    token = feedback_links.issue(
        uuid.UUID(cid),
        closed_version,
        platform.feedback_link_secret,
        kw.pop("now", dt.datetime.now(dt.UTC)),
        **kw,
    )
    return f"{platform.url('console')}/feedback/{token}"


async def _history(platform: Platform, cid: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=platform.url("status")) as status:
        r = await status.get(f"/v1/complaints/{cid}/history", headers=platform.auth_headers())
        events: list[dict[str, Any]] = r.json()["events"]
        return events


async def test_a_complainant_rates_and_disputes_a_closure(
    page: Page, console_platform: Platform
) -> None:
    p = console_platform
    cid, number = await _closed_case(p)
    url = _link(p, cid)

    await page.goto(url)
    await expect(page.locator("h1")).to_have_text("ประเมินความพึงพอใจต่อการแก้ไขเรื่องร้องเรียน")
    main = await page.locator("main").inner_text()
    assert number in main and "แก้ไขแล้วเสร็จ" in main  # the closure reason, in Thai
    for private in ("สมชาย", "0812345678", "ไฟถนน"):
        assert private not in main
    assert await serious_violations(page) == []

    # Nothing ticked: the error is named and linked to the score.
    await page.get_by_role("button", name="ส่งความเห็น").click()
    await expect(page.locator(".error-summary")).to_contain_text("กรุณาเลือกคะแนน")
    assert await serious_violations(page) == []

    await page.get_by_label("2 – พอใจน้อย").check()
    await page.get_by_label("ปัญหายังไม่ได้รับการแก้ไขจริง").check()
    await page.get_by_role("button", name="ส่งความเห็น").click()
    await expect(page.locator("h1")).to_have_text("ขอบคุณสำหรับความเห็นของท่าน")
    await expect(page.locator(".notice.good")).to_contain_text(number)
    await expect(page.locator(".notice.good")).to_contain_text("พิจารณาเรื่องของท่านอีกครั้ง")
    assert await serious_violations(page) == []

    events = await _history(p, cid)
    assert [(e["version"], e["actor"]) for e in events[3:]] == [
        (4, "complainant"),
        (5, "complainant"),
    ]
    assert events[3]["data"]["score"] == 2

    # The link again: already answered, said plainly, in Thai and in English.
    await page.goto(url)
    await expect(page.locator("h1")).to_have_text("ได้รับความเห็นของท่านแล้ว")
    assert await serious_violations(page) == []
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("h1")).to_have_text("We already have your feedback")

    # The district's officer finds it among the reopen requests (the case is still closed).
    officer = Principal("officer-feedback", Role.district_officer, district_code=DISTRICT)
    await sign_in(page, p, officer, "/worklists/reopen_requests")
    await expect(page.locator("table")).to_contain_text(number)
    await expect(page.locator("nav.tabs [aria-current=page]")).to_have_text("Reopen requests")
    assert await page.locator("#bulk-close button.danger").count() == 0
    assert await serious_violations(page) == []


async def test_links_that_cannot_be_used(page: Page, console_platform: Platform) -> None:
    p = console_platform
    cid, _number = await _closed_case(p)

    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=90)
    await page.goto(_link(p, cid, now=old))
    await expect(page.locator("h1")).to_have_text("ลิงก์หมดอายุแล้ว")
    assert await serious_violations(page) == []

    await page.goto(p.url("console") + "/feedback/not-a-link")
    await expect(page.locator("h1")).to_have_text("ลิงก์ไม่ถูกต้อง")
    await page.goto(p.url("console") + "/feedback/aaa.bbb.ccc")
    await expect(page.locator("h1")).to_have_text("ลิงก์ไม่ถูกต้อง")

    # Rated only: the form offers just the other part; then the officer reopens the case.
    url = _link(p, cid)
    await page.goto(url)
    await page.get_by_label("5 – พอใจมากที่สุด").check()
    await page.get_by_role("button", name="ส่งความเห็น").click()
    await expect(page.locator("h1")).to_have_text("ขอบคุณสำหรับความเห็นของท่าน")
    await page.goto(url)
    await expect(page.locator("main")).to_contain_text("ได้รับคะแนนความพึงพอใจของท่านแล้ว")
    assert await page.locator("input[type=radio]").count() == 0
    await expect(page.get_by_label("ปัญหายังไม่ได้รับการแก้ไขจริง")).to_be_visible()

    async with httpx.AsyncClient(base_url=p.url("status")) as status:
        r = await status.post(
            f"/v1/complaints/{cid}/transitions",
            json={"action": "reopen"},
            headers=p.auth_headers(),
        )
        assert r.status_code == 200
    await page.get_by_label("ปัญหายังไม่ได้รับการแก้ไขจริง").check()
    await page.get_by_role("button", name="ส่งความเห็น").click()
    await expect(page.locator("h1")).to_have_text("ลิงก์นี้ใช้ไม่ได้แล้ว")
    assert await serious_violations(page) == []
    assert len(await _history(p, cid)) == 5  # filed, accepted, closed, rated, reopened


async def test_the_form_needs_its_csrf_token(console_platform: Platform) -> None:
    p = console_platform
    cid, _number = await _closed_case(p)
    url = _link(p, cid)
    async with httpx.AsyncClient() as client:
        page = await client.get(url)
        assert page.status_code == 200
        r = await client.post(url, data={"score": "4", "csrf_token": "forged"})
        assert r.status_code == 403
        token = page.cookies["damrong_feedback_csrf"]
        hostile = [
            {"score": "9"},
            {"score": "๔" * 5000},
            {"score": "-1", "not_solved": "maybe"},
        ]
        for body in hostile:
            r = await client.post(url, data={**body, "csrf_token": token})
            assert r.status_code == 422 and "กรุณาเลือกคะแนน" in r.text
        r = await client.post(url, data={"score": "๔", "csrf_token": token})
        assert r.status_code == 200 and "ขอบคุณ" in r.text
    assert (await _history(p, cid))[-1]["data"]["score"] == 4
