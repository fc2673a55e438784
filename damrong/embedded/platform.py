"""Platform: embedded infrastructure plus the three services as child processes.

Used by the `damrong up` supervisor and by tests (crash tests kill and restart single services).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import structlog

from damrong.embedded._proc import (
    Managed,
    aterminate,
    env_port,
    free_port,
    run_sync,
    spawn,
    tail,
    wait_port_free,
)
from damrong.embedded.auth_secret import admin_principal, configured_secret, sign
from damrong.embedded.broker import EmbeddedBroker
from damrong.embedded.console_env import console_env
from damrong.embedded.event_keys import service_event_env
from damrong.embedded.instance import InstanceLock, stop_leftovers
from damrong.embedded.pii_keys import configured_pii_keys
from damrong.embedded.postgres import EmbeddedPostgres
from damrong.embedded.secret_files import load_or_create
from shared.auth.principal import Principal, Role

log = structlog.get_logger()

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    port_env: str
    default_port: int


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("intake", "services.intake.main", "INTAKE_PORT", 8001),
    ServiceSpec("status", "services.status.main", "STATUS_PORT", 8002),
    ServiceSpec("kpi", "services.kpi.main", "KPI_PORT", 8003),
    ServiceSpec("console", "services.console.main", "CONSOLE_PORT", 8004),
    ServiceSpec("notify", "services.notify.main", "NOTIFY_PORT", 8005),
)
SPECS = {spec.name: spec for spec in SERVICES}
# Notify asks intake for contact details with a token of its own: it needs no personal-data
# key and publishes no event.  Its token lives as long as a launch is expected to.
NOTIFY_WITHHELD = ("PII_RETIRED_MASTER_KEYS", "EVENT_SIGNING_KEY")
NOTIFY_TOKEN_TTL = dt.timedelta(days=365)
CONSOLE_WITHHELD = (
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "PII_RETIRED_MASTER_KEYS",
    "EVENT_SIGNING_KEY",
    "EVENT_PUBLIC_KEYS",
    "FEEDBACK_LINK_SECRET",
)


def service_env(
    base: Mapping[str, str],
    *,
    database_url: str,
    kafka_bootstrap: str,
    host: str,
    ports: Mapping[str, int],
    auth_secret: str | None = None,
) -> dict[str, str]:
    """Environment for a service: everything from base, plus where infra and peers are
    and the token secret (unless base configures a public key)."""
    env = dict(base)
    if auth_secret:
        env["AUTH_JWT_SECRET"] = auth_secret
    for name in ("AUTH_JWT_SECRET", "AUTH_PUBLIC_KEY", "AUTH_PUBLIC_KEY_FILE"):
        if not env.get(name):
            env.pop(name, None)  # an empty value would read as a setting
    env["DATABASE_URL"] = database_url
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap
    env["HOST"] = host
    for name, port in ports.items():
        if name in SPECS:  # replicas ("status-2") get their own port in start_service
            env[SPECS[name].port_env] = str(port)
    env["PYTHONUNBUFFERED"] = "1"  # logs reach the log file as they happen
    # `python -m services.x.main` must work even when the project is not pip-installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), base.get("PYTHONPATH")) if p)
    return env


class Platform(Managed):
    """Embedded PostgreSQL + broker (unless external URLs are given) and the services.

    Settings default to the environment (DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, DAMRONG_DATA_DIR,
    DAMRONG_PG_PORT, DAMRONG_KAFKA_PORT, INTAKE_PORT, STATUS_PORT, KPI_PORT, CONSOLE_PORT,
    NOTIFY_PORT, HOST); an empty
    DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS means "embedded".
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        services: bool | Iterable[str] = True,
        env: Mapping[str, str] | None = None,
        pg_port: int | None = None,
        kafka_port: int | None = None,
        service_ports: Mapping[str, int] | None = None,
        host: str | None = None,
        database_url: str | None = None,
        kafka_bootstrap: str | None = None,
        health_timeout: float = 60.0,
        commands: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.base_env = {**os.environ, **(env or {})}
        e = self.base_env
        root = data_dir or Path(e.get("DAMRONG_DATA_DIR") or Path.cwd() / ".damrong")
        self.data_dir = Path(root).absolute()
        self.log_dir = self.data_dir / "logs"
        self.host = host or e.get("HOST") or "127.0.0.1"
        names = [s.name for s in SERVICES] if services is True else list(services or [])
        unknown = set(names) - SPECS.keys()
        if unknown:
            raise ValueError(f"unknown services: {sorted(unknown)}")
        self.service_names = names
        given = dict(service_ports or {})
        self.ports = {
            s.name: given.get(s.name) or env_port(s.port_env, s.default_port, e) for s in SERVICES
        }
        self.health_timeout = health_timeout
        self.commands = dict(commands or {})  # tests may replace a service's argv
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._auth_secret: str | None = None
        self.instance = InstanceLock(self.data_dir)

        # An external URL (argument or environment) replaces the embedded server.
        self._database_url = database_url or e.get("DATABASE_URL") or None
        self.pg: EmbeddedPostgres | None = None
        if not self._database_url:
            self.pg = EmbeddedPostgres(
                self.data_dir / "pg",
                pg_port or env_port("DAMRONG_PG_PORT", 5433, e),
                host=self.host,
                log_file=self.log_dir / "postgres.log",
            )
            self.pg.on_spawn = self.instance.record
        self._kafka_bootstrap = kafka_bootstrap or e.get("KAFKA_BOOTSTRAP_SERVERS") or None
        self.broker: EmbeddedBroker | None = None
        if not self._kafka_bootstrap:
            self.broker = EmbeddedBroker(
                kafka_port or env_port("DAMRONG_KAFKA_PORT", 9092, e),
                host=self.host,
                log_file=self.log_dir / "broker.log",
            )
            self.broker.on_spawn = self.instance.record

    @classmethod
    def for_tests(
        cls,
        data_dir: Path,
        *,
        services: bool | Iterable[str] = True,
        env: Mapping[str, str] | None = None,
        health_timeout: float = 60.0,
        commands: Mapping[str, list[str]] | None = None,
    ) -> Platform:
        """Embedded everything on free ports, ignoring DATABASE_URL etc. from the shell."""
        forced = {
            "DATABASE_URL": "",
            "KAFKA_BOOTSTRAP_SERVERS": "",
            "AUTH_JWT_SECRET": "",
            "AUTH_PUBLIC_KEY": "",
            "AUTH_PUBLIC_KEY_FILE": "",
            "PII_MASTER_KEY": "",
            "PII_HASH_KEY": "",
            "PII_RETIRED_MASTER_KEYS": "",
            "EVENT_SIGNING_KEY": "",
            "EVENT_PUBLIC_KEYS": "",
        }
        return cls(
            data_dir,
            services=services,
            env={**forced, **(env or {})},
            pg_port=free_port(),
            kafka_port=free_port(),
            service_ports={s.name: free_port() for s in SERVICES},
            health_timeout=health_timeout,
            commands=commands,
        )

    # -- addresses -------------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        return self.pg.url if self.pg else str(self._database_url)

    @property
    def kafka_bootstrap(self) -> str:
        return self.broker.bootstrap if self.broker else str(self._kafka_bootstrap)

    @property
    def broker_epoch(self) -> str | None:
        """The embedded broker's cluster id, new at every start (None for an external one)."""
        return self.broker.epoch if self.broker else None

    @property
    def urls(self) -> dict[str, str]:
        return {name: self.url(name) for name in self.service_names}

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    @property
    def auth_secret(self) -> str | None:
        """The token secret the services get (created in the data dir on first use);
        None when the environment configures an identity provider's public key."""
        if self._auth_secret is None:
            self._auth_secret = configured_secret(self.base_env, self.data_dir, create=True)
        return self._auth_secret

    def token(self, principal: Principal, ttl: dt.timedelta = dt.timedelta(hours=24)) -> str | None:
        """A token for ``principal``, or None with an external identity provider."""
        secret = self.auth_secret
        return None if secret is None else sign(principal, secret, self.base_env, ttl)

    def admin_token(self, ttl: dt.timedelta = dt.timedelta(hours=24)) -> str | None:
        return self.token(admin_principal(), ttl)

    def auth_headers(self, principal: Principal | None = None) -> dict[str, str]:
        """``Authorization`` for ``principal`` (default: the admin)."""
        token = self.token(principal or admin_principal())
        return {} if token is None else {"Authorization": f"Bearer {token}"}

    @property
    def feedback_link_secret(self) -> str:
        """FEEDBACK_LINK_SECRET: the environment's, else the data dir's (created on first use)."""
        return self.base_env.get("FEEDBACK_LINK_SECRET") or load_or_create(
            self.data_dir / "feedback-link-secret", lambda: secrets.token_urlsafe(48)
        )

    def service_env(self) -> dict[str, str]:
        env = service_env(
            self.base_env,
            database_url=self.database_url,
            kafka_bootstrap=self.kafka_bootstrap,
            host=self.host,
            ports=self.ports,
            auth_secret=self.auth_secret,
        )
        for name in ("PII_RETIRED_MASTER_KEYS", "EVENT_SIGNING_KEY", "EVENT_PUBLIC_KEYS"):
            if not env.get(name):
                env.pop(name, None)  # "" would not parse as a list, or read as a key
        env["FEEDBACK_LINK_SECRET"] = self.feedback_link_secret
        # Intake's personal-data keys: the environment's, else the data dir's own.
        return {**env, **configured_pii_keys(self.base_env, self.data_dir)}

    def _notify_env(self) -> dict[str, str]:
        """Where intake is, and a token of the notifier role (the only one intake gives
        contact details to) signed with the platform's secret; the environment's win."""
        out = {
            "INTAKE_URL": self.base_env.get("INTAKE_URL") or self.url("intake"),
            "CONSOLE_PUBLIC_URL": self.base_env.get("CONSOLE_PUBLIC_URL") or self.url("console"),
        }
        token = self.base_env.get("NOTIFY_SERVICE_TOKEN") or self.token(
            Principal("notify", Role.notifier), ttl=NOTIFY_TOKEN_TTL
        )
        if token:
            out["NOTIFY_SERVICE_TOKEN"] = token
        return out

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Start everything; ``AlreadyRunning`` (touching nothing) while another launcher runs
        on the data dir.  What a crashed launcher left running there is stopped first."""
        leftovers = self.instance.acquire()
        try:
            await asyncio.to_thread(stop_leftovers, leftovers)
            await self.start_infra()
            await self.start_services()
        except BaseException:
            await self.stop()  # also on cancellation (Ctrl-C during start-up): no orphans
            raise

    async def start_infra(self) -> None:
        if self.pg:
            await self.pg.start()
        if self.broker:
            await self.broker.start()

    async def start_services(self) -> None:
        for name in self.service_names:
            await self.start_service(name, wait=False)
        waits = [asyncio.create_task(self.wait_healthy(name)) for name in self.service_names]
        try:
            for done in asyncio.as_completed(waits):
                await done  # the first failure ends start-up with that service's own error
        finally:
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def start_replica(self, name: str, port: int | None = None, wait: bool = True) -> str:
        """One more instance of service ``name`` on its own port (scale-out): same
        database, same consumer group.  Returns its key (``status-2``, ...) for ``url``,
        ``kill_service`` and ``stop_service``."""
        n = 2
        while f"{name}-{n}" in self.ports:
            n += 1
        key = f"{name}-{n}"
        self.ports[key] = port or free_port()
        await self.start_service(key, wait)
        return key

    async def start_service(self, name: str, wait: bool = True) -> None:
        spec = SPECS[name.split("-")[0]]  # "status-2" is a replica of status
        if name in self.procs and self.procs[name].poll() is None:
            raise RuntimeError(f"service {name} is already running")
        argv = self.commands.get(name) or [sys.executable, "-m", spec.module]
        env = {
            **self.service_env(),
            spec.port_env: str(self.ports[name]),
            # Its own signing key (publishers) and everyone's public keys.
            **service_event_env(spec.name, self.base_env, self.data_dir),
        }
        if spec.name == "notify":
            env.update(self._notify_env())
            for secret in (*NOTIFY_WITHHELD, *configured_pii_keys(self.base_env, self.data_dir)):
                env.pop(secret, None)
        if spec.name == "console":
            # The console reaches data only through the services: it gets their URLs, not
            # the database's, and none of the personal-data or event keys.
            for secret in (*CONSOLE_WITHHELD, *configured_pii_keys(self.base_env, self.data_dir)):
                env.pop(secret, None)
            backends = {n: self.url(n) for n in ("intake", "status", "kpi")}
            env.update(console_env(self.base_env, self.data_dir, backends, self.url(name)))
        await wait_port_free(self.host, self.ports[name], spec.port_env)
        self.procs[name] = spawn(argv, self.log_file(name), env=env, cwd=REPO_ROOT)
        self.instance.record(name, self.procs[name])
        log.info("service starting", child=name, pid=self.procs[name].pid)
        if wait:
            await self.wait_healthy(name)

    async def wait_healthy(self, name: str) -> None:
        proc = self.procs[name]
        deadline = time.monotonic() + self.health_timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"service {name} exited with {proc.returncode} during start-up; "
                        f"log {self.log_file(name)}:\n{tail(self.log_file(name))}"
                    )
                try:
                    if (await client.get(f"{self.url(name)}/healthz")).status_code == 200:
                        log.info("service healthy", child=name)
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"service {name} not healthy after {self.health_timeout}s")
                await asyncio.sleep(0.2)

    def kill_service(self, name: str, sig: int = signal.SIGKILL, timeout: float = 30.0) -> int:
        """Signal a service and wait for it to exit (crash tests); it is then 'expected dead'."""
        proc = self.procs.pop(name)
        if proc.poll() is None:
            proc.send_signal(sig)
        return proc.wait(timeout=timeout)

    async def stop_service(self, name: str, grace: float = 10.0) -> int | None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return None
        code = await aterminate(proc, signal.SIGTERM, grace)
        log.info("service stopped", child=name, exit_code=code)
        return code

    def dead_children(self) -> list[tuple[str, int]]:
        """(name, exit code) of every child that exited without being asked to."""
        dead = [(n, p.returncode) for n, p in self.procs.items() if p.poll() is not None]
        for name, infra in (("postgres", self.pg), ("broker", self.broker)):
            if infra is not None and infra.proc is not None and infra.proc.poll() is not None:
                dead.append((name, infra.proc.returncode))
        return dead

    async def stop(self, grace: float = 10.0) -> None:
        """Services first (they flush and close connections), then broker, then database."""
        names = list(self.procs)
        await asyncio.gather(*(self.stop_service(n, grace) for n in names))
        if self.broker:
            await self.broker.stop()
        if self.pg:
            await self.pg.stop()
        self.instance.release()

    def start_service_sync(self, name: str, wait: bool = True) -> None:
        run_sync(lambda: self.start_service(name, wait))
