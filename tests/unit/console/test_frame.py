"""The console's frame without a browser: catalogue, dates, links, sessions, CSRF."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.console.config import ConsoleSettings
from services.console.domain import dates
from services.console.domain.i18n import Translator
from services.console.domain.links import LinkRefused
from services.console.domain.session import new_session
from services.console.links import UsedLinks, make_link, read_link
from services.console.main import create_app
from services.console.sessions import SessionCodec
from services.console.templating import TEMPLATES, load_catalogue
from shared.auth.principal import Principal, Role

SECRET = "s" * 48
NOW = dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC)
OFFICER = Principal("o1", Role.district_officer, district_code="5001")


def test_every_message_has_thai_and_english() -> None:
    catalogue = load_catalogue()
    missing = [k for k, texts in catalogue.items() if not texts.get("th") or not texts.get("en")]
    assert missing == []


def test_every_key_the_templates_use_is_in_the_catalogue() -> None:
    catalogue = load_catalogue()
    used: set[str] = set()
    for path in Path(TEMPLATES).rglob("*.html"):
        used |= set(
            re.findall(r"""\bt\(\s*["']([a-z0-9_.]+)["']\s*[,)]""", path.read_text("utf-8"))
        )
    assert used, "no t('...') calls found: the pattern no longer matches the templates"
    assert sorted(used - catalogue.keys()) == []


def test_a_missing_key_shows_itself_and_english_falls_back_to_thai() -> None:
    t = Translator({"a": {"th": "ก"}}, "en")
    assert t("a") == "ก"
    assert t("nope") == "[nope]"


def test_dates_are_buddhist_era_in_bangkok() -> None:
    late = dt.datetime(2026, 12, 31, 18, 30, tzinfo=dt.UTC)  # 1 Jan 2027 01:30 in Bangkok
    assert dates.be_date(late) == "1 ม.ค. 2570"
    assert dates.be_date(late, "en") == "1 Jan 2570 BE"
    assert dates.be_datetime(late) == "1 ม.ค. 2570 01:30 น."
    assert dates.parse_date("4/12/2569") == dt.date(2026, 12, 4)
    assert dates.parse_date("2026-12-04") == dt.date(2026, 12, 4)
    assert dates.parse_date("") is None
    with pytest.raises(ValueError):
        dates.parse_date("31/02/2569")


def test_a_link_works_once_and_not_after_it_expires(tmp_path: Path) -> None:
    link = make_link(OFFICER, secret=SECRET, base_url="http://c", now=NOW)
    token = link.split("t=", 1)[1]
    grant = read_link(token, secret=SECRET, now=NOW)
    assert grant.principal == OFFICER
    used = UsedLinks(tmp_path / "used")
    used.consume(grant, NOW)
    with pytest.raises(LinkRefused, match=r"link\.used"):
        UsedLinks(tmp_path / "used").consume(grant, NOW)  # also after a restart
    with pytest.raises(LinkRefused, match=r"link\.expired"):
        read_link(token, secret=SECRET, now=NOW + dt.timedelta(minutes=16))
    with pytest.raises(LinkRefused, match=r"link\.invalid"):
        read_link(token, secret="t" * 48, now=NOW)


def test_the_session_cookie_is_encrypted_and_refuses_tampering() -> None:
    codec = SessionCodec(Fernet.generate_key().decode(), secure=False, max_age_s=60)
    session = new_session(OFFICER, "bearer-token-value", now=NOW)
    cookie = codec.encode(session)
    assert "bearer-token-value" not in cookie and "5001" not in cookie
    assert codec.decode(cookie) == session
    assert codec.decode(cookie[:-4] + "AAAA") is None
    other = SessionCodec(Fernet.generate_key().decode(), secure=False, max_age_s=60)
    assert other.decode(cookie) is None


def routes(found: list[Any]) -> list[APIRoute]:
    """Every route, also those of included routers (kept apart since FastAPI 0.16x)."""
    out: list[APIRoute] = []
    for route in found:
        included = getattr(route, "original_router", None)
        if included is not None:
            out += routes(included.routes)
        elif isinstance(route, APIRoute):
            out.append(route)
    return out


def _app() -> TestClient:
    settings = ConsoleSettings(
        console_session_key=SecretStr(Fernet.generate_key().decode()),
        auth_jwt_secret=SecretStr(SECRET),
    )
    return TestClient(create_app(settings), base_url="http://testserver")


def test_every_form_route_refuses_a_request_without_the_csrf_token() -> None:
    client = _app()
    with client:
        link = make_link(
            OFFICER, secret=SECRET, base_url="http://testserver", now=dt.datetime.now(dt.UTC)
        )
        assert client.get(link, follow_redirects=False).status_code == 303
        posts = [
            r.path
            for r in routes(client.app.routes)  # type: ignore[attr-defined]
            if (r.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}
        ]
        assert "/signout" in posts
        for path in posts:
            concrete = re.sub(r"\{[^}]+\}", "x", path)
            answer = client.post(concrete, data={"anything": "1"}, follow_redirects=False)
            assert answer.status_code == 403, path
        assert client.get("/").status_code == 200  # still signed in: nothing was done


def test_a_page_without_a_session_sends_to_sign_in_keeping_the_page() -> None:
    with _app() as client:
        answer = client.get("/worklists/backlog?page=2", follow_redirects=False)
        assert answer.status_code in (303, 404)
        answer = client.get("/", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/signin?expired=true&next=/"
        assert (
            client.get("/lang?to=en&next=//evil.example", follow_redirects=False).headers[
                "location"
            ]
            == "/"
        )


def test_login_link_command_prints_a_link_for_the_role(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from damrong.cli.main import app
    from damrong.embedded.auth_secret import load_or_create_secret

    secret = load_or_create_secret(tmp_path)
    runner = CliRunner()
    args = ["login-link", "--role", "district_officer", "--district", "5001"]
    result = runner.invoke(app, [*args, "--data-dir", str(tmp_path)], env={"CONSOLE_PORT": "8124"})
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("http://127.0.0.1:8124/auth/link?t=")
    grant = read_link(link.split("t=", 1)[1], secret=secret, now=dt.datetime.now(dt.UTC))
    assert grant.principal == Principal("dev-district_officer", Role.district_officer, "5001")

    refused = runner.invoke(
        app, ["login-link", "--role", "district_officer", "--data-dir", str(tmp_path)]
    )
    assert refused.exit_code == 2
    assert "district_code" in refused.output


def test_a_role_is_refused_the_pages_of_areas_it_may_not_use() -> None:
    with _app() as client:
        auditor = Principal("a1", Role.auditor)
        link = make_link(
            auditor, secret=SECRET, base_url="http://testserver", now=dt.datetime.now(dt.UTC)
        )
        client.get(link, follow_redirects=False)
        assert client.get("/complaints/new", follow_redirects=False).status_code == 403
        assert client.get("/imports/new", follow_redirects=False).status_code == 403
        assert client.get("/").status_code == 200
