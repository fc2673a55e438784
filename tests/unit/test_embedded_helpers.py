"""Pure helpers of the embedded runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from damrong.embedded._proc import env_port, port_in_use
from damrong.embedded.platform import REPO_ROOT, Platform, service_env
from damrong.embedded.postgres import socket_dir_arg
from damrong.embedded.supervisor import redact_url


def test_socket_dir_is_data_dir_unless_too_long() -> None:
    assert socket_dir_arg(Path("data/pg"), 5433) == "data/pg"
    assert socket_dir_arg(Path("/" + "a" * 120), 5433) == ""


def test_env_port() -> None:
    assert env_port("P", 5433, {}) == 5433
    assert env_port("P", 5433, {"P": " 6000 "}) == 6000
    with pytest.raises(ValueError):
        env_port("P", 5433, {"P": "abc"})
    with pytest.raises(ValueError):
        env_port("P", 5433, {"P": "70000"})


def test_service_env_sets_infra_ports_and_keeps_the_rest() -> None:
    env = service_env(
        {"FOO": "bar", "PYTHONPATH": "/x"},
        database_url="postgresql://postgres@127.0.0.1:1/damrong",
        kafka_bootstrap="127.0.0.1:2",
        host="127.0.0.1",
        ports={"intake": 11, "status": 12, "kpi": 13},
    )
    assert env["FOO"] == "bar"
    assert (env["INTAKE_PORT"], env["STATUS_PORT"], env["KPI_PORT"]) == ("11", "12", "13")
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:2"
    assert env["PYTHONPATH"].split(":") == [str(REPO_ROOT), "/x"]


def test_platform_reads_environment(tmp_path: Path) -> None:
    p = Platform(
        env={
            "DAMRONG_DATA_DIR": str(tmp_path),
            "DAMRONG_PG_PORT": "6543",
            "KPI_PORT": "9003",
            "DATABASE_URL": "",
            "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        },
    )
    assert p.data_dir == tmp_path
    assert p.database_url == "postgresql://postgres@127.0.0.1:6543/damrong"
    assert p.broker is None and p.kafka_bootstrap == "kafka:9092"
    assert p.urls["kpi"] == "http://127.0.0.1:9003"
    assert p.urls["intake"] == "http://127.0.0.1:8001"


def test_redact_url() -> None:
    assert redact_url("postgresql://u:secret@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact_url("postgresql://postgres@h:5/db") == "postgresql://postgres@h:5/db"


def test_port_in_use_on_free_port() -> None:
    from damrong.embedded import free_port

    assert not port_in_use("127.0.0.1", free_port())


def test_free_port_never_hands_out_a_port_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OS may offer a just-closed port again; two services given one port clash at start."""
    import socket

    from damrong.embedded import _proc

    offered = iter([41001, 41001, 41001, 41002])

    class RepeatingSocket:
        def __init__(self, *args: object) -> None:
            self.port = next(offered)

        def __enter__(self) -> RepeatingSocket:
            return self

        def __exit__(self, *args: object) -> None:
            return None

        def bind(self, address: tuple[str, int]) -> None:
            return None

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", self.port)

    monkeypatch.delenv("DAMRONG_PORT_STRIPE", raising=False)
    monkeypatch.setattr(_proc, "_handed_out", set())
    monkeypatch.setattr(socket, "socket", RepeatingSocket)
    assert [_proc.free_port(), _proc.free_port()] == [41001, 41002]


@pytest.mark.parametrize("stripe", ["0/3", "1/3", "2/3"])
def test_side_by_side_processes_take_ports_of_their_own_stripe(
    monkeypatch: pytest.MonkeyPatch, stripe: str
) -> None:
    from damrong.embedded import _proc

    monkeypatch.setenv("DAMRONG_PORT_STRIPE", stripe)
    index = int(stripe[0])
    assert {(_proc.free_port() // 2) % 3 for _ in range(5)} == {index}


@pytest.mark.parametrize("stripe", ["1", "a/2", "2/2", "-1/2"])
def test_a_bad_stripe_is_named(monkeypatch: pytest.MonkeyPatch, stripe: str) -> None:
    from damrong.embedded import _proc

    monkeypatch.setenv("DAMRONG_PORT_STRIPE", stripe)
    with pytest.raises(ValueError, match="DAMRONG_PORT_STRIPE"):
        _proc.free_port()
