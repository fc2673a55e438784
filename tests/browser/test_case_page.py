"""The case page: the timeline, only the allowed actions, the answer to a case changed
by someone else meanwhile, the auditor's hash chain, personal data behind "show", and the
complainant's rating and reopen request of a closure."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from damrong.embedded.platform import Platform
from shared import feedback_links
from shared.auth.principal import Grant, Principal, Role
from tests.browser.conftest import serious_violations, sign_in
from tests.waiting import eventually

pytestmark = pytest.mark.browser

DISTRICT = "6403"  # Khiri Mat, Sukhothai: no other test of the tier files here
OFFICER = Principal("officer-case", Role.district_officer, district_code=DISTRICT)
AUDITOR = Principal("auditor-case", Role.auditor)
READER = Principal("auditor-reader", Role.auditor, grants=frozenset({Grant.pii_reader}))


async def filed(platform: Platform) -> str:
    """A complaint of a named complainant in DISTRICT, present in status."""
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.post(
            platform.url("intake") + "/v1/complaints",
            json={
                "channel": "walk_in",
                "district_code": DISTRICT,
                "category": "land",
                "subject": f"{uuid.uuid4().hex[:6]} รั้วรุกล้ำ",
                "description": "รายละเอียด",
                "complainant": {
                    "anonymous": False,
                    "name": "นางสาวมาลี ดอกไม้",
                    "phone": "0812345678",
                },
            },
            headers={**platform.auth_headers(OFFICER), "Idempotency-Key": str(uuid.uuid4())},
        )
        assert r.status_code in (200, 201), r.text
        cid: str = r.json()["complaint_id"]

        async def present() -> httpx.Response:
            return await client.get(
                f"{platform.url('status')}/v1/complaints/{cid}", headers=platform.auth_headers()
            )

        await eventually(present, lambda a: a.status_code == 200, timeout=60)
    return cid


def action_form(page: Page, action: str) -> Locator:
    return page.locator(f"form.action:has(input[name=action][value={action}])")


async def move(platform: Platform, cid: str, **body: Any) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.post(
            f"{platform.url('status')}/v1/complaints/{cid}/transitions",
            json=body,
            headers=platform.auth_headers(OFFICER),
        )
        assert r.status_code == 200, r.text


async def test_only_allowed_actions_and_a_clear_answer_when_changed_meanwhile(
    page: Page, console_platform: Platform
) -> None:
    cid = await filed(console_platform)
    await sign_in(page, console_platform, OFFICER, f"/cases/{cid}")
    # From "filed": accept, reject or close; nothing else is offered.
    actions = page.locator("form.action h3")
    await expect(actions).to_have_text(["รับไว้พิจารณา", "ไม่รับเรื่อง", "ยุติเรื่อง"])
    await expect(page.locator("tbody tr")).to_have_count(1)
    assert await serious_violations(page) == []

    await action_form(page, "accept").get_by_role("button").click()
    await expect(page.get_by_role("status")).to_have_text("บันทึกแล้ว")
    await expect(page.locator("form.action h3")).to_have_text(["เริ่มดำเนินการ", "ยุติเรื่อง"])
    await expect(page.locator("tbody tr").nth(1)).to_contain_text("officer-case")

    await move(console_platform, cid, action="start")  # someone else, meanwhile
    await (
        page.locator("form.action")
        .filter(has_text="ยุติเรื่อง")
        .get_by_label("เหตุผล", exact=True)
        .select_option("resolved")
    )
    await action_form(page, "close").get_by_role("button").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("ถูกแก้ไขโดยผู้อื่น")
    await expect(alert).to_contain_text("อยู่ระหว่างดำเนินการ")  # the new state, named
    await expect(page.locator("form.action h3")).to_have_text(["ส่งหน่วยงานอื่น", "ยุติเรื่อง"])
    assert await serious_violations(page) == []

    # Forwarding asks for the agency and the due date, and says which one is missing.
    forward = action_form(page, "forward")
    await forward.get_by_role("button").click()
    await expect(page.get_by_role("alert")).to_contain_text("กรุณาระบุหน่วยงานที่ส่งต่อ")
    forward = action_form(page, "forward")
    await forward.get_by_label("หน่วยงานที่ส่งต่อ").fill("สำนักงานที่ดินจังหวัด")
    await forward.get_by_label("กำหนดตอบกลับ").fill("2099-01-31")
    await forward.get_by_role("button").click()
    await expect(page.locator(".facts")).to_contain_text("สำนักงานที่ดินจังหวัด")


async def test_the_auditor_sees_the_chain_hold_and_personal_data_only_on_request(
    page: Page, console_platform: Platform
) -> None:
    cid = await filed(console_platform)
    await move(console_platform, cid, action="accept")
    await sign_in(page, console_platform, AUDITOR, f"/cases/{cid}")
    await expect(page.get_by_role("status")).to_contain_text("ห่วงโซ่แฮชของเรื่องนี้ถูกต้องครบถ้วน")
    await expect(page.locator("td.hash code")).to_have_count(2)
    await expect(page.locator("form.action")).to_have_count(0)  # an auditor only reads
    await expect(page.get_by_role("button", name="แสดงข้อมูลผู้ร้อง")).to_have_count(0)
    assert "มาลี" not in await page.content()
    assert await serious_violations(page) == []

    # The case as of a moment before it was accepted: one event, status "filed".
    history = page.locator("tbody tr")
    first_time = await history.first.locator("td").nth(3).inner_text()
    assert first_time
    await page.get_by_label("ดูเรื่อง ณ เวลา").fill("2000-01-01T00:00")
    await page.get_by_role("button", name="แสดง", exact=True).click()
    await expect(page.locator("tbody tr")).to_have_count(0)

    await page.context.clear_cookies()
    await sign_in(page, console_platform, READER, f"/cases/{cid}")
    assert "มาลี" not in await page.content()  # masked until asked
    await page.get_by_role("button", name="แสดงข้อมูลผู้ร้อง").click()
    await expect(page.locator(".clear")).to_contain_text("นางสาวมาลี ดอกไม้")


async def test_english_and_user_text_as_text(page: Page, console_platform: Platform) -> None:
    cid = await filed(console_platform)
    await page.context.add_cookies(
        [{"name": "damrong_lang", "value": "en", "url": console_platform.url("console")}]
    )
    await sign_in(page, console_platform, OFFICER, f"/cases/{cid}")
    await expect(page.locator("form.action h3")).to_have_text(["Accept", "Reject", "Close"])
    await expect(page.locator("h2").first).to_have_text("Actions")


async def test_another_districts_officer_gets_not_found_and_no_show_button(
    page: Page, console_platform: Platform
) -> None:
    cid = await filed(console_platform)
    await sign_in(page, console_platform, OFFICER, f"/cases/{cid}")
    await expect(action_form(page, "accept")).to_have_count(1)
    # An officer without the pii_reader grant is never offered the clear values.
    await expect(page.get_by_role("button", name="แสดงข้อมูลผู้ร้อง")).to_have_count(0)

    await page.context.clear_cookies()
    stranger = Principal("officer-case-other", Role.district_officer, district_code="6404")
    await sign_in(page, console_platform, stranger, "/")
    answer = await page.goto(console_platform.url("console") + f"/cases/{cid}")
    assert answer is not None and answer.status == 404
    assert "มาลี" not in await page.content()
    assert await serious_violations(page) == []


async def feedback(platform: Platform, cid: str, closed_version: int, **answer: Any) -> None:
    """The complainant answers the closure through status' public feedback route, with
    the token a closure's link carries."""
    token = feedback_links.issue(
        uuid.UUID(cid), closed_version, platform.feedback_link_secret, dt.datetime.now(dt.UTC)
    )
    async with httpx.AsyncClient() as client:
        r = await client.post(
            f"{platform.url('status')}/v1/feedback", json={"token": token, **answer}
        )
        assert r.status_code == 201, r.text


async def test_the_complainants_rating_and_reopen_request_are_shown_and_flagged(
    page: Page, console_platform: Platform
) -> None:
    cid = await filed(console_platform)
    await move(console_platform, cid, action="close", reason="resolved", expected_version=1)
    await feedback(console_platform, cid, 2, score=4)
    await sign_in(page, console_platform, OFFICER, f"/cases/{cid}")
    rated = page.locator("tbody tr").nth(2)
    await expect(rated).to_contain_text("ผู้ร้องประเมินความพึงพอใจ")
    await expect(rated.locator(".score")).to_have_text("ความพึงพอใจ: 4 จาก 5")
    await expect(rated).to_contain_text("ผู้ร้อง")  # the actor, named in Thai
    await expect(page.locator("#reopen-request")).to_have_count(0)  # rated only: no flag
    assert await serious_violations(page) == []

    await feedback(console_platform, cid, 2, not_solved=True)
    await page.reload()
    asked = page.locator("tbody tr").nth(3)
    await expect(asked).to_contain_text("ผู้ร้องแจ้งว่าปัญหายังไม่ได้รับการแก้ไข")
    flag = page.locator("#reopen-request")
    await expect(flag).to_contain_text("ผู้ร้องขอให้เปิดเรื่องใหม่")
    await expect(flag).to_contain_text("ตอบการยุติเรื่องฉบับที่ 2")
    await expect(flag).to_contain_text("ระบบไม่เปิดเรื่องใหม่ให้เอง")
    await expect(page.locator("form.action h3")).to_have_text(["เปิดเรื่องใหม่"])
    assert await serious_violations(page) == []

    # Reopened by the officer: the request is answered, the flag goes.
    await action_form(page, "reopen").get_by_role("button").click()
    await expect(page.get_by_role("status")).to_have_text("บันทึกแล้ว")
    await expect(page.locator("#reopen-request")).to_have_count(0)
