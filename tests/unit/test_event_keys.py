"""The embedded platform's event signing keys: one per publisher, kept in the data dir."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from damrong.embedded.event_keys import (
    PUBLISHERS,
    key_path,
    reader_settings,
    service_event_env,
)
from shared.signing import public_key_of


def test_each_publisher_gets_its_own_key_and_everyone_the_public_ones(tmp_path: Path) -> None:
    envs = {s: service_event_env(s, {}, tmp_path) for s in ("intake", "status", "kpi")}
    public = json.loads(envs["kpi"]["EVENT_PUBLIC_KEYS"])
    assert set(public) == set(PUBLISHERS.values())
    assert "EVENT_SIGNING_KEY" not in envs["kpi"]
    for service in PUBLISHERS:
        key = envs[service]["EVENT_SIGNING_KEY"]
        assert public[PUBLISHERS[service]] == public_key_of(key)
        assert envs[service]["EVENT_PUBLIC_KEYS"] == envs["kpi"]["EVENT_PUBLIC_KEYS"]
        assert stat.S_IMODE(key_path(tmp_path, service).stat().st_mode) == 0o600
    assert envs["intake"]["EVENT_SIGNING_KEY"] != envs["status"]["EVENT_SIGNING_KEY"]
    # Kept: the next start signs with the same keys.
    assert service_event_env("status", {}, tmp_path) == envs["status"]


def test_readers_use_the_data_dirs_keys_unless_the_environment_sets_them(tmp_path: Path) -> None:
    assert reader_settings({}, tmp_path) == {}  # nothing generated yet: nothing to read
    env = service_event_env("kpi", {}, tmp_path)
    assert reader_settings({}, tmp_path) == {
        "event_public_keys": json.loads(env["EVENT_PUBLIC_KEYS"])
    }
    configured = {"EVENT_PUBLIC_KEYS": '{"/a": "b"}'}
    assert reader_settings(configured, tmp_path) == {}
    assert service_event_env("intake", configured, tmp_path) == {}
    # Configured keys: each publisher takes its own from <SERVICE>_EVENT_SIGNING_KEY.
    own = {**configured, "INTAKE_EVENT_SIGNING_KEY": "ki", "STATUS_EVENT_SIGNING_KEY": "ks"}
    assert service_event_env("intake", own, tmp_path) == {"EVENT_SIGNING_KEY": "ki"}
    assert service_event_env("status", own, tmp_path) == {"EVENT_SIGNING_KEY": "ks"}
    assert service_event_env("kpi", own, tmp_path) == {}


def test_the_signing_key_command_prints_a_key_and_its_public_entry() -> None:
    from typer.testing import CliRunner

    from damrong.cli.main import app

    result = CliRunner().invoke(app, ["signing-key", "--source", "/damrong/status"])
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()
    private = first.rsplit(" ", 1)[1]
    entry = json.loads("{" + second.split(": ", 1)[1] + "}")
    assert entry == {"/damrong/status": public_key_of(private)}
