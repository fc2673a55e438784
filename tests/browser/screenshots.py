"""Screenshots of every console page, in Thai and in English, for the README.

    make screenshots        # .venv/bin/python -m tests.browser.screenshots

Starts the whole platform embedded on free ports in a temporary directory, files demo
complaints (and a few in district 5001, Mueang Chiang Mai, three of them closed, two
answered by their complainants through feedback links), signs in as a
district officer, a national supervisor and an auditor by one-time links, and saves each
page as ``docs/screenshots/<page>-<th|en>.png`` in Debian's chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import uuid
from pathlib import Path

import httpx
from playwright.async_api import Browser, async_playwright

from damrong.cli.demo import run_demo_async
from damrong.embedded.platform import Platform
from shared import feedback_links
from shared.auth.principal import Principal, Role
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, login_url
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
DISTRICT = "5001"
OFFICER = Principal("somchai.k", Role.district_officer, district_code=DISTRICT)
SUPERVISOR = Principal("supervisor", Role.national_supervisor)
AUDITOR = Principal("auditor", Role.auditor)

# (file name, who, path); "{case}" is a case of DISTRICT, "{reopen}" one closed whose
# complainant rated it and said the problem was not solved, "{feedback}" the link of a
# closure not rated yet.
PAGES: tuple[tuple[str, Principal | None, str], ...] = (
    ("signin", None, "/signin"),
    ("home", OFFICER, "/"),
    ("file-complaint", OFFICER, "/complaints/new"),
    ("import-register", OFFICER, "/imports/new"),
    ("worklist-backlog", OFFICER, "/worklists/backlog"),
    ("worklist-stale", OFFICER, "/worklists/stale"),
    ("case", OFFICER, "/cases/{case}"),
    ("case-auditor", AUDITOR, "/cases/{case}"),
    ("case-reopen-request", OFFICER, "/cases/{reopen}"),
    ("dashboard", SUPERVISOR, "/dashboard"),
    ("provinces", SUPERVISOR, "/provinces"),
    ("province", SUPERVISOR, "/provinces/50"),
    ("compare", SUPERVISOR, "/compare"),
    # The complainants' pages: no sign-in.
    ("track", None, "/track"),
    ("feedback", None, "/feedback/{feedback}"),
)
SUBJECTS = (
    "ถนนในหมู่บ้านชำรุด น้ำท่วมขัง",
    "เสียงดังจากสถานบันเทิงยามวิกาล",
    "ขอความช่วยเหลือค่ารักษาพยาบาล",
    "ข้อพิพาทแนวเขตที่ดินกับเพื่อนบ้าน",
    "ไฟฟ้าส่องสว่างสาธารณะดับ",
)


async def seed(platform: Platform) -> dict[str, str]:
    """Demo complaints across the country, five in DISTRICT (two moved on, two closed and
    answered by their complainants); the cases the pages show."""
    await run_demo_async(
        platform.url("intake"), platform.url("status"), 120, token=platform.admin_token()
    )
    headers = platform.auth_headers()
    ids = []
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:
        for subject in SUBJECTS:
            body = {
                "channel": "walk_in",
                "district_code": DISTRICT,
                "category": "other",
                "subject": subject,
                "description": "ผู้ร้องแจ้งปัญหาต่อศูนย์ดำรงธรรมอำเภอ",
                "complainant": {"anonymous": True},
            }
            r = await client.post(
                f"{platform.url('intake')}/v1/complaints",
                json=body,
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            r.raise_for_status()
            ids.append(r.json()["complaint_id"])
        case_url = f"{platform.url('status')}/v1/complaints/{ids[0]}"

        async def present() -> bool:
            return (await client.get(case_url)).status_code == 200

        await eventually(present, timeout=60)
        version = 1
        for action in ("accept", "start"):
            r = await client.post(
                f"{case_url}/transitions", json={"action": action, "expected_version": version}
            )
            r.raise_for_status()
            version = r.json()["version"]
        # Two closures answered: one rated well, one rated low and disputed.
        for cid, answer in ((ids[1], {"score": 2, "not_solved": True}), (ids[2], {"score": 5})):
            url = f"{platform.url('status')}/v1/complaints/{cid}"

            async def seen(url: str = url) -> bool:
                return (await client.get(url)).status_code == 200

            await eventually(seen, timeout=60)
            r = await client.post(
                f"{url}/transitions",
                json={"action": "close", "expected_version": 1, "reason": "resolved"},
            )
            r.raise_for_status()
            token = feedback_links.issue(
                uuid.UUID(cid), 2, platform.feedback_link_secret, dt.datetime.now(dt.UTC)
            )
            r = await client.post(
                f"{platform.url('status')}/v1/feedback", json={"token": token, **answer}
            )
            r.raise_for_status()
        # A closure whose complainant has not answered yet: the page its link opens.
        url = f"{platform.url('status')}/v1/complaints/{ids[3]}"
        await eventually(lambda: seen(url), timeout=60)
        r = await client.post(
            f"{url}/transitions",
            json={"action": "close", "expected_version": 1, "reason": "resolved"},
        )
        r.raise_for_status()
        link = feedback_links.issue(
            uuid.UUID(ids[3]), 2, platform.feedback_link_secret, dt.datetime.now(dt.UTC)
        )
    return {"case": str(ids[0]), "reopen": str(ids[1]), "feedback": link}


async def shoot(
    browser: Browser, platform: Platform, cases: dict[str, str], out: Path
) -> list[Path]:
    saved = []
    for lang in ("th", "en"):
        for name, who, path in PAGES:
            context = await browser.new_context(
                locale="th-TH", timezone_id="Asia/Bangkok", viewport={"width": 1280, "height": 900}
            )
            base = platform.url("console")
            await context.add_cookies([{"name": "damrong_lang", "value": lang, "url": base}])
            page = await context.new_page()
            target = path.format(**cases)
            if who is None:
                await page.goto(base + target)
            else:
                await page.goto(login_url(platform, who, target))
            await page.wait_for_load_state("networkidle")
            file = out / f"{name}-{lang}.png"
            await page.screenshot(path=str(file), full_page=True)
            saved.append(file)
            await context.close()
    return saved


async def main(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="damrong-shots-") as tmp:
        async with Platform.for_tests(Path(tmp)) as platform:
            cases = await seed(platform)
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                saved = await shoot(browser, platform, cases, out)
                await browser.close()
    for file in saved:
        print(file.relative_to(ROOT))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    target = parser.parse_args().out
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(target))
