"""The embedded PostgreSQL and broker start, serve real clients, and stop without leftovers."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import asyncpg
import psutil
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from damrong.embedded import EmbeddedBroker, EmbeddedPostgres, Platform, free_port
from damrong.embedded.postgres import RUN_AS
from shared.kafka import cluster_id
from tests.infra import embedded_only

pytestmark = [pytest.mark.integration, embedded_only("tests the embedded servers")]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_postgres_and_broker_round_trip(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg", free_port())
    broker = EmbeddedBroker(free_port(), log_file=tmp_path / "broker.log")
    await pg.start()
    try:
        await broker.start()
        conn = await asyncpg.connect(pg.url)
        try:
            assert await conn.fetchval("SELECT current_database()") == "damrong"
            assert await conn.fetchval("SELECT 40 + 2") == 42
        finally:
            await conn.close()

        topic = f"t-{uuid.uuid4().hex[:8]}"
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"hello", key=b"k1")
            # The broker is told apart by the id it was started with.
            assert await cluster_id(producer.client) == broker.epoch
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=broker.bootstrap,
            group_id="g",
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
        )
        await consumer.start()
        try:
            msg = await consumer.getone()
            assert (msg.key, msg.value) == (b"k1", b"hello")
        finally:
            await consumer.stop()
    finally:
        pg_pid, broker_pid = pg.pid, broker.pid
        await broker.stop()
        await pg.stop()
    assert pg_pid is not None and broker_pid is not None
    assert _gone(pg_pid) and _gone(broker_pid)
    assert not (tmp_path / "pg" / "postmaster.pid").exists()
    assert broker.epoch and uuid.UUID(broker.epoch)


async def test_postgres_survives_killed_run(tmp_path: Path) -> None:
    """A SIGKILLed postmaster leaves postmaster.pid behind; the next start copes and keeps data."""
    port = free_port()
    pg = EmbeddedPostgres(tmp_path / "pg", port)
    await pg.start()
    conn = await asyncpg.connect(pg.url)
    await conn.execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
    await conn.close()
    assert pg.proc is not None
    pg.proc.kill()
    pg.proc.wait()
    pg.proc = None
    assert (tmp_path / "pg" / "postmaster.pid").exists()

    again = EmbeddedPostgres(tmp_path / "pg", port)
    await again.start()
    try:
        conn = await asyncpg.connect(again.url)
        assert await conn.fetchval("SELECT v FROM kept") == 7
        await conn.close()
    finally:
        await again.stop()


async def test_postgres_starts_when_its_lock_files_name_a_reused_pid(tmp_path: Path) -> None:
    """After a crash the dead server's pid may belong to another program by the time we
    restart (a fresh container counts pids from 1 again).  Postgres would take it for its
    predecessor; the launcher knows better and removes both lock files."""
    port = free_port()
    pg = EmbeddedPostgres(tmp_path / "pg", port)
    await pg.start()
    assert pg.proc is not None
    pg.proc.kill()
    pg.proc.wait()
    pg.proc = None
    locks = [tmp_path / "pg" / "postmaster.pid", *(tmp_path / "pg").glob(".s.PGSQL.*.lock")]
    assert len(locks) == 2
    # Live, no postmaster, and of the server's own user: a process of another user would
    # fail postgres's kill(pid, 0) with EPERM, which it already takes for "not mine".
    other = await asyncio.create_subprocess_exec(
        "sleep", "60", user=RUN_AS if os.geteuid() == 0 else None
    )
    try:
        for lock in locks:
            lines = lock.read_text().split("\n")
            lock.write_text("\n".join([str(other.pid), *lines[1:]]))
        again = EmbeddedPostgres(tmp_path / "pg", port)
        try:
            await again.start()
            conn = await asyncpg.connect(again.url)
            assert await conn.fetchval("SELECT 1") == 1
            await conn.close()
        finally:
            await again.stop()
        assert other.returncode is None  # left alone
    finally:
        other.kill()
        await other.wait()


FAKE_SERVICE = Path(__file__).with_name("fake_service.py")


async def test_platform_kill_and_restart_service(tmp_path: Path) -> None:
    """Platform with stand-in services: health wait, kill -9, death detection, restart."""
    commands = {n: [sys.executable, str(FAKE_SERVICE), n] for n in ("intake", "status", "kpi")}
    platform = Platform.for_tests(tmp_path / "data", commands=commands, health_timeout=20)
    async with platform:
        assert platform.broker_epoch
        env = platform.service_env()
        assert env["DATABASE_URL"] == platform.database_url
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == platform.kafka_bootstrap
        assert platform.dead_children() == []

        pid = platform.procs["status"].pid
        platform.procs["status"].send_signal(signal.SIGKILL)  # an unexpected crash...
        platform.procs["status"].wait()
        assert platform.dead_children() == [("status", -signal.SIGKILL)]  # ...is noticed
        platform.kill_service("status")  # acknowledged: no longer counted as dead
        assert platform.dead_children() == [] and _gone(pid)

        await platform.start_service("status")
        assert platform.procs["status"].poll() is None
        assert platform.pg is not None and platform.broker is not None  # embedded: both ours
        pids = [p.pid for p in platform.procs.values()]
        infra = [platform.pg.pid, platform.broker.pid]
    assert all(p is not None and _gone(p) for p in pids + infra)
    assert platform.log_file("status").exists()
