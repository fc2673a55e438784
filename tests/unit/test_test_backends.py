"""The test backends: which one runs, how tests keep apart on a shared Apache Kafka, and
that the containers backend without Docker skips with its reason instead of failing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import Settings
from tests import containers
from tests.e2e.platforms import shared_server_env
from tests.infra import as_env, backend, isolation

REPO = Path(__file__).resolve().parents[2]


def test_the_backend_is_embedded_unless_containers_are_asked_for() -> None:
    assert backend({}) == "embedded"
    assert backend({"DAMRONG_TEST_BACKEND": ""}) == "embedded"
    assert backend({"DAMRONG_TEST_BACKEND": "containers"}) == "containers"
    with pytest.raises(pytest.UsageError, match="'container'"):
        backend({"DAMRONG_TEST_BACKEND": "container"})


def test_embedded_isolation_is_topics_and_groups_without_idempotence() -> None:
    assert isolation("ab12", "embedded") == {
        "events_topic": "complaints.events.ab12",
        "dlq_topic": "complaints.events.dlq.ab12",
        "consumer_group_prefix": "damrong-ab12",
    }


def test_on_apache_kafka_each_test_has_its_own_groups_and_idempotent_producers() -> None:
    one = Settings(**isolation("aaaa", "containers"))
    two = Settings(**isolation("bbbb", "containers"))
    assert one.kafka_enable_idempotence and two.kafka_enable_idempotence
    for service in ("status", "kpi"):
        assert one.consumer_group(service) != two.consumer_group(service)
    assert one.consumer_group("kpi") != one.consumer_group("status")
    assert {one.events_topic, one.dlq_topic}.isdisjoint({two.events_topic, two.dlq_topic})


def test_production_group_ids_are_unchanged_by_the_prefix_setting() -> None:
    """Offsets are stored under the group id: the default must keep the old names."""
    assert Settings().consumer_group("status") == "damrong-status"
    assert Settings().consumer_group("kpi") == "damrong-kpi"


def test_a_platform_on_shared_servers_reads_the_same_settings_from_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    infra = {
        "database_url": "postgresql://postgres:pw@localhost:5432/damrong",
        "kafka_bootstrap": "localhost:32771",
    }
    env = shared_server_env(infra, "postgresql://postgres:pw@localhost:5432/t_1", "cc33")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()  # what each service process builds
    assert settings.database_url.endswith("/t_1")
    assert settings.kafka_bootstrap_servers == "localhost:32771"
    assert settings.kafka_enable_idempotence is True
    assert settings.events_topic == "complaints.events.cc33"
    assert settings.consumer_group("status") == Settings(
        **isolation("cc33", "containers")
    ).consumer_group("status")
    assert as_env({"kafka_enable_idempotence": False}) == {"KAFKA_ENABLE_IDEMPOTENCE": "false"}


def test_the_broker_advertises_the_host_address_and_its_listeners_are_declared() -> None:
    script = containers.kafka_start_script("docker.example", 32771).decode()
    assert "PLAINTEXT://docker.example:32771" in script
    assert script.rstrip().endswith("exec /etc/kafka/docker/run")
    env = containers.KAFKA_ENV
    declared = {p.split(":")[0] for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")}
    used = {listener.split(":")[0] for listener in env["KAFKA_LISTENERS"].split(",")}
    assert used == declared
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].endswith(":9094")
    assert containers.START_FLAG in containers.KAFKA_COMMAND[2]


def test_without_docker_the_containers_backend_skips_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testcontainers.core.config import testcontainers_config

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    # A developer's ~/.testcontainers.properties would win over DOCKER_HOST.
    monkeypatch.setattr(testcontainers_config, "tc_properties_get_tc_host", lambda: None)

    def never() -> None:
        raise AssertionError("a container was started")

    monkeypatch.setattr(containers, "_postgres", never)
    monkeypatch.setattr(containers, "_kafka", never)
    with pytest.raises(pytest.skip.Exception) as skipped, containers.container_infra():
        pytest.fail("started without a Docker engine")
    message = str(skipped.value)
    assert "BACKEND=containers needs a Docker engine" in message
    assert "no-docker.sock" in message or "No such file" in message, message


def test_a_containers_run_without_docker_skips_instead_of_failing(tmp_path: Path) -> None:
    """The whole chain: environment -> session fixture -> every dependent test skipped
    with the reason; the embedded-only tests say why they do not run there."""
    env = {
        **os.environ,
        "DAMRONG_TEST_BACKEND": "containers",
        "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock",
        "HOME": str(tmp_path),
    }  # no ~/.testcontainers.properties naming a Docker host
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "tests/integration/test_consumer.py",
            "tests/e2e/test_flow.py",
            "tests/e2e/test_restart.py",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert re.fullmatch(r"\d+ skipped in .*", out.strip().splitlines()[-1]), out
    assert "BACKEND=containers needs a Docker engine" in out
    assert "embedded servers only (a restart starts a new, empty broker" in out


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_test_runs_the_default_suite_unless_backend_is_containers() -> None:
    # Run as from a shell even when this suite itself runs under `make test`: a parent
    # make's MAKEFLAGS would add "Entering/Leaving directory" lines.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "TEST_WORKERS")
    }

    def command(*args: str) -> str:
        run = subprocess.run(
            ["make", "--no-print-directory", "-n", "test", "PYTEST_ARGS=-x", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
        )
        assert run.returncode == 0, run.stderr
        return run.stdout.strip().splitlines()[-1]

    pytest = ".venv/bin/python -m pytest -q --durations=20"
    assert command() == f"{pytest} -n 4 --dist loadfile -x"
    assert command("BACKEND=embedded") == command()
    assert command("BACKEND=containers") == (
        f"DAMRONG_TEST_BACKEND=containers {pytest} -n 4 --dist loadfile "
        "tests/integration tests/e2e -x"
    )
    assert command("TEST_WORKERS=0") == f"{pytest} -n 0 --dist loadfile -x"
    wrong = subprocess.run(
        ["make", "-n", "test", "BACKEND=dokcer"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert wrong.returncode != 0 and "BACKEND=dokcer" in wrong.stderr
