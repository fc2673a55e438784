"""One launcher per data dir, and the processes a crashed one left behind.

The launcher holds an exclusive flock on ``<data dir>/launcher.lock`` for as long as it runs.
The kernel drops the lock when its holder exits, however it dies (SIGKILL included, and before
anyone reaps it), and the children never hold it (the descriptor is close-on-exec). So:

- a second launcher that cannot take the lock knows a live one runs there, says which, and
  touches nothing (``AlreadyRunning``);
- a launcher that takes it knows no other runs there, so every process the previous holder
  recorded in the file and that still runs is a leftover of a crash: it is stopped before
  anything is started again (``stop_leftovers``).

The file holds one JSON object per line, appended and never rewritten while the lock is held,
so a reader sees at most a torn last line: the launcher first, then each child it spawned.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import structlog

log = structlog.get_logger()

LOCK_NAME = "launcher.lock"


class AlreadyRunning(RuntimeError):
    """Another launcher holds the data dir."""

    def __init__(self, data_dir: Path, pid: int | None, started: str | None) -> None:
        self.data_dir, self.pid, self.started = data_dir, pid, started
        who = f"pid {pid}" if pid else "pid unknown"
        since = f", started {started}" if started else ""
        stop = f"`kill -TERM {pid}`" if pid else "stop it"
        super().__init__(
            f"damrong is already running on data dir {data_dir} ({who}{since}). Use that one, "
            f"or stop it first (Ctrl-C where it runs, or {stop}), or start this one on another "
            "data dir (--data-dir or DAMRONG_DATA_DIR) and other ports."
        )


@dataclass(frozen=True)
class Recorded:
    """A child as the launcher recorded it; create_time tells it apart from a reused pid."""

    name: str
    pid: int
    create_time: float
    stop_signal: int


def is_gone(proc: psutil.Process) -> bool:
    """True once proc has exited.  A zombie counts as gone: it holds no memory, sockets or
    locks any more, and an orphan's zombie lasts until init reaps it, which we cannot hurry."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait up to timeout seconds for every proc to be gone (see is_gone); return the others.

    Not psutil.wait_procs: for a process that is not our child it waits for the pid to vanish,
    that is for a zombie until the whole timeout has passed.
    """
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if not is_gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if not is_gone(p)]
    return alive


def stop_processes(procs: list[tuple[psutil.Process, int]], grace: float) -> list[psutil.Process]:
    """Send each process its signal, SIGKILL whatever is left after grace seconds; return the
    processes still there after that (in practice only ones stuck in uninterruptible sleep)."""
    for proc, sig in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(sig)
    alive = wait_gone([p for p, _ in procs], grace)
    for proc in alive:
        log.warning("process did not stop in time, killing", pid=proc.pid, grace_s=grace)
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    return wait_gone(alive, 5.0)


def stop_leftovers(recorded: list[Recorded], grace: float = 10.0) -> None:
    """Stop every recorded child that still runs (each with its own stop signal, then SIGKILL).

    They got their parent-death signal when the launcher died and are usually on their way out
    already; waiting for them here frees their ports and the database before the restart.
    """
    found: list[tuple[psutil.Process, int]] = []
    for child in recorded:
        try:
            proc = psutil.Process(child.pid)
            if abs(proc.create_time() - child.create_time) > 0.05 or is_gone(proc):
                continue  # pid reused by another program, or already dead
        except psutil.Error:
            continue
        log.warning("stopping leftover of a crashed run", child=child.name, pid=child.pid)
        found.append((proc, child.stop_signal))
    stuck = stop_processes(found, grace)
    if stuck:
        pids = ", ".join(str(p.pid) for p in stuck)
        raise RuntimeError(f"processes of a crashed run do not stop: pid {pids}")


def _read_lines(fd: int) -> list[dict[str, Any]]:
    lines = []
    for line in os.pread(fd, os.fstat(fd).st_size, 0).splitlines():
        with contextlib.suppress(ValueError):  # a torn last line
            value = json.loads(line)
            if isinstance(value, dict):
                lines.append(value)
    return lines


class InstanceLock:
    """The data dir's launcher lock and its record of children (see the module docstring)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> list[Recorded]:
        """Take the lock and return the children a previous holder recorded; AlreadyRunning
        (nothing touched) when a live launcher holds it."""
        if self._fd is not None:
            return []
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Never unlinked: a process could lock the old file while another creates a new one.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lines = _read_lines(fd)
            os.close(fd)
            head = lines[0] if lines else {}
            raise AlreadyRunning(self.data_dir, head.get("launcher"), head.get("started")) from None
        previous = [
            Recorded(c["child"], int(c["pid"]), float(c["create_time"]), int(c["stop_signal"]))
            for c in _read_lines(fd)[1:]
            if {"child", "pid", "create_time", "stop_signal"} <= c.keys()
        ]
        os.ftruncate(fd, 0)
        self._fd = fd
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._append({"launcher": os.getpid(), "started": started})
        return previous

    def record(
        self, name: str, proc: subprocess.Popen[bytes], stop_signal: int = signal.SIGTERM
    ) -> None:
        """Note a child just spawned, so that a launcher after a crash can stop it."""
        if self._fd is None:
            return
        try:
            created = psutil.Process(proc.pid).create_time()
        except psutil.Error:
            return  # already gone: nothing would be left over
        self._append(
            {
                "child": name,
                "pid": proc.pid,
                "create_time": created,
                "stop_signal": int(stop_signal),
            }
        )

    def _append(self, entry: dict[str, Any]) -> None:
        assert self._fd is not None
        os.lseek(self._fd, 0, os.SEEK_END)
        os.write(self._fd, json.dumps(entry).encode() + b"\n")

    def release(self) -> None:
        """After a clean stop: nothing is left over, so the record is emptied; then unlock."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the only descriptor drops the flock
