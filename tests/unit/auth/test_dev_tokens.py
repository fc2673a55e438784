"""The embedded default's secret file and `damrong token`: one secret per data dir, owner-only,
and development tokens that the services' verifier accepts."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from damrong.cli.main import app
from damrong.embedded.auth_secret import configured_secret, load_or_create_secret, secret_path
from shared.auth.principal import Grant, Role
from shared.auth.tokens import TokenVerifier


def test_the_secret_is_made_once_and_readable_by_its_owner_only(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path / "data")
    assert load_or_create_secret(tmp_path / "data") == first and len(first) >= 64
    assert stat.S_IMODE(secret_path(tmp_path / "data").stat().st_mode) == 0o600
    assert load_or_create_secret(tmp_path / "other") != first


def test_an_explicit_secret_or_public_key_wins(tmp_path: Path) -> None:
    assert configured_secret({"AUTH_JWT_SECRET": "s" * 40}, tmp_path, create=True) == "s" * 40
    assert configured_secret({"AUTH_PUBLIC_KEY": "pem"}, tmp_path, create=True) is None
    assert not secret_path(tmp_path).exists()


def test_damrong_token_issues_what_the_services_accept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "AUTH_JWT_SECRET",
        "AUTH_PUBLIC_KEY",
        "AUTH_PUBLIC_KEY_FILE",
        "AUTH_ISSUER",
        "AUTH_AUDIENCE",
    ):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    missing = runner.invoke(app, ["token", "--data-dir", str(tmp_path)])
    assert missing.exit_code == 2 and "damrong up" in missing.output
    secret = load_or_create_secret(tmp_path)
    result = runner.invoke(
        app,
        [
            "token",
            "--data-dir",
            str(tmp_path),
            "--role",
            "district_officer",
            "--district",
            "5001",
            "--grant",
            "pii_reader",
            "--ttl",
            "30m",
            "--subject",
            "o-1",
        ],
    )
    assert result.exit_code == 0, result.output
    principal = TokenVerifier(issuer="damrong", audience="damrong", secret=secret).verify(
        result.output.strip()
    )
    assert (principal.subject, principal.role, principal.district_code, principal.grants) == (
        "o-1",
        Role.district_officer,
        "5001",
        frozenset({Grant.pii_reader}),
    )
    bad = runner.invoke(app, ["token", "--data-dir", str(tmp_path), "--role", "channel"])
    assert bad.exit_code == 2 and "channel" in bad.output
