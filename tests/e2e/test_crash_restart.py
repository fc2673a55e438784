"""`damrong up` killed whole and started again at once, several times in a row.

The kill is what a crash, a container stop or a cgroup kill does: SIGKILL to every process of
the tree (launcher, services, PostgreSQL and its backends, broker) at the same moment, with
filings in flight.  The restart follows at once, as from a service manager with
Restart=always, before the dead processes are reaped: this test process is their subreaper
and reaps them only once the new platform is up, so their pids still answer kill(pid, 0),
as under an init that has not got round to it yet.  Every restart must come up, every
acknowledged filing must be kept and counted by kpi, and a second launcher on the same data
dir must be refused (exit code 2) without harming the running one.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from damrong.embedded import free_port
from damrong.embedded.platform import REPO_ROOT, Platform
from tests.e2e.test_crash import fiscal_year_now
from tests.infra import embedded_only
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, embedded_only("kills and restarts the embedded servers")]

ROUNDS = 3
PER_BURST = 20  # filings acknowledged in a round before the kill lands (more are in flight)
LAUNCH = "from damrong.cli.main import app; app()"
PORTS = (
    "DAMRONG_PG_PORT",
    "DAMRONG_KAFKA_PORT",
    "INTAKE_PORT",
    "STATUS_PORT",
    "KPI_PORT",
    "CONSOLE_PORT",
)
# Settings from the calling shell that would point the platform elsewhere.
UNSET = (
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "AUTH_JWT_SECRET",
    "AUTH_PUBLIC_KEY",
    "AUTH_PUBLIC_KEY_FILE",
    "PII_MASTER_KEY",
    "PII_HASH_KEY",
    "PII_RETIRED_MASTER_KEYS",
    "EVENT_SIGNING_KEY",
    "EVENT_PUBLIC_KEYS",
)
_PR_SET_CHILD_SUBREAPER = 36


class Launcher:
    """`damrong up` as a real process tree, always on the same data dir and ports."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.data_dir = tmp_path / "data"
        self.ports = {name: free_port() for name in PORTS}
        self.env = {
            **os.environ,
            **dict.fromkeys(UNSET, ""),
            **{name: str(port) for name, port in self.ports.items()},
            "DAMRONG_DATA_DIR": str(self.data_dir),
            "PYTHONPATH": str(REPO_ROOT),
            "COLUMNS": "200",
        }
        self._runs = itertools.count()
        self.started: list[subprocess.Popen[bytes]] = []

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service.upper() + '_PORT']}"

    def headers(self) -> dict[str, str]:
        """An admin token from the data dir's secret (the one `damrong up` printed)."""
        return Platform(self.data_dir, env=self.env).auth_headers()

    def start(self) -> tuple[subprocess.Popen[bytes], Path]:
        out = self.tmp_path / f"up-{next(self._runs)}.txt"
        with out.open("wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-c", LAUNCH, "up"],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
        self.started.append(proc)
        return proc, out

    async def up(self) -> subprocess.Popen[bytes]:
        proc, out = self.start()

        async def settled() -> bool:
            return proc.poll() is not None or "damrong is up" in out.read_text()

        await eventually(settled, timeout=90, interval=0.1)
        assert proc.poll() is None, f"exit code {proc.returncode}:\n{out.read_text()[-3000:]}"
        return proc

    async def stop_all(self) -> None:
        """SIGTERM whatever still runs (a clean stop: exit code 0)."""
        for proc in self.started:
            if proc.poll() is None:
                proc.terminate()
                assert await asyncio.to_thread(proc.wait, 60) == 0


def kill_tree(root: int) -> list[int]:
    """SIGKILL the launcher and all its descendants at once; return every pid killed.

    Everything is stopped (SIGSTOP) first, so that no process forks a new one (a postmaster
    its backends) or reaps one between the listing and the kill.
    """
    frozen: dict[int, psutil.Process] = {}
    top = psutil.Process(root)
    while fresh := [p for p in [top, *top.children(recursive=True)] if p.pid not in frozen]:
        for proc in fresh:
            proc.suspend()
            frozen[proc.pid] = proc
    for proc in frozen.values():
        proc.kill()
    return list(frozen)


def reap(pids: list[int], timeout: float = 10.0) -> None:
    """Reap the killed processes that became our children (subreaper)."""
    deadline = time.monotonic() + timeout
    left = set(pids)
    while left and time.monotonic() < deadline:
        for pid in list(left):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    left.discard(pid)
            except ChildProcessError:  # reaped already, or its parent has not died yet
                if not psutil.pid_exists(pid):
                    left.discard(pid)
        time.sleep(0.02)


@pytest.fixture
def subreaper() -> Iterator[list[int]]:
    """Make this process the subreaper of the killed trees; reap what the test lists."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    assert prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    pids: list[int] = []
    try:
        yield pids
    finally:
        prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        reap(pids)


class Filer:
    """Files complaints, each under its own idempotency key, and knows which were
    acknowledged and which are in doubt (sent, answer lost in the crash)."""

    def __init__(self, intake: str, headers: dict[str, str]) -> None:
        self.intake = intake
        self.client = httpx.AsyncClient(timeout=10, headers=headers)
        self.acked: dict[str, str] = {}  # idempotency key -> complaint id
        self.in_doubt: set[str] = set()
        self._keys = itertools.count()

    async def _file(self, key: str) -> httpx.Response:
        body = {
            "channel": "walk_in",
            "district_code": "9601",
            "category": "other",
            "subject": "เรื่องทดสอบ",
            "description": "รายละเอียด",
            "complainant": {"anonymous": True},
        }
        return await self.client.post(
            f"{self.intake}/v1/complaints",
            json=body,
            headers={"Idempotency-Key": f"crash-restart-{key}"},
        )

    def _ack(self, key: str, response: httpx.Response) -> None:
        assert response.status_code in (200, 201), response.text
        self.acked[key] = response.json()["complaint_id"]
        self.in_doubt.discard(key)

    async def burst(self, workers: int = 4) -> None:
        """File until the platform goes away."""

        async def worker() -> None:
            while True:
                key = str(next(self._keys))
                self.in_doubt.add(key)
                try:
                    response = await self._file(key)
                except httpx.TransportError:
                    return
                if response.status_code >= 500:
                    return
                self._ack(key, response)

        await asyncio.gather(*(worker() for _ in range(workers)))

    async def file_answered(self, key: str) -> None:
        """File under key until an answer comes (a filing already made is answered again)."""

        async def answer() -> httpx.Response | None:
            try:
                response = await self._file(key)
            except httpx.TransportError:
                return None
            return response if response.status_code < 500 else None

        response = await eventually(answer, timeout=60)  # a Response is truthy, None is not
        assert response is not None
        self._ack(key, response)

    async def settle(self) -> None:
        """Send every filing in doubt again under its key: filed exactly once, now answered."""
        for key in sorted(self.in_doubt):
            await self.file_answered(key)

    async def count(self) -> int:
        return len(self.acked)


def _postmaster(data_dir: Path) -> int:
    return int((data_dir / "pg" / "postmaster.pid").read_text().split("\n", 1)[0])


async def _status(pid: int) -> str:
    return str(psutil.Process(pid).status())


def _shm_creators() -> set[int]:
    """Creator pids of the System V shared memory segments (postgres keeps a small one)."""
    rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return {int(row.split()[4]) for row in rows}


async def test_killed_whole_and_restarted_at_once(tmp_path: Path, subreaper: list[int]) -> None:
    launcher = Launcher(tmp_path)
    proc = await launcher.up()
    filer = Filer(launcher.url("intake"), launcher.headers())
    dead_postmasters: list[int] = []
    try:
        for _ in range(ROUNDS):
            target = len(filer.acked) + PER_BURST
            burst = asyncio.create_task(filer.burst())
            await eventually(
                filer.count,
                lambda n: n >= target or burst.done(),  # noqa: B023
                timeout=60,
                interval=0.02,
            )
            if burst.done():
                burst.result()  # its failure, if any
            assert not burst.done()  # still filing when the kill lands
            postmaster = _postmaster(launcher.data_dir)
            killed = kill_tree(proc.pid)
            subreaper.extend(killed)
            await asyncio.wait_for(burst, 30)
            assert postmaster in killed and len(killed) >= 8, killed
            # What the dead server leaves: its lock files, naming a pid not reaped yet.
            await eventually(
                functools.partial(_status, postmaster),
                psutil.STATUS_ZOMBIE.__eq__,
                timeout=5,
                interval=0.01,
            )
            assert list((launcher.data_dir / "pg").glob(".s.PGSQL.*.lock"))
            assert postmaster in _shm_creators()  # and its shared memory

            dead = proc
            proc = await launcher.up()  # at once: nothing reaped, nothing cleaned by hand
            dead.wait()
            reap(killed)
            dead_postmasters.append(postmaster)
            await filer.settle()

        # Every acknowledged filing is kept, and counted once by kpi.
        ids = set(filer.acked.values())
        assert len(ids) == len(filer.acked) >= ROUNDS * PER_BURST
        async with httpx.AsyncClient(timeout=10, headers=launcher.headers()) as c:
            for complaint_id in ids:
                r = await c.get(f"{launcher.url('intake')}/v1/complaints/{complaint_id}")
                assert r.status_code == 200, r.text

            async def received() -> int:
                r = await c.get(
                    f"{launcher.url('kpi')}/v1/kpi/summary",
                    params={"fiscal_year": fiscal_year_now()},
                )
                return int(r.json()["received"])

            await eventually(received, lambda n: n == len(ids), timeout=90, interval=0.25)
        # The killed servers' shared memory was freed by the restarts, not leaked.
        assert not _shm_creators() & set(dead_postmasters)

        # A second launcher on the same data dir is refused and harms nothing.
        postmaster = _postmaster(launcher.data_dir)
        second, out = launcher.start()
        assert await asyncio.to_thread(second.wait, 60) == 2, out.read_text()[-3000:]
        said = " ".join(out.read_text().split())  # as one line, whatever the wrapping
        assert "already running on data dir" in said and f"pid {proc.pid}" in said, said
        assert f"kill -TERM {proc.pid}" in said, said
        assert proc.poll() is None and _postmaster(launcher.data_dir) == postmaster
        assert psutil.Process(postmaster).status() != psutil.STATUS_ZOMBIE
        await filer.file_answered("after-refusal")  # the running platform still files
    finally:
        await filer.client.aclose()
        await launcher.stop_all()
