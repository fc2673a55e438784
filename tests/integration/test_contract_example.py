"""docs/events/consumer_example.py, run as a partner runs it (a process, confluent-kafka)
against the records intake and status publish: it applies exactly the genuine ones, in
order, refuses forged, altered, unlinked and out-of-order ones, and commits its offsets.

On the embedded broker (Tansu) a group join is answered only after about half the
member's session timeout (the second JoinGroup, after the MEMBER_ID_REQUIRED round, waited
23 s with librdkafka's default session.timeout.ms of 45 s, 3 s with 6 s): the example is
run with ``-X session.timeout.ms=6000 -X heartbeat.interval.ms=1000``, as our own
consumers are configured.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import uuid
from typing import Any

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.chain import Link, compute_hash
from shared.events import STATUS_SOURCE
from tests.integration.test_contract import DOCS, Platform, platform
from tests.signing import PUBLIC_KEYS, sign
from tests.waiting import eventually

pytestmark = pytest.mark.integration
__all__ = ["platform"]  # the module's own running intake and status

EXAMPLE = DOCS / "consumer_example.py"
TANSU_GROUP_SETTINGS = ("-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=1000")
Headers = list[tuple[str, bytes]]


async def run_example(bootstrap: str, topic: str, group: str) -> list[dict[str, Any]]:
    """The example's verdicts, one per record, until it has been idle for 5 s."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        "--bootstrap", bootstrap,
        "--topic", topic,
        "--group", group,
        "--keys", json.dumps(PUBLIC_KEYS),
        "--idle-exit", "5",
        *TANSU_GROUP_SETTINGS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


def _text(headers: Headers, name: str) -> str:
    return next(v.decode() for k, v in headers if k == name)


async def test_it_applies_exactly_the_genuine_records(platform: Platform) -> None:
    p = platform
    cid = await p.file()
    for action, kw in (("accept", {}), ("start", {}), ("close", {"reason": "resolved"})):
        await p.move(cid, action, **kw)
    genuine = [r for r in await p.records(p.topic) if r.key == cid.encode()]
    last = max(genuine, key=lambda r: r.offset)
    await p.forge(list(last.headers), last.value)

    group = f"partner-{uuid.uuid4().hex[:8]}"
    verdicts = await run_example(p.bootstrap, p.topic, group)
    records = await p.records(p.topic)
    assert sorted((v["partition"], v["offset"]) for v in verdicts) == sorted(
        (r.partition, r.offset) for r in records
    )  # each record once
    by_position = {(v["partition"], v["offset"]): v for v in verdicts}
    for rec in records:
        verdict = by_position[(rec.partition, rec.offset)]
        if _text(list(rec.headers), "ce_id") in p.forged:
            assert verdict["verdict"] == "refused" and "bad signature" in verdict["reason"]
        else:
            assert verdict["verdict"] == "applied", verdict
    mine = [v for v in verdicts if v.get("subject") == cid and v["verdict"] == "applied"]
    assert [v["version"] for v in mine] == [1, 2, 3, 4]
    # Its offsets were committed: the same group reads nothing again.
    assert await run_example(p.bootstrap, p.topic, group) == []


def _forked(cid: str, version: int) -> tuple[Headers, bytes]:
    """A validly signed event of status at ``version`` that does not link to the chain."""
    now = dt.datetime.now(dt.UTC)
    data = {"actor": "someone", "note": None, "reason": None}
    link = Link(
        uuid.UUID(cid), version, uuid.uuid4(), STATUS_SOURCE,
        "th.go.dopa.damrong.case.reopened.v1", now, now, None, data, "1" * 64, None,
    )  # fmt: skip
    text = now.isoformat()
    headers = [
        ("ce_id", str(link.event_id)), ("ce_source", STATUS_SOURCE), ("ce_type", link.type),
        ("ce_specversion", "1.0"), ("ce_time", text), ("ce_subject", cid),
        ("ce_version", str(version)), ("ce_recordedtime", text),
        ("ce_prevhash", "1" * 64), ("ce_hash", compute_hash(link)),
    ]  # fmt: skip
    value = orjson.dumps(data)
    return sign([(k, v.encode()) for k, v in headers], value), value


async def test_it_refuses_what_breaks_the_chain(platform: Platform) -> None:
    p = platform
    cid = await p.file()
    for action, kw in (("accept", {}), ("start", {}), ("close", {"reason": "resolved"})):
        await p.move(cid, action, **kw)
    mine = await eventually(  # status's relay publishes after the moves have answered
        lambda: p.records(p.topic),
        lambda recs: len([r for r in recs if r.key == cid.encode()]) == 4,
    )
    case = sorted(
        (r for r in mine if r.key == cid.encode()),
        key=lambda r: int(_text(list(r.headers), "ce_version")),
    )
    v1, v2, v3, v4 = ((list(r.headers), r.value) for r in case)
    altered = (v3[0], v3[1].replace(b'"actor":"', b'"actor":"x'))
    topic = f"{p.topic}.partner.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=p.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    sent = [v1, v2, v2, altered, v4, v3, v4, _forked(cid, 5)]
    for headers, value in sent:
        await p.producer.send_and_wait(topic, value, key=cid.encode(), headers=headers)
    assert len(await p.records(topic)) == len(sent)

    verdicts = await run_example(p.bootstrap, topic, f"partner-{uuid.uuid4().hex[:8]}")
    said = [(v["verdict"], v.get("reason", "").split(":")[0]) for v in verdicts]
    assert said == [
        ("applied", ""),
        ("applied", ""),
        ("duplicate", ""),
        ("refused", "content does not match its hash"),
        ("refused", "gap"),
        ("applied", ""),
        ("applied", ""),
        ("refused", "link"),
    ]
