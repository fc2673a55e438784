"""A consumer on a tiny projection whose database can be made to fail on cue.

``applied`` is the projection, one row per event note; a plain INSERT (no ON CONFLICT), so
an event applied twice stops the consumer with a unique violation instead of hiding.  A
trigger on it injects faults when the row of ``fault.at_note`` goes in:

* ``sqlstate``: raise that SQLSTATE, ``times`` times in all (counted by the sequence
  ``fault_fired``, which a rolled-back transaction does not rewind);
* ``gate``: first wait for the advisory lock ``GATE`` that a test may hold, so that the
  consumer's transaction is stuck mid-batch (lock and statement timeouts fire there, and
  ``pg_terminate_backend`` finds it there).

Notes starting with ``bad`` are refused as PoisonEvent; with ``boom``, the handler has a
bug (KeyError) unless ``rig.fixed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.batches import PoisonEvent
from shared.config import Settings
from shared.consumer import BATCH_DEADLINE_S, EventConsumer
from shared.db import create_pool, migrate
from shared.dbtypes import Conn
from shared.events import Envelope
from shared.kafka import ensure_topics, make_producer
from tests.events import accepted as event
from tests.signing import signed_record
from tests.waiting import eventually

SCHEMA = "ctest"
APP = f"damrong-{SCHEMA}"  # the application_name of the consumer's pool (shared.db)
GATE = 7001

MIGRATION = f"""
CREATE TABLE applied (note text PRIMARY KEY);
CREATE TABLE fault (at_note text PRIMARY KEY, sqlstate text, times int NOT NULL DEFAULT 1,
                    gate boolean NOT NULL DEFAULT false);
CREATE SEQUENCE fault_fired;
CREATE FUNCTION inject() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE f fault;
BEGIN
  SELECT * INTO f FROM fault WHERE at_note = NEW.note;
  IF FOUND THEN
    IF f.gate THEN PERFORM pg_advisory_xact_lock({GATE}); END IF;
    IF f.sqlstate IS NOT NULL AND nextval('fault_fired') <= f.times THEN
      RAISE EXCEPTION 'injected fault %', f.sqlstate USING ERRCODE = f.sqlstate;
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER inject BEFORE INSERT ON applied FOR EACH ROW EXECUTE FUNCTION inject();
"""


def notes(n: int, prefix: str = "ok") -> list[str]:
    tag = uuid.uuid4().hex[:6]
    return [f"{prefix}-{tag}-{i}" for i in range(n)]


class Rig:
    """One consumer (its own group) on ``settings``' topic and database."""

    def __init__(
        self, settings: Settings, *, batch: bool = True, pool_dsn: str | None = None
    ) -> None:
        self.settings = settings
        self.pool_dsn = pool_dsn or settings.database_url  # where the consumer connects
        self.batch = batch
        self.timeouts = {"lock_timeout": "0", "statement_timeout": "0"}
        self.fixed = False  # the bug of ``boom`` notes is fixed
        self.batch_deadline_s = BATCH_DEADLINE_S
        self.group = f"g-{uuid.uuid4().hex[:6]}"
        self.produced = 0
        self.pool: asyncpg.Pool
        self.admin: asyncpg.Connection  # the test's own connection (not the pool's app)
        self.producer: AIOKafkaProducer
        self.consumer: EventConsumer
        self.task: asyncio.Task[None] | None = None

    async def open(self, migrations: Path) -> None:
        (migrations / "001.sql").write_text(MIGRATION)
        self.pool = await create_pool(self.pool_dsn, SCHEMA, max_size=3)
        await migrate(self.pool, SCHEMA, migrations)
        self.admin = await asyncpg.connect(
            self.settings.database_url, server_settings={"search_path": SCHEMA}
        )
        await ensure_topics(self.settings)
        self.producer = make_producer(self.settings)
        await self.producer.start()

    def start(self) -> None:
        self.consumer = EventConsumer(
            self.pool,
            self.producer,
            self.settings,
            self.group,
            self.handle,
            batch_handler=self.handle_batch if self.batch else None,
            batch_deadline_s=self.batch_deadline_s,
        )
        self.task = asyncio.create_task(self.consumer.run())

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            await self.consumer.stop()
        await self.producer.stop()
        await self.admin.close()
        await self.pool.close()

    async def _check(self, conn: Conn, note: str) -> None:
        if note.startswith("bad"):
            raise PoisonEvent(f"refused: {note}")
        if note.startswith("boom") and not self.fixed:
            raise KeyError(note)

    async def _limits(self, conn: Conn) -> None:
        await conn.execute(
            "SELECT set_config('lock_timeout', $1, true), "
            "set_config('statement_timeout', $2, true)",
            self.timeouts["lock_timeout"],
            self.timeouts["statement_timeout"],
        )

    async def handle(self, conn: Conn, env: Envelope) -> None:
        note = env.data.note or ""  # type: ignore[union-attr]
        await self._check(conn, note)
        await self._limits(conn)
        await conn.execute("INSERT INTO applied VALUES ($1)", note)

    async def handle_batch(self, conn: Conn, envs: list[Envelope]) -> None:
        batch = [env.data.note or "" for env in envs]  # type: ignore[union-attr]
        for note in batch:
            await self._check(conn, note)
        await self._limits(conn)
        await conn.execute("INSERT INTO applied SELECT unnest($1::text[])", batch)

    async def arm(
        self, at_note: str, sqlstate: str | None = None, *, times: int = 1, gate: bool = False
    ) -> None:
        await self.admin.execute("ALTER SEQUENCE fault_fired RESTART")
        await self.admin.execute(
            "INSERT INTO fault VALUES ($1, $2, $3, $4)", at_note, sqlstate, times, gate
        )

    async def fired(self) -> int:
        return await self.admin.fetchval(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM fault_fired"
        )

    async def send(self, batch: list[str]) -> None:
        """Produce one record per note, in one go (one fetch for the consumer, mostly)."""
        sent = []
        for note in batch:
            key, headers, value = signed_record(event(note))
            sent.append(
                await self.producer.send(
                    self.settings.events_topic, value, key=key, headers=headers
                )
            )
        await asyncio.gather(*sent)
        self.produced += len(batch)

    async def send_raw(self, value: bytes) -> int:
        meta = await self.producer.send_and_wait(self.settings.events_topic, value, key=b"x")
        self.produced += 1
        return meta.offset

    async def applied(self, batch: list[str] | None = None) -> int:
        if batch is None:
            return await self.admin.fetchval("SELECT count(*) FROM applied")
        return await self.admin.fetchval("SELECT count(*) FROM applied WHERE note = ANY($1)", batch)

    async def stored_offset(self) -> int | None:
        return await self.admin.fetchval(
            "SELECT next_offset FROM consumer_offsets WHERE group_id = $1", self.group
        )

    async def state(self, batch: list[str]) -> dict[str, Any]:
        """What a test waits on: its notes applied, dead letters, whether the task ended."""
        assert self.task is not None
        return {
            "applied": await self.applied(batch),
            "dead": self.consumer.dead_lettered,
            "done": self.task.done(),
            "retries": self.consumer.retries,
        }

    async def settled(self, batch: list[str]) -> dict[str, Any]:
        """The state once ``batch`` is all applied, or something went to the dead-letter
        topic, or the consumer stopped (fails after 30 s)."""
        dead = self.consumer.dead_lettered
        return await eventually(
            lambda: self.state(batch),
            lambda s: s["applied"] == len(batch) or s["dead"] > dead or s["done"],
        )

    async def waiting_at_gate(self) -> int:
        return await self.admin.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE NOT l.granted AND l.locktype = 'advisory' AND a.application_name = $1 "
            "AND a.datname = current_database()",
            APP,
        )

    async def consumer_backends(self) -> int:
        return await self.admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()",
            APP,
        )

    async def terminate_consumer_connections(self) -> int:
        return await self.admin.fetchval(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()) AS t",
            APP,
        )


async def dead_letters(settings: Settings, n: int) -> list[dict[str, str]]:
    """The first ``n`` records of the dead-letter topic: headers decoded, and the value as
    ``value``."""
    c = AIOKafkaConsumer(
        settings.dlq_topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await c.start()
    deadline = time.monotonic() + 30
    try:
        out: list[dict[str, str]] = []
        while len(out) < n:
            assert time.monotonic() < deadline, f"{len(out)} dead letters, not {n}"
            for records in (await c.getmany(timeout_ms=1000)).values():
                out += [
                    {
                        **{k: v.decode() for k, v in r.headers},
                        "value": (r.value or b"").decode(errors="replace"),
                    }
                    for r in records
                ]
        return out[:n]
    finally:
        await c.stop()


class LingeringProxy:
    """A TCP hop to PostgreSQL that, when the server closes a connection, keeps the
    client's side open for ``linger`` seconds, or until the client writes again: a
    half-open connection, as behind a NAT, a load balancer or a pooler.  The client has
    then read the server's last words (the FATAL of ``pg_terminate_backend``) while its
    socket still looks open."""

    def __init__(self, dsn: str, linger: float = 5.0) -> None:
        self._target = urlsplit(dsn)
        self._linger = linger
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Listen; return ``dsn`` with the proxy's address in place of the server's."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        netloc = self._target.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{port}"
        return self._target._replace(
            netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host
        ).geturl()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        server_r, server_w = await asyncio.open_connection(self._target.hostname, self._target.port)
        server_gone = asyncio.Event()
        client_done = asyncio.Event()  # it hung up, or wrote after the server had left

        async def upstream() -> None:
            try:
                while data := await client_r.read(1 << 16):
                    if server_gone.is_set():
                        return
                    server_w.write(data)
                    await server_w.drain()
            finally:
                client_done.set()
                server_w.close()

        async def downstream() -> None:
            while data := await server_r.read(1 << 16):
                client_w.write(data)
                await client_w.drain()
            server_gone.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(client_done.wait(), self._linger)
            client_w.close()

        try:
            await asyncio.gather(upstream(), downstream(), return_exceptions=True)
        finally:
            client_w.close()
            server_w.close()
            self._tasks.discard(task)
