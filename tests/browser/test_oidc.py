"""Signing in with the ministry's identity provider (OpenID Connect), against a real one.

``oidc-provider-mock`` runs as its own process; the platform's services trust its tokens
(its JWKS key as AUTH_PUBLIC_KEY, its issuer, the console's client id as audience) and the
console is configured for it.  The mock issues opaque access tokens, so the console sends
the ID token (OIDC_SERVICE_TOKEN=id_token).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import KeySet, RSAKey
from playwright.async_api import Page, Route, expect

from damrong.embedded._proc import free_port
from damrong.embedded.platform import Platform
from shared.auth.principal import Principal, Role
from shared.auth.tokens import issue_token
from tests.browser.conftest import serious_violations
from tests.e2e.platforms import platform_for_tests
from tests.waiting import eventually

pytestmark = pytest.mark.browser

CLIENT_ID = "damrong-console"
WITH_PROVIDER = "เข้าสู่ระบบด้วยบัญชีของกระทรวง"


@contextlib.contextmanager
def running_provider(log_dir: Path, token_max_age_s: int = 3600) -> Iterator[str]:
    """An identity provider process; its URL (its issuer)."""
    port = free_port()
    log = (log_dir / "provider.log").open("wb")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "oidc_provider_mock", "--port", str(port)),
            *("--require-nonce", "--token-max-age", str(token_max_age_s)),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_provider(tmp_path_factory.mktemp("oidc")) as url:
        yield url


def platform_env(provider: str, pem: str) -> dict[str, str]:
    """Services that trust ``provider``'s tokens, a console that signs in with it."""
    return {
        "AUTH_PUBLIC_KEY": pem,
        "AUTH_ISSUER": provider,
        "AUTH_AUDIENCE": CLIENT_ID,
        "OIDC_ISSUER": provider,
        "OIDC_CLIENT_ID": CLIENT_ID,
        # A confidential client (the mock's token endpoint takes no public client), with PKCE.
        "OIDC_CLIENT_SECRET": uuid.uuid4().hex,
        "OIDC_SERVICE_TOKEN": "id_token",
    }


async def _discovery(url: str) -> dict[str, object] | None:
    try:
        async with httpx.AsyncClient() as http:
            answer = await http.get(url + "/.well-known/openid-configuration")
        return dict(answer.json()) if answer.status_code == 200 else None
    except httpx.HTTPError:
        return None


async def _public_key_pem(url: str) -> str:
    meta = await eventually(lambda: _discovery(url), timeout=30)
    assert meta is not None
    async with httpx.AsyncClient() as http:
        keys = KeySet.import_key_set((await http.get(str(meta["jwks_uri"]))).json())
    key = keys.keys[0]
    assert isinstance(key, RSAKey)
    public = key.public_key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.fixture(scope="module")
async def oidc_platform(
    provider: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """Every service trusting the provider's tokens, and the console signing in with it."""
    env = platform_env(provider, await _public_key_pem(provider))
    data_dir = Path(tmp_path_factory.mktemp("console-oidc"))
    async with platform_for_tests(data_dir, None, env=env) as p:
        yield p


async def _user(provider: str, claims: dict[str, object]) -> str:
    """A fresh user at the provider with ``claims``; its subject."""
    sub = f"user-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient() as http:
        answer = await http.put(f"{provider}/users/{sub}", json=claims)
    assert answer.status_code == 204
    return sub


async def _to_provider(page: Page, platform: Platform, next_path: str = "/") -> dict[str, str]:
    """From the console's sign-in page to the provider's; the authorization request."""
    await page.goto(platform.url("console") + f"/signin?next={next_path}")
    assert await serious_violations(page) == []
    await page.get_by_role("link", name=WITH_PROVIDER).click()
    await expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


async def _authorize(page: Page, sub: str) -> None:
    await page.get_by_placeholder("sub").fill(sub)
    await page.get_by_role("button", name="Authorize").click()


async def test_ministry_account_signs_in_with_pkce_and_its_claims(
    page: Page, oidc_platform: Platform, provider: str
) -> None:
    sub = await _user(provider, {"role": "district_officer", "district_code": "5001"})
    asked = await _to_provider(page, oidc_platform, "/dashboard")
    assert asked["code_challenge_method"] == "S256"
    assert len(asked["code_challenge"]) == 43  # base64url of a SHA-256 digest
    assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
    assert asked["state"] and asked["nonce"]
    assert asked["redirect_uri"] == oidc_platform.url("console") + "/auth/oidc/callback"

    await _authorize(page, sub)
    # Back where the user was going: the dashboard, made from kpi's answer to the token.
    await expect(page).to_have_url(re.compile(r"/dashboard"))
    await expect(page.locator("h1")).to_have_text("ตัวชี้วัดผลการดำเนินงาน")
    await expect(page.locator("header")).to_contain_text("เจ้าหน้าที่อำเภอ 5001")
    assert await serious_violations(page) == []


async def test_claims_without_a_role_are_refused_with_a_clear_page(
    page: Page, oidc_platform: Platform, provider: str
) -> None:
    sub = await _user(provider, {"email": "someone@example.org"})
    await _to_provider(page, oidc_platform)
    async with page.expect_response(re.compile(r"/auth/oidc/callback")) as answer:
        await _authorize(page, sub)
    assert (await answer.value).status == 403
    await expect(page.locator("h1")).to_have_text("เข้าสู่ระบบด้วยบัญชีกระทรวงไม่สำเร็จ")
    await expect(page.locator("main")).to_contain_text("ยังไม่ได้กำหนดบทบาท")
    assert await serious_violations(page) == []
    await page.goto(oidc_platform.url("console") + "/")
    await expect(page).to_have_url(re.compile(r"/signin\?"))


async def test_a_tampered_state_is_refused(
    page: Page, oidc_platform: Platform, provider: str
) -> None:
    sub = await _user(provider, {"role": "admin"})
    asked = await _to_provider(page, oidc_platform)

    # The provider's answer, its redirect back rewritten to a state the console did not send.
    async def forge(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        answer = await route.fetch(max_redirects=0)
        back = answer.headers["location"]
        assert f"state={asked['state']}" in back
        forged = back.replace(f"state={asked['state']}", "state=forged")
        await route.fulfill(response=answer, headers={**answer.headers, "location": forged})

    await page.route(re.compile(r"/oauth2/authorize"), forge)
    async with page.expect_response(re.compile(r"/auth/oidc/callback\?.*state=forged")) as answer:
        await _authorize(page, sub)
    assert (await answer.value).status == 400
    await expect(page.locator("main")).to_contain_text("ไม่ตรงกับที่ระบบส่งไป")
    assert await serious_violations(page) == []
    await page.goto(oidc_platform.url("console") + "/")
    await expect(page).to_have_url(re.compile(r"/signin\?"))


async def test_sign_out_ends_the_session_at_the_provider_too(
    page: Page, oidc_platform: Platform, provider: str
) -> None:
    sub = await _user(provider, {"role": "provincial_officer", "province_code": "10"})
    await _to_provider(page, oidc_platform)
    await _authorize(page, sub)
    await expect(page.locator("header")).to_contain_text("10")

    await page.get_by_role("button", name="ออกจากระบบ").click()
    await expect(page.get_by_role("heading", name="End Session")).to_be_visible()
    ended = parse_qs(urlsplit(page.url).query)
    assert ended["id_token_hint"][0].count(".") == 2  # the ID token, a JWT
    assert ended["post_logout_redirect_uri"] == [oidc_platform.url("console") + "/signin"]
    await page.get_by_role("button", name="End session").click()
    await expect(page.locator("h1")).to_have_text("เข้าสู่ระบบ")
    await page.goto(oidc_platform.url("console") + "/")
    await expect(page).to_have_url(re.compile(r"/signin\?"))


async def test_the_user_declining_at_the_provider_is_said_plainly(
    page: Page, oidc_platform: Platform, provider: str
) -> None:
    await _to_provider(page, oidc_platform)
    await page.get_by_role("button", name="Deny").click()
    await expect(page.locator("main")).to_contain_text("ถูกยกเลิกที่ผู้ให้บริการ")
    assert await serious_violations(page) == []


async def test_a_role_the_services_would_not_read_is_refused_at_sign_in(
    page: Page, oidc_platform: Platform, provider: str
) -> None:
    """The console's mapping reads a role from a list, the services read one text: the
    token would not grant what the session shows, so there is no session."""
    sub = await _user(provider, {"role": ["district_officer"], "district_code": "5001"})
    await _to_provider(page, oidc_platform)
    async with page.expect_response(re.compile(r"/auth/oidc/callback")) as answer:
        await _authorize(page, sub)
    assert (await answer.value).status == 403
    await expect(page.locator("main")).to_contain_text("ไม่ตรงกับบทบาทของบัญชี")
    await page.goto(oidc_platform.url("console") + "/")
    await expect(page).to_have_url(re.compile(r"/signin\?"))


async def test_the_services_take_the_providers_token_and_no_other(
    oidc_platform: Platform, provider: str
) -> None:
    """What the console sends for an OIDC user: the provider's ID token, verified by the
    services with the provider's key; a token signed with anything else is refused."""
    sub = await _user(provider, {"role": "district_officer", "district_code": "5001"})
    callback = oidc_platform.url("console") + "/auth/oidc/callback"
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{provider}/oauth2/authorize",
            params={
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": callback,
                "scope": "openid",
                "state": "s",
                "nonce": uuid.uuid4().hex,
            },
            data={"sub": sub},
        )
        assert answer.status_code == 302
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        tokens = await http.post(
            f"{provider}/oauth2/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": callback},
            auth=(CLIENT_ID, "any"),
        )
        id_token = tokens.json()["id_token"]
        kpi = oidc_platform.url("kpi") + "/v1/kpi/backlog"
        ok = await http.get(kpi, headers={"Authorization": f"Bearer {id_token}"})
        assert ok.status_code == 200, ok.text
        forged = issue_token(
            Principal(sub, Role.district_officer, district_code="5001"),
            secret="x" * 64,
            issuer=provider,
            audience=CLIENT_ID,
            ttl=dt.timedelta(minutes=5),
            now=dt.datetime.now(dt.UTC),
        )
        refused = await http.get(kpi, headers={"Authorization": f"Bearer {forged}"})
        assert refused.status_code == 401


async def test_the_session_ends_when_the_providers_token_does(
    page: Page, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A provider whose tokens live 8 seconds: the console's session lives no longer."""
    root = tmp_path_factory.mktemp("oidc-short")
    with running_provider(root, token_max_age_s=8) as short:
        env = platform_env(short, await _public_key_pem(short))
        async with platform_for_tests(root / "platform", None, services=["console"], env=env) as p:
            sub = await _user(short, {"role": "admin"})
            await _to_provider(page, p)
            await _authorize(page, sub)
            await expect(page.locator("h1")).to_have_text("หน้าแรก")

            async def where_home_leads() -> str:
                await page.goto(p.url("console") + "/")
                return page.url

            gone = await eventually(where_home_leads, lambda url: "/signin?" in url, interval=1)
            assert "expired=true" in gone
