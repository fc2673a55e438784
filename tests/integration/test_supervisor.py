"""`damrong up` supervisor as a real process: clean stop on signals, exit 1 when a child dies,
exit 2 beside a running one, and a restart at once after it was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from damrong.embedded import free_port
from damrong.embedded.instance import is_gone
from damrong.embedded.platform import REPO_ROOT
from tests.infra import embedded_only

pytestmark = [
    pytest.mark.integration,
    embedded_only("tests `damrong up`, which starts the embedded servers"),
]

FAKE_SERVICE = Path(__file__).with_name("fake_service.py")

# A stand-in that keeps serving for 5 s after the first SIGTERM, as a service draining its
# work does, and ignores any further SIGTERM meanwhile.
SLOW_STOP = f"""
import os, runpy, signal, threading
def stop_later(*_):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Timer(5, os._exit, [0]).start()
signal.signal(signal.SIGTERM, stop_later)
runpy.run_path({str(FAKE_SERVICE)!r}, run_name="__main__")
"""

# run_platform() with the real services swapped for stand-ins that only answer /healthz
# (slowly stopping ones with FAKE_SLOW_STOP=1).
HARNESS = f"""
import asyncio, functools, os, sys
from damrong.embedded import platform, supervisor
fake = [sys.executable, {str(FAKE_SERVICE)!r}]
if os.environ.get("FAKE_SLOW_STOP"):
    fake = [sys.executable, "-c", {SLOW_STOP!r}]
cmds = {{n: [*fake, n] for n in ("intake", "status", "kpi")}}
supervisor.Platform = functools.partial(platform.Platform, commands=cmds)
sys.exit(asyncio.run(supervisor.run_platform(health_timeout=30)))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DAMRONG_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": "",
        "KAFKA_BOOTSTRAP_SERVERS": "",
        "DAMRONG_PG_PORT": str(free_port()),
        "DAMRONG_KAFKA_PORT": str(free_port()),
        "INTAKE_PORT": str(free_port()),
        "STATUS_PORT": str(free_port()),
        "KPI_PORT": str(free_port()),
        "CONSOLE_PORT": str(free_port()),
        "NOTIFY_PORT": str(free_port()),
        "COLUMNS": "200",
    }


def _start(env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-c", HARNESS], env=env, stdout=fh, stderr=subprocess.STDOUT
        )


def _launch(
    tmp_path: Path, env: dict[str, str] | None = None, out_name: str = "out.txt"
) -> tuple[subprocess.Popen[bytes], Path]:
    out = tmp_path / out_name
    proc = _start(env or _env(tmp_path), out)
    deadline = time.monotonic() + 90
    while "damrong is up" not in out.read_text():
        assert proc.poll() is None, out.read_text()
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.2)
    return proc, out


def _children(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    kids = psutil.Process(proc.pid).children()
    assert len(kids) == 7, kids  # postgres, broker, three services, the console and notify
    return kids


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_everything(tmp_path: Path, sig: signal.Signals) -> None:
    proc, out = _launch(tmp_path)
    kids = _children(proc)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == 0, out.read_text()
    _, alive = psutil.wait_procs(kids, timeout=5)
    assert alive == []


def test_dead_child_stops_everything_with_exit_1(tmp_path: Path) -> None:
    proc, out = _launch(tmp_path)
    kids = _children(proc)
    kpi = next(k for k in kids if k.cmdline()[-1] == "kpi")
    kpi.kill()
    assert proc.wait(timeout=60) == 1, out.read_text()
    assert "kpi exited with -9" in out.read_text()
    _, alive = psutil.wait_procs(kids, timeout=5)
    assert alive == []


def _stop_all(*procs: subprocess.Popen[bytes]) -> None:
    """After a failed test: nothing of it keeps running."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_second_launcher_on_the_same_data_dir_is_refused_and_harms_nothing(tmp_path: Path) -> None:
    env = _env(tmp_path)
    first, out = _launch(tmp_path, env)
    second = _start(env, tmp_path / "second.txt")
    try:
        kids = _children(first)
        assert second.wait(timeout=60) == 2
        said = " ".join((tmp_path / "second.txt").read_text().split())
        assert f"already running on data dir {tmp_path / 'data'} (pid {first.pid}" in said, said
        assert f"kill -TERM {first.pid}" in said and "--data-dir" in said, said
        assert first.poll() is None and not any(is_gone(k) for k in kids)
        assert {k.pid for k in _children(first)} == {k.pid for k in kids}
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0, out.read_text()
    finally:
        _stop_all(second, first)


def test_restart_at_once_after_the_launcher_was_killed(tmp_path: Path) -> None:
    """The killed launcher's children got their parent-death signal but still hold their
    ports while they stop; the new launcher stops them and waits instead of failing."""
    env = {**_env(tmp_path), "FAKE_SLOW_STOP": "1"}
    first, _ = _launch(tmp_path, env)
    kids = _children(first)
    first.kill()
    first.wait()
    try:
        again, out = _launch(tmp_path, env, "again.txt")
        assert [k for k in kids if not is_gone(k)] == []
        assert "stopping leftover of a crashed run" in out.read_text()
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=60) == 0, out.read_text()
        assert (tmp_path / "data" / "launcher.lock").read_text() == ""  # clean stop
    finally:
        for kid in kids:  # whatever happened, the stand-ins do not outlive the test
            if not is_gone(kid):
                kid.kill()
