"""Session-wide real infrastructure: PostgreSQL and a Kafka-protocol broker.

By default both are the embedded ones, started once per test session on free ports.
With ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` set, those servers are used instead;
with ``DAMRONG_TEST_BACKEND=containers``, Apache Kafka and PostgreSQL containers (skipped
without Docker).
Every test gets fresh databases and topics through the factories below.
"""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import CoroutineType, FrameType, GeneratorType
from typing import Any

import pytest

from shared.config import Settings
from tests.auth import TEST_SECRET
from tests.infra import backend, fresh_database, isolation, start_infra
from tests.pii import SETTINGS as PII_SETTINGS
from tests.signing import SETTINGS as SIGNING_SETTINGS


@pytest.fixture(scope="session")
def infra() -> Iterator[dict[str, str]]:
    with start_infra() as urls:
        yield urls


@pytest.fixture
async def fresh_db(infra: dict[str, str]) -> AsyncIterator[str]:
    """A new, empty database for one test; dropped afterwards."""
    async with fresh_database(infra["database_url"]) as url:
        yield url


@pytest.fixture
def make_settings(infra: dict[str, str], fresh_db: str) -> Callable[..., Settings]:
    """Settings on the test's own database and its own topics (and consumer groups and
    idempotent producers on Apache Kafka: ``tests.infra.isolation``)."""
    suffix = uuid.uuid4().hex[:8]

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": fresh_db,
            "kafka_bootstrap_servers": infra["kafka_bootstrap"],
            **isolation(suffix),
            "topic_partitions": 4,
            "auth_jwt_secret": TEST_SECRET,
            **PII_SETTINGS,
            **SIGNING_SETTINGS,
        }
        values.update(overrides)
        return Settings(**values)

    return build


def pytest_configure(config: pytest.Config) -> None:
    backend()  # a misspelt DAMRONG_TEST_BACKEND stops the run before any test
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        # Set before the workers start, so they inherit it (see pytest_timeout_set_timer).
        os.environ[STALLS_ENV] = tempfile.mkdtemp(prefix="damrong-stalls-")
    # Parallel workers (pytest-xdist: gw0, gw1, ...) each start their own servers and
    # platforms: ports are split between them (damrong.embedded._proc.free_port), and the
    # processes they launch inherit the split.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw"):
        count = os.environ["PYTEST_XDIST_WORKER_COUNT"]
        os.environ["DAMRONG_PORT_STRIPE"] = f"{worker.removeprefix('gw')}/{count}"


def pytest_unconfigure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER") and STALLS_ENV in os.environ:
        shutil.rmtree(os.environ.pop(STALLS_ENV), ignore_errors=True)


def pytest_report_header() -> str:
    name = backend()
    if name == "embedded" and os.environ.get("DATABASE_URL"):
        name = "external"
    return f"damrong test backend: {name}"


# pytest-timeout (pyproject.toml) ends a worker whose test overruns, and what it prints there
# is lost: pytest-xdist does not pass a worker's stderr on. So a few seconds before that, the
# worker writes every thread's stack and every asyncio task's chain of awaits (a stalled
# asyncio test shows only its loop idle in select() as a thread) to a file in STALLS_ENV's
# directory, and the controller prints those files at the end of the run.
TASKS_BEFORE_TIMEOUT_S = 10
STALLS_ENV = "DAMRONG_TEST_STALLS"
_STALL_TIMER = pytest.StashKey[threading.Timer]()


def _await_chain(task: asyncio.Task[Any]) -> list[str]:
    lines: list[str] = []
    awaited: Any = task.get_coro()
    while awaited is not None:
        frame: FrameType | None = getattr(awaited, "cr_frame", None) or getattr(
            awaited, "gi_frame", None
        )
        if frame is not None:
            code = frame.f_code
            lines.append(f"    {code.co_filename}:{frame.f_lineno} in {code.co_qualname}")
        if isinstance(awaited, CoroutineType):
            awaited = awaited.cr_await
        elif isinstance(awaited, GeneratorType):
            awaited = awaited.gi_yieldfrom
        else:
            lines.append(f"    awaiting {awaited!r}"[:300])
            awaited = None
    return lines


def _record_stall(nodeid: str, path: Path) -> None:
    with path.open("a") as out:
        out.write(f"--- {nodeid}: near its timeout; every thread ---\n")
        out.flush()
        faulthandler.dump_traceback(out, all_threads=True)
        out.write("--- asyncio tasks of running loops ---\n")
        for loop in [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop)]:
            if loop.is_running():
                for task in list(asyncio.all_tasks(loop)):
                    out.write("\n".join([f"  {task.get_name()}:", *_await_chain(task)]) + "\n")


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> None:
    stalls = os.environ.get(STALLS_ENV)
    if stalls and settings.timeout and settings.timeout > TASKS_BEFORE_TIMEOUT_S:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        timer = threading.Timer(
            settings.timeout - TASKS_BEFORE_TIMEOUT_S,
            _record_stall,
            (item.nodeid, Path(stalls) / f"{worker}-{os.getpid()}.txt"),
        )
        timer.daemon = True
        item.stash[_STALL_TIMER] = timer
        timer.start()


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    timer = item.stash.get(_STALL_TIMER, None)
    if timer is not None:
        timer.cancel()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    stalls = os.environ.get(STALLS_ENV)
    if not stalls or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    for path in sorted(Path(stalls).glob("*.txt")):
        terminalreporter.section(f"stalled test ({path.stem})")
        terminalreporter.write(path.read_text())
