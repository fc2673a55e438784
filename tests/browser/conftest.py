"""Browser tier: the console in Debian's chromium, driven by Playwright for Python.

Playwright's own browser download is not reachable here, so the tests launch the system's
``/usr/bin/chromium`` (``make test`` installs it when missing and it can); without it every
test here is skipped with the reason.  One platform (all services and the console) serves
the whole tier; each test gets a fresh browser context, so no cookie leaks between tests.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from damrong.embedded.platform import Platform
from services.console.links import make_link
from shared.auth.principal import Principal
from tests.e2e.platforms import platform_for_tests

CHROMIUM = Path(os.environ.get("DAMRONG_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags chromium keeps dialling out, and this network
# refuses it; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    reason = (
        f"NO BROWSER: {CHROMIUM} is missing, so the console's browser tests did not run "
        "(`make test` installs Debian's chromium when run as root; else `apt-get install "
        "chromium`, or point DAMRONG_CHROMIUM at a chromium binary)"
    )
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
async def console_platform(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Platform]:
    """Every service and the console, embedded, for the whole browser tier."""
    async with platform_for_tests(Path(tmp_path_factory.mktemp("console")), None) as p:
        yield p


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(locale="th-TH", timezone_id="Asia/Bangkok")
    ctx.set_default_timeout(15_000)
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


def login_url(platform: Platform, principal: Principal, next_path: str = "/") -> str:
    """A fresh one-time sign-in link for ``principal`` on ``platform``'s console."""
    link = make_link(
        principal,
        secret=str(platform.auth_secret),
        base_url=platform.url("console"),
        now=dt.datetime.now(dt.UTC),
    )
    return link + (f"&next={next_path}" if next_path != "/" else "")


async def sign_in(
    page: Page, platform: Platform, principal: Principal, next_path: str = "/"
) -> None:
    await page.goto(login_url(platform, principal, next_path))


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
