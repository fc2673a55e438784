"""The rebuild's fast path (bulk load) ends with exactly the tables of the careful path
(every record through ``handle_batch``), row by row, for arrivals with duplicates,
out-of-order versions, gaps, poison, undecodable and forged records."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from services.kpi.domain import cases as domain
from services.kpi.rebuild.usecases import rebuild
from shared.config import Settings
from shared.envelope_codec import to_record
from shared.events import CaseForwarded, ComplaintFiled, Envelope
from shared.kafka import ensure_topics
from shared.signed_records import RecordSigner
from shared.signing import new_private_key
from tests.signing import sign
from tests.unit.kpi import scenario, scenario_asof
from tests.unit.test_upcasting import as_v1_record


def _arrivals(rng: random.Random) -> tuple[list[tuple[bytes, Any, bytes]], int]:
    """Both scenarios' events, some published again (a new event id, half of them with
    other content: the first copy must win), shuffled so that later versions often come
    first; some times in +07:00, some forwardings in their v1 schema.  Plus a case whose
    v2 never comes (v3 waits), one with no filing, a poison event, an undecodable record
    and, first of all, three forged copies of events (unsigned, signed by a key not
    configured, altered after signing).  Returns the records and how many distinct
    (complaint_id, version) they hold."""
    envs = [e for es in (*scenario.build().values(), *scenario_asof.build().values()) for e in es]
    gap, orphan = uuid.uuid4(), uuid.uuid4()
    envs += [
        scenario.filed(gap, "2026-01-10T03:00", "5001", "web", "land"),
        scenario.step(gap, 3, "closed", "2026-01-12T03:00"),
        scenario.step(orphan, 2, "accepted", "2026-01-12T03:00"),
    ]
    again = []
    for e in rng.choices(envs, k=len(envs)):
        copy = e.model_copy(update={"event_id": uuid.uuid4()})
        if rng.random() < 0.5:  # a conflicting copy: other times, another district
            later = e.occurred_at.replace(year=e.occurred_at.year + 1)
            data = e.data
            if isinstance(data, ComplaintFiled):
                data = data.model_copy(update={"district_code": "9001", "province_code": "90"})
            copy = copy.model_copy(update={"occurred_at": later, "data": data})
        again.append(copy)
    order = envs + again
    rng.shuffle(order)
    records = [to_record(_in_bangkok(e) if rng.random() < 0.5 else e) for e in order]
    # Forwardings written before case.forwarded.v2 are upcast alike on both paths.
    records = [
        as_v1_record(e) if isinstance(e.data, CaseForwarded) and rng.random() < 0.5 else r
        for e, r in zip(order, records, strict=True)
    ]
    poison = scenario.step(uuid.uuid4(), 2, "closed", "2026-01-12T03:00")
    records.insert(5, to_record(poison.model_copy(update={"version": 1})))
    records.insert(9, (b"k", [("ce_specversion", b"1.0")], b"{}"))
    records = [
        (k, sign(h, v) if any(n == "ce_source" for n, _ in h) else h, v) for k, h, v in records
    ]
    filings = [e for e in envs if isinstance(e.data, ComplaintFiled)]
    return _forged(filings[:3]) + records, len(envs)


def _forged(envs: list[Envelope]) -> list[tuple[bytes, Any, bytes]]:
    """Other content for three existing filings, arriving before them: had it counted,
    the first copy would have won."""
    copies = [
        to_record(
            e.model_copy(
                update={"event_id": uuid.uuid4(), "occurred_at": e.occurred_at.replace(year=2030)}
            )
        )
        for e in envs
    ]
    (k0, h0, v0), (k1, h1, v1), (k2, h2, v2) = copies
    stranger = RecordSigner(envs[1].source, new_private_key())
    altered = orjson.dumps({**orjson.loads(v2), "district_code": "9001", "province_code": "90"})
    return [(k0, h0, v0), (k1, stranger.sign(h1, v1), v1), (k2, sign(h2, v2), altered)]


def _in_bangkok(env: Envelope) -> Envelope:
    bkk = domain.BANGKOK
    return env.model_copy(
        update={
            "occurred_at": env.occurred_at.astimezone(bkk),
            "recorded_at": env.recorded_at.astimezone(bkk),
        }
    )


async def _publish(settings: Settings, records: list[tuple[bytes, Any, bytes]]) -> None:
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for key, headers, value in records:  # one at a time: each case's order holds
            await producer.send_and_wait(settings.events_topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def _tables(settings: Settings) -> list[list[dict[str, Any]]]:
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": "kpi"})
    try:
        return [
            [dict(r) for r in await conn.fetch(sql)]
            for sql in (
                "SELECT * FROM events ORDER BY complaint_id, version",
                "SELECT * FROM cases ORDER BY complaint_id",
                "SELECT * FROM case_intervals ORDER BY complaint_id, recorded_from, valid_from",
            )
        ]
    finally:
        await conn.close()


@pytest.mark.parametrize("processes", [1, 3], ids=["in this process", "3 processes"])
async def test_fast_rebuild_equals_handle_batch_rebuild(
    make_settings: Callable[..., Settings], processes: int
) -> None:
    # With processes, each loads the cases of its own partitions (4 dealt out to 3:
    # one takes two) side by side into the same tables.
    settings = make_settings()
    records, distinct = _arrivals(random.Random(3))
    await _publish(settings, records)

    careful = await rebuild(settings, batch=5, fast=False)
    want = await _tables(settings)
    loaded: list[tuple[int, int | None]] = []
    fast = await rebuild(
        settings,
        keep_old=True,
        processes=processes,
        progress=lambda read, total: loaded.append((read, total)),
    )
    if processes > 1:  # the processes' counts reach the progress bar
        assert loaded and loaded[-1] == (len(records), len(records))
    got = await _tables(settings)
    # The keys and indexes the fast path dropped for the load are back, as migrated.
    conn = await asyncpg.connect(settings.database_url)
    try:
        defs = {
            schema: sorted(
                (r["tablename"], r["indexname"], r["indexdef"].replace(f"{schema}.", "S."))
                for r in await conn.fetch("SELECT * FROM pg_indexes WHERE schemaname = $1", schema)
            )
            for schema in ("kpi", fast.old_schema)
        }
        await conn.execute(f'DROP SCHEMA "{fast.old_schema}" CASCADE')
    finally:
        await conn.close()
    assert defs["kpi"] == defs[fast.old_schema]
    assert {name for _t, name, _d in defs["kpi"]} >= {
        "events_pkey",
        "cases_pkey",
        "cases_fy_area",
        "case_intervals_pkey",
        "case_intervals_now",
    }

    assert (careful.undecodable, careful.refused) == (fast.undecodable, fast.refused) == (4, 1)
    assert careful.events == fast.events == len(records) - 5
    events, cases, intervals = got
    assert len(events) == distinct
    # 8 + 6 scenario cases and the one with a gap; the orphan v2 has no case.
    assert len(cases) == 15
    gap = [c for c in cases if c["applied_version"] == 1 and c["status"] == "filed"]
    assert any(c["received_at"].isoformat().startswith("2026-01-10") for c in gap)
    for name, w, g in zip(("events", "cases", "case_intervals"), want, got, strict=True):
        assert len(g) == len(w), name
        for i, (wr, gr) in enumerate(zip(w, g, strict=True)):
            assert gr == wr, (name, i)
    assert intervals  # compared above; the fold produced history rows
