"""Small process/port helpers shared by the embedded PostgreSQL, broker and service launcher."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import psutil
import structlog

log = structlog.get_logger()

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1


_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now (the OS picks it; tests use it to avoid clashes).

    The socket is closed before the caller binds, so the OS may offer the same port again to the
    next call: a platform given the same port for two services saw one of them refuse to start.
    A port is therefore handed out at most once per process.  Processes that pick ports side
    by side (parallel test workers) cannot see each other's: ``DAMRONG_PORT_STRIPE=i/n`` makes
    this one take only ports ``p`` with ``(p // 2) % n == i``, so no two of them ever get the
    same (halved: Linux hands out odd ports to ``bind`` and keeps the even ones for ``connect``).
    """
    index, count = _stripe()
    with _handed_out_lock:
        for _ in range(10_000):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((host, 0))
                port = int(sock.getsockname()[1])
            if port not in _handed_out and (port // 2) % count == index:
                _handed_out.add(port)
                return port
    raise RuntimeError(f"no free port on {host} in stripe {index}/{count}")


def _stripe() -> tuple[int, int]:
    value = os.environ.get("DAMRONG_PORT_STRIPE", "")
    if not value:
        return 0, 1
    try:
        index, count = (int(part) for part in value.split("/"))
    except ValueError:
        raise ValueError(f"DAMRONG_PORT_STRIPE={value!r}: expected i/n, e.g. 0/2") from None
    if not 0 <= index < count:
        raise ValueError(f"DAMRONG_PORT_STRIPE={value!r}: i must be at least 0 and below n")
    return index, count


def port_in_use(host: str, port: int) -> bool:
    """True if something already accepts connections on host:port.

    Checked before spawning: otherwise a readiness probe could talk to a leftover server from an
    earlier run while our own child fails to bind and dies.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def port_holder(port: int) -> str:
    """Who listens on port, for error messages: "pid N (cmdline)", or "an unknown process"
    (another user's socket when we are not root)."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except psutil.Error:
        conns = []
    for conn in conns:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                break
            try:
                return f"pid {conn.pid} ({' '.join(psutil.Process(conn.pid).cmdline())[:120]})"
            except psutil.Error:
                return f"pid {conn.pid}"
    return "an unknown process"


async def wait_port_free(host: str, port: int, setting: str, timeout: float = 10.0) -> None:
    """Return once nothing accepts connections on host:port; RuntimeError naming the holder
    and the setting that chooses the port after timeout seconds.

    A process of a crashed run may still hold its port for a moment while it shuts down (the
    parent-death signal reaches it only when the launcher dies), so a restart waits for that
    instead of failing at once.
    """
    deadline = time.monotonic() + timeout
    while port_in_use(host, port):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"port {host}:{port} is already in use by {port_holder(port)} "
                f"(choose another with {setting})"
            )
        await asyncio.sleep(0.05)


def env_port(name: str, default: int, env: dict[str, str] | None = None) -> int:
    """Read a port from the environment, failing loudly on garbage instead of binding port 0."""
    raw = (env if env is not None else os.environ).get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ValueError(f"{name}={port} is out of range 1..65535")
    return port


def tail(path: Path, lines: int = 20) -> str:
    """Last lines of a child's log, to show why it died (logs carry no personal data)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16_384))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# Resolved once in the parent: dlopen() between fork and exec could deadlock on a loader lock
# held by another thread at fork time.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent(sig: int, parent: int) -> None:
    # Runs in the child between fork and exec (after the uid switch, so the kernel keeps it):
    # if the launcher is SIGKILLed, the kernel sends sig to the child, so no orphan keeps the port.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            # The launcher died between fork and prctl: the signal will never come.
            os._exit(1)


def spawn(
    argv: list[str],
    log_file: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    death_signal: int = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start a child in its own session with output appended to log_file.

    Own session: a terminal Ctrl-C reaches only the launcher, which then stops children in order
    (services, broker, database) instead of all of them racing to die at once.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    # The parent-death signal is tied to the spawning *thread*; only arm it from the main thread,
    # or the child would be killed when a worker thread exits.
    arm = _prctl is not None and threading.current_thread() is threading.main_thread()
    with log_file.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            user=user,
            start_new_session=True,
            preexec_fn=(
                functools.partial(_die_with_parent, death_signal, os.getpid()) if arm else None
            ),
        )


async def aterminate(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace: float = 10.0
) -> int:
    """Send sig, wait up to grace seconds, then SIGKILL; return the exit code.

    Polls instead of a blocking wait() so the event loop (signal handling, other children's
    shutdown) keeps running meanwhile.
    """
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        deadline = time.monotonic() + grace
        # A Popen child has no awaitable exit, so it is polled (see the docstring).
        while proc.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if proc.poll() is None:
            log.warning("child did not stop in time, killing", pid=proc.pid, grace_s=grace)
            proc.kill()
    while proc.poll() is None:  # noqa: ASYNC110 (polled, as above)
        await asyncio.sleep(0.02)
    return int(proc.returncode)


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine from sync code, also when an event loop already runs in this thread.

    In that case a helper thread runs it; children spawned there are not tied to that thread's
    lifetime because spawn() only arms the parent-death signal on the main thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


class Managed:
    """``with`` / ``async with`` and sync twins for anything with async start() and stop()."""

    async def start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def stop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def start_sync(self) -> None:
        run_sync(self.start)

    def stop_sync(self) -> None:
        run_sync(self.stop)

    async def __aenter__(self: M) -> M:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def __enter__(self: M) -> M:
        self.start_sync()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop_sync()


M = TypeVar("M", bound=Managed)


class ManagedChild(Managed):
    """A Managed server that runs as one child process (``proc``)."""

    proc: subprocess.Popen[bytes] | None = None
    log_file: Path | None = None
    name = "server"
    stop_signal = signal.SIGTERM
    stop_grace = 10.0
    # Told of every process spawned (the launcher records it for the restart after a crash).
    on_spawn: Callable[[str, subprocess.Popen[bytes], int], None] | None = None

    def spawned(self) -> None:
        """Call right after ``proc`` was spawned."""
        if self.on_spawn is not None and self.proc is not None:
            self.on_spawn(self.name, self.proc, self.stop_signal)

    async def stop(self, grace: float | None = None) -> None:
        if self.proc is None:
            return
        code = await aterminate(
            self.proc, self.stop_signal, self.stop_grace if grace is None else grace
        )
        structlog.get_logger().info(f"{self.name} stopped", exit_code=code)
        self.proc = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def raise_if_exited(self) -> None:
        """RuntimeError with the tail of its log if the server died while starting."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.proc.returncode}; log "
                f"{self.log_file}:\n" + (tail(self.log_file) if self.log_file else "")
            )
