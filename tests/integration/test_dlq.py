"""`damrong dlq list | show | replay` on a real broker and database, run as cron would (no
terminal, 80 columns): two consumer groups dead-letter a valid event whose handler refuses
it for now, an unsigned one and a record that is no event at all; the operator lists and
filters them, reads one whole, and after the fix replays them: the valid event applies
once in each group, the others come back, and replaying again changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
import pytest

from shared.config import Settings
from shared.consumer import EventConsumer, PoisonEvent
from shared.db import create_pool, migrate
from shared.dbtypes import Conn
from shared.envelope_codec import to_record
from shared.events import CaseAccepted, Envelope
from shared.kafka import ensure_topics, make_producer
from shared.topic_reader import read_topic
from tests.cli import Ran, damrong
from tests.events import accepted as _event
from tests.signing import signed_record
from tests.waiting import eventually

pytestmark = pytest.mark.integration

REFUSAL = "agency code PEA-9 is not in the code list yet"


@dataclass
class Rig:
    settings: Settings
    pool: asyncpg.Pool
    consumers: dict[str, EventConsumer]
    refused: set[uuid.UUID]  # cases the handler refuses until the "fix" empties it

    async def cli(self, *args: str) -> Ran:
        s = self.settings
        return await damrong(
            "dlq",
            *args,
            env={
                "KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
                "EVENTS_TOPIC": s.events_topic,
                "DLQ_TOPIC": s.dlq_topic,
                "EVENT_PUBLIC_KEYS": json.dumps(s.event_public_keys),
            },
        )

    async def rows(self) -> list[tuple[str, uuid.UUID, str]]:
        return [
            tuple(r)
            for r in await self.pool.fetch(
                "SELECT grp, complaint_id, note FROM applied ORDER BY grp, note"
            )
        ]

    async def consumed(self, n: int) -> None:
        """Until every group has applied or dead-lettered ``n`` records in all."""

        async def counts() -> list[int]:
            return [c.applied + c.dead_lettered for c in self.consumers.values()]

        await eventually(counts, lambda got: got == [n] * len(got), timeout=60)


@pytest.fixture
async def rig(
    make_settings: Callable[..., Settings], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Rig]:
    settings = make_settings(topic_partitions=2)
    pool = await create_pool(settings.database_url, "dlqtest")
    migrations = tmp_path_factory.mktemp("mig")
    (migrations / "001.sql").write_text(
        "CREATE TABLE applied (grp text, complaint_id uuid, version int, note text, "
        "PRIMARY KEY (grp, complaint_id, version));"
    )
    await migrate(pool, "dlqtest", migrations)
    await ensure_topics(settings)
    refused: set[uuid.UUID] = set()
    producer = make_producer(settings)
    await producer.start()
    consumers: dict[str, EventConsumer] = {}
    for group in ("dlqtest-status", "dlqtest-kpi"):

        async def handle(conn: Conn, env: Envelope, group: str = group) -> None:
            if env.complaint_id in refused:
                raise PoisonEvent(REFUSAL)
            assert isinstance(env.data, CaseAccepted)  # the one kind this test publishes
            # Skips what it applied already, as every projection does.
            await conn.execute(
                "INSERT INTO applied VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                group,
                env.complaint_id,
                env.version,
                env.data.note,
            )

        consumers[group] = EventConsumer(pool, producer, settings, group, handle)
    tasks = [asyncio.create_task(c.run()) for c in consumers.values()]
    try:
        yield Rig(settings, pool, consumers, refused)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in consumers.values():
            await c.stop()
        await producer.stop()
        await pool.close()


async def test_list_show_and_replay_the_dead_letters(rig: Rig) -> None:
    s = rig.settings
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    waiting, fine, unsigned = _event("waits for the code list"), _event("fine"), _event("x")
    rig.refused.add(waiting.complaint_id)
    producer = make_producer(s)
    await producer.start()
    try:
        for key, headers, value in (
            signed_record(waiting),
            signed_record(fine),
            to_record(unsigned),
            (b"junk", [], b"not an event"),
        ):
            await producer.send_and_wait(s.events_topic, value, key=key, headers=headers)
    finally:
        await producer.stop()
    await rig.consumed(4)
    assert [(g, note) for g, _c, note in await rig.rows()] == [
        ("dlqtest-kpi", "fine"),
        ("dlqtest-status", "fine"),
    ]

    # list: one whole line per dead letter, each group's copy apart.
    ran = await rig.cli("list")
    assert ran.code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert len(lines) == 6 and "6 dead letters" in ran.stderr
    mine = [line for line in lines if str(waiting.complaint_id) in line]
    assert len(mine) == 2 and all(
        REFUSAL in line and "case.accepted.v1  v2" in line for line in mine
    )
    assert {line.split()[2] for line in mine} == {"dlqtest-status", "dlqtest-kpi"}

    listed = [json.loads(line) for line in (await rig.cli("list", "--json")).stdout.splitlines()]
    assert len(listed) == 6 and {o["kind"] for o in listed} == {"dead_letter"}
    [first, _] = [o for o in listed if o["complaint_id"] == str(waiting.complaint_id)]
    assert (first["version"], first["error"]) == ("2", REFUSAL)
    assert first["origin"].startswith(f"{s.events_topic}/")
    assert first["type"] == "th.go.dopa.damrong.case.accepted.v1"

    async def count(*filters: str) -> int:
        got = await rig.cli("list", "--json", *filters)
        assert got.code == 0, got.stderr
        return len(got.stdout.splitlines())

    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    bangkok_start = started.astimezone(dt.timezone(dt.timedelta(hours=7)))
    assert await count("--case", str(waiting.complaint_id)) == 2
    assert await count("--group", "dlqtest-kpi") == 3
    assert await count("--error", "UNSIGNED") == 2
    assert await count("--error", "code list", "--group", "dlqtest-status") == 1
    assert await count("--since", later) == 0
    assert await count("--until", "2000-01-01") == 0
    # A time without a zone is Bangkok time.
    assert await count("--since", bangkok_start.replace(tzinfo=None).isoformat()) == 6
    assert await count("--at", first["position"]) == 1

    # show: everything, the payload as JSON.
    ran = await rig.cli("show", first["position"])
    assert ran.code == 0, ran.stderr
    assert f"error          {REFUSAL}" in ran.stdout
    assert f"ce_id: {waiting.event_id}" in ran.stdout and "ce_signature: " in ran.stdout
    assert '"note": "waits for the code list"' in ran.stdout
    shown = json.loads((await rig.cli("show", first["position"], "--json")).stdout)
    assert shown["payload"] == {"actor": "t", "note": "waits for the code list"}
    assert ["dlq_group", first["group"]] in shown["headers"]
    missing = await rig.cli("show", "0/999")
    assert (missing.code, missing.stdout) == (1, "") and "no dead letter at 0/999" in missing.stderr

    # A dry run says what it would do and publishes nothing.
    ran = await rig.cli("replay", "--dry-run")
    assert ran.code == 0, ran.stderr
    assert "would replay 3 records" in ran.stdout and "from 6 dead letters" in ran.stdout
    assert "warning: 2 of them are not genuine events" in ran.stdout
    assert len([r async for r in read_topic(s)]) == 4

    # The fix, then the replay: each distinct record once; the waiting event applies.
    rig.refused.clear()
    ran = await rig.cli("replay", "--json")
    assert ran.code == 0, ran.stderr
    *records, totals = [json.loads(line) for line in ran.stdout.splitlines()]
    assert (totals["selected"], totals["records"], totals["published"], totals["refused"]) == (
        6,
        3,
        3,
        2,
    )
    by_case = {r["complaint_id"]: r for r in records}
    assert by_case[str(waiting.complaint_id)]["problem"] is None
    assert "bad signature: unsigned" in by_case[str(unsigned.complaint_id)]["problem"]
    await rig.consumed(4 + 3)
    applied = await rig.rows()
    assert sorted((g, note) for g, _c, note in applied) == [
        ("dlqtest-kpi", "fine"),
        ("dlqtest-kpi", "waits for the code list"),
        ("dlqtest-status", "fine"),
        ("dlqtest-status", "waits for the code list"),
    ]
    assert await count() == 6 + 4  # the unsigned and the junk are back, once per group

    # Again: the same 3 records (their new copies are the same bytes), and nothing moves.
    ran = await rig.cli("replay")
    assert ran.code == 0, ran.stderr
    assert "replayed 3 records" in ran.stdout and "from 10 dead letters" in ran.stdout
    await rig.consumed(4 + 3 + 3)
    assert await rig.rows() == applied
    assert await count("--case", str(waiting.complaint_id)) == 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_broker_missing_topic_and_bad_filters_say_so(
    infra: dict[str, str],
) -> None:
    ran = await damrong(
        "dlq", "list", env={"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_closed_port()}"}
    )
    assert ran.code == 2 and "cannot reach the broker" in ran.stderr, ran
    assert "Unclosed" not in ran.stderr and ran.stdout == ""
    ran = await damrong(
        "dlq",
        "replay",
        env={
            "KAFKA_BOOTSTRAP_SERVERS": infra["kafka_bootstrap"],
            "DLQ_TOPIC": f"none.{uuid.uuid4().hex}",
        },
    )
    assert ran.code == 2 and "does not exist" in ran.stderr, ran
    ran = await damrong(
        "dlq",
        "list",
        "--since",
        "yesterday",
        env={"KAFKA_BOOTSTRAP_SERVERS": infra["kafka_bootstrap"]},
    )
    assert ran.code == 1 and "'yesterday' is not a date or time" in ran.stderr, ran
