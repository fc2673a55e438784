"""Faults while filings and transitions stream in: the database killed and started again,
the (memory-only) broker killed and started again empty, a consumer frozen past its
session timeout, the database's disk full.

Each ends as an operator needs it to: every acknowledged filing is there, every case is
where its officer left it, the KPI totals are exact, nothing valid went to the dead-letter
topic, and every service is healthy again without being restarted from outside.  While
its database is away, intake answers 503 with problem+json and ``Retry-After`` within its
retry budget: never a 500, never a hang that ties up the district office's browser.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import subprocess
import time
import uuid
from functools import partial
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from damrong.embedded.platform import Platform
from damrong.embedded.postgres import EmbeddedPostgres
from tests.e2e.driver import Case, Driver
from tests.e2e.platforms import platform_for_tests
from tests.e2e.test_connection_cuts import _dead_letters, _health
from tests.e2e.test_crash import _assert_truth
from tests.infra import embedded_only
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e]

DISTRICTS = ["9101", "9102", "9103", "9201"]
COMPLAINTS = 300
# An intake answer while its database is away.  A keyed filing is tried again for a few
# seconds first (shared.http.TransientFaults: what rides out a failover unnoticed), then
# refused: about 6 s here.  Past this bound the office PC would be left waiting.
ANSWER_WITHIN_S = 15.0


async def _stream(platform: Platform, seed: int) -> tuple[Driver, asyncio.Task[None]]:
    driver = Driver(
        platform.url("intake"),
        platform.url("status"),
        DISTRICTS,
        seed=seed,
        headers=platform.auth_headers(),
    )
    stream = asyncio.create_task(driver.run(COMPLAINTS))
    await eventually(lambda: _filed(driver), lambda n: n >= COMPLAINTS // 4, timeout=120)
    return driver, stream


async def _filed(driver: Driver) -> int:
    return len(driver.truth.cases)


async def _settle(platform: Platform, driver: Driver, stream: asyncio.Task[None]) -> None:
    """The stream finished, every service healthy by itself, the truth exact."""
    try:
        await asyncio.wait_for(stream, timeout=180)
        async with httpx.AsyncClient(timeout=10, headers=platform.auth_headers()) as c:
            await eventually(
                lambda: _health(c, platform),
                lambda codes: set(codes.values()) == {200},
                timeout=90,
            )
        assert platform.dead_children() == []
        await _assert_truth(platform, driver)
        assert driver.truth.counts()["received"] >= COMPLAINTS
        assert await _dead_letters(platform) == []
    finally:
        await driver.close()


def _kill_postgres(pg: EmbeddedPostgres) -> int:
    """SIGKILL to the postmaster and every backend at once, as a crashed host does."""
    postmaster = psutil.Process(pg.pid)
    victims = [postmaster, *postmaster.children(recursive=True)]
    for proc in victims:
        os.kill(proc.pid, signal.SIGKILL)
    psutil.wait_procs(victims, timeout=30)
    return len(victims)


PROBE = {
    "channel": "walk_in",
    "district_code": DISTRICTS[0],
    "category": "other",
    "subject": "ระหว่างฐานข้อมูลล่ม",
    "description": "ยื่นขณะฐานข้อมูลไม่พร้อม",
    "complainant": {"anonymous": True},
}


async def _probe_intake(
    platform: Platform, n: int, driver: Driver | None = None, refused: list[str] | None = None
) -> list[tuple[int, str, str, float]]:
    """``n`` filings while the database is away or full: (status, content type,
    Retry-After, seconds).  One that was accepted all the same joins ``driver``'s truth;
    the idempotency key of each one refused goes to ``refused``, to be sent again."""
    out = []
    async with httpx.AsyncClient(timeout=30, headers=platform.auth_headers()) as c:
        for _ in range(n):
            started = time.monotonic()
            key = f"probe-{uuid.uuid4()}"
            r = await c.post(
                f"{platform.url('intake')}/v1/complaints",
                json=PROBE,
                headers={"Idempotency-Key": key},
            )
            if r.status_code == 201 and driver is not None:
                cid = r.json()["complaint_id"]
                driver.truth.cases[cid] = Case(cid, "walk_in", DISTRICTS[0])
            elif refused is not None:
                refused.append(key)
            out.append(
                (
                    r.status_code,
                    r.headers.get("content-type", ""),
                    r.headers.get("retry-after", ""),
                    time.monotonic() - started,
                )
            )
    return out


async def _send_again(platform: Platform, driver: Driver, keys: list[str]) -> None:
    """Each refused filing sent again with its key, as a client told to retry does, until
    it is accepted; it joins ``driver``'s truth.  A 503 says the filing may or may not
    have been stored (an answer lost after the commit): its key then answers with the
    complaint stored (200)."""
    async with httpx.AsyncClient(timeout=30, headers=platform.auth_headers()) as c:
        for key in keys:
            send = partial(
                c.post,
                f"{platform.url('intake')}/v1/complaints",
                json=PROBE,
                headers={"Idempotency-Key": key},
            )
            r = await eventually(
                send,
                lambda r: r.status_code in (200, 201),
                timeout=90,
                interval=0.5,
            )
            cid = r.json()["complaint_id"]
            driver.truth.cases[cid] = Case(cid, "walk_in", DISTRICTS[0])


@embedded_only("kills the embedded PostgreSQL server and starts it again")
async def test_postgres_killed_mid_stream_and_started_again(own_platform: Platform) -> None:
    platform = own_platform
    assert platform.pg is not None
    driver, stream = await _stream(platform, seed=21)
    assert _kill_postgres(platform.pg) >= 2  # the postmaster and at least one backend

    probes = await _probe_intake(platform, 3)
    for status, content_type, retry_after, seconds in probes:
        assert status == 503, probes
        assert content_type.startswith("application/problem+json"), probes
        assert retry_after.isdigit(), probes
        assert seconds < ANSWER_WITHIN_S, probes

    await platform.pg.start()
    # Exact totals also say the probes were refused, not half-filed: the KPI counts only
    # the stream's filings.
    await _settle(platform, driver, stream)


async def _dead_lettered_by_consumers(platform: Platform) -> dict[str, float]:
    """Per service, the records its consumer sent to the dead-letter topic since it
    started, by its own count: the topic itself starts again empty with a new broker."""
    out: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=10, headers=platform.auth_headers()) as c:
        for name in platform.service_names:
            text = (await c.get(f"{platform.url(name)}/metrics")).text
            for family in text_string_to_metric_families(text):
                if family.name == "damrong_consumer_dead_lettered":
                    out[name] = sum(sample.value for sample in family.samples)
    return out


@embedded_only("kills the embedded broker and starts it again, empty")
async def test_broker_killed_mid_stream_and_started_again_empty(tmp_path: Path) -> None:
    # The embedded broker keeps everything in memory: started again, it is an empty
    # broker under a new cluster id.  The running services notice by themselves (no
    # restart): the relays make its topics and publish every stored event again, the
    # consumers read it from the beginning and skip what they applied.  Filings go on
    # meanwhile: intake writes them with their outbox rows, the broker is not in the way.
    async with platform_for_tests(tmp_path / "platform", None) as platform:
        assert platform.broker is not None
        driver, stream = await _stream(platform, seed=24)
        first = platform.broker_epoch
        platform.broker.kill()
        await platform.broker.start()
        assert platform.broker_epoch != first
        await _settle(platform, driver, stream)
        # What the consumers dead-lettered before the kill went with the old broker's
        # topic: their own counts say nothing valid was dead-lettered at all.
        counts = await _dead_lettered_by_consumers(platform)
        assert set(counts) >= {"status", "kpi"} and set(counts.values()) == {0}, counts
        # Each relay re-fed the new broker, and each consumer read from it under its id.
        new = platform.broker_epoch
        for name in ("intake", "status"):
            assert any(e.get("broker") == new for e in _logged(platform, name, "outbox.refeed"))
        for name in ("status", "kpi"):
            noticed = _logged(platform, name, "consumer.broker", "consumer.broker_changed")
            assert any(e.get("broker") == new for e in noticed), name


def _logged(platform: Platform, name: str, *events: str) -> list[dict[str, object]]:
    """The entries of ``name``'s log that are one of ``events``."""
    out = []
    for line in platform.log_file(name).read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") in events:
                out.append(entry)
    return out


def _assignment(platform: Platform, name: str) -> list[int] | None:
    """The partitions ``name`` holds by its log (None before its first assignment)."""
    held: list[int] | None = None
    path = platform.log_file(name)
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else ():
        if '"consumer.partitions_' not in line:
            continue
        entry = json.loads(line)
        if entry["event"] == "consumer.partitions_assigned":
            held = entry["partitions"]
        elif entry["event"] == "consumer.partitions_revoked":
            held = []
    return held


async def test_a_consumer_frozen_past_its_session_timeout_is_replaced_and_rejoins(
    own_platform: Platform,
) -> None:
    # kpi frozen (SIGSTOP) mid-stream while a second replica joins its group: the broker
    # waits for the frozen member's session to expire, hands every partition to the new
    # one, and once thawed (SIGCONT) the first finds itself out of the group and joins
    # again.  Both then share the partitions, and the totals are exact.
    platform = own_platform
    every = await eventually(
        lambda: asyncio.sleep(0, _assignment(platform, "kpi")), bool, timeout=30
    )
    driver, stream = await _stream(platform, seed=22)
    first = platform.procs["kpi"]
    first.send_signal(signal.SIGSTOP)
    try:
        second = await platform.start_replica("kpi", wait=False)
        await eventually(
            lambda: asyncio.sleep(0, _assignment(platform, second)),
            lambda held: held == every,
            timeout=90,
        )
        assert first.poll() is None  # frozen, not dead: it was replaced, not restarted
    finally:
        first.send_signal(signal.SIGCONT)
    await eventually(
        lambda: asyncio.sleep(0, [_assignment(platform, "kpi"), _assignment(platform, second)]),
        lambda both: all(both) and sorted((both[0] or []) + (both[1] or [])) == every,
        timeout=90,
    )
    await _settle(platform, driver, stream)


def _mount_tmpfs(path: Path, size_mb: int) -> str | None:
    """Mount a tmpfs of ``size_mb`` at ``path``; the reason when this machine cannot."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")


def _unmount(path: Path) -> None:
    subprocess.run(["umount", "--lazy", str(path)], capture_output=True, check=False)


def _fill(path: Path) -> int:
    """Write ``path`` until its file system is full; the bytes written."""
    written = 0
    chunk = b"\0" * (1 << 20)
    with path.open("wb", buffering=0) as out:
        while True:
            try:
                written += out.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                return written


@embedded_only("fills the disk of the embedded PostgreSQL server")
async def test_postgres_disk_full_mid_stream_then_freed(tmp_path: Path) -> None:
    # PostgreSQL's data directory on a size-limited tmpfs of its own (logs and the rest
    # elsewhere), filled to the last byte mid-stream until intake's writes fail, then freed.
    pg_dir = tmp_path / "platform" / "pg"
    why = _mount_tmpfs(pg_dir, 256)
    if why is not None:
        pytest.skip(f"PostgreSQL's disk cannot be filled here: mounting a tmpfs failed ({why})")
    filler = pg_dir / "filler"
    try:
        async with platform_for_tests(tmp_path / "platform", None) as platform:
            assert platform.pg is not None
            driver, stream = await _stream(platform, seed=23)
            assert _fill(filler) > 0
            # Full: wait until a filing fails for want of space (not every write needs a
            # new page or WAL segment), each answer a prompt 503 problem+json.
            keys: list[str] = []
            refused = await eventually(
                lambda: _probe_intake(platform, 1, driver, keys),
                lambda probes: probes[0][0] == 503,
                timeout=120,
                interval=0.5,
            )
            _status, content_type, retry_after, seconds = refused[0]
            assert content_type.startswith("application/problem+json"), refused
            assert retry_after.isdigit() and seconds < ANSWER_WITHIN_S, refused
            filler.unlink()
            # A server that crashed for want of space is started again, as its service
            # manager would; one that rode it out is left alone.
            if not platform.pg.is_running():
                await platform.pg.start()
            await _send_again(platform, driver, keys)
            await _settle(platform, driver, stream)
    finally:
        _unmount(pg_dir)
