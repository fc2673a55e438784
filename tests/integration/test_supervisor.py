"""`damrong up` supervisor as a real process: clean stop on signals, exit 1 when a child dies."""

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
from damrong.embedded.platform import REPO_ROOT
from tests.infra import embedded_only

pytestmark = [pytest.mark.integration,
              embedded_only("tests `damrong up`, which starts the embedded servers")]

FAKE_SERVICE = Path(__file__).with_name("fake_service.py")

# run_platform() with the real services swapped for stand-ins that only answer /healthz.
HARNESS = f"""
import asyncio, functools, sys
from damrong.embedded import platform, supervisor
cmds = {{n: [sys.executable, {str(FAKE_SERVICE)!r}, n] for n in ("intake", "status", "kpi")}}
supervisor.Platform = functools.partial(platform.Platform, commands=cmds)
sys.exit(asyncio.run(supervisor.run_platform(health_timeout=30)))
"""


def _launch(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    env = {
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
        "COLUMNS": "200",
    }
    out = tmp_path / "out.txt"
    with out.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-c", HARNESS], env=env, stdout=fh, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 90
    while "damrong is up" not in out.read_text():
        assert proc.poll() is None, out.read_text()
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.2)
    return proc, out


def _children(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    kids = psutil.Process(proc.pid).children()
    assert len(kids) == 5, kids  # postgres, broker, three services
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
