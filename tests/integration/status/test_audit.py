"""Auditing the event log: hash chains verified from the database and the topic, tampering
found, cases as they stood, and the replayed report equal to the live one."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

import asyncpg
import pytest

from damrong.cli.audit import Audit, Source, replay, verify
from shared.chain import GENESIS, seal
from shared.codes import ClosureReason
from shared.envelope_codec import to_record
from shared.events import CaseClosed, Envelope
from tests.auth import bearer, token
from tests.cli import damrong
from tests.integration.status.conftest import StatusService
from tests.unit.status.factories import T0, filed
from tests.waiting import eventually

pytestmark = pytest.mark.integration

DUE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date().isoformat()


def _district() -> str:
    # Fresh per test: the package's tests share one status service and database.
    return str(random.randint(9000, 9999))


async def _case(
    svc: StatusService, district: str, at: dt.datetime, moves: list[tuple[str, dict[str, Any]]]
) -> uuid.UUID:
    """A case filed in ``district`` at ``at`` and moved through ``moves``."""
    env = filed(at=at)
    data = env.data.model_copy(update={"district_code": district, "province_code": district[:2]})
    env = seal(Envelope(**{**env.model_dump(exclude={"data", "hash"}), "data": data}), GENESIS)
    await svc.publish(env)
    await svc.wait_for_case(env.complaint_id)
    for action, kw in moves:
        r = await svc.client.post(
            f"/v1/complaints/{env.complaint_id}/transitions", json={"action": action, **kw}
        )
        assert r.status_code == 200, r.text
    return env.complaint_id


async def _clean(svc: StatusService, district: str) -> Audit:
    """The audit once the relay has published everything (then nothing may differ)."""

    async def audit() -> Audit:
        return await verify(svc.settings, district, Source.both)

    return await eventually(audit, lambda a: not a.breaks, timeout=20)


async def test_verify_finds_an_edited_event_and_a_missing_one(
    status_service: StatusService,
) -> None:
    svc = status_service
    district = _district()
    moves = [("accept", {"note": "รับเรื่อง"}), ("start", {}), ("close", {"reason": "resolved"})]
    edited, deleted, intact = [await _case(svc, district, T0, moves) for _ in range(3)]
    audit = await _clean(svc, district)
    assert {where: (v.cases, v.events) for where, v in audit.verdicts.items()} == {
        "db": (3, 12),
        "topic": (3, 12),
    }

    conn = await asyncpg.connect(
        svc.settings.database_url, server_settings={"search_path": "status"}
    )
    try:  # behind the service's back
        await conn.execute(
            "UPDATE events SET data = jsonb_set(data, '{note}', '\"แก้ไข\"') "
            "WHERE complaint_id = $1 AND version = 2",
            edited,
        )
        await conn.execute("DELETE FROM events WHERE complaint_id = $1 AND version = 3", deleted)
    finally:
        await conn.close()

    audit = await verify(svc.settings, district, Source.both)
    found = {(where, b.complaint_id, b.version, b.problem) for where, b in audit.breaks}
    assert found == {
        ("db", edited, 2, "altered"),
        ("db", deleted, 3, "missing"),
        ("db", deleted, 4, "link"),
        ("db/topic", edited, 2, "copies differ"),
        ("db/topic", deleted, 3, "copies differ"),
    }
    assert intact not in {b.complaint_id for _w, b in audit.breaks}
    [(_w, diff)] = [(w, b) for w, b in audit.breaks if w == "db/topic" and b.version == 2]
    assert diff.detail == "differs in data"

    # The command itself: exit code 1, naming the case and version.
    env = {
        "DATABASE_URL": svc.settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": svc.settings.kafka_bootstrap_servers,
        "EVENTS_TOPIC": svc.settings.events_topic,
    }
    out = await damrong("audit", "verify", "--district", district, "--source", "db", env=env)
    assert out.code == 1, out.stderr
    assert str(edited) in out.stdout and "altered" in out.stdout


async def test_unchained_v1_events_from_before_are_reported_apart_and_read_upcast(
    status_service: StatusService,
) -> None:
    svc = status_service
    district = _district()
    cid = await _case(svc, district, T0, [("accept", {}), ("start", {})])
    await _clean(svc, district)
    conn = await asyncpg.connect(
        svc.settings.database_url, server_settings={"search_path": "status"}
    )
    try:  # a v1 forwarding stored before chaining existed, then the case moves on
        await conn.execute(
            "INSERT INTO events (complaint_id, version, event_id, kind, source, occurred_at, "
            "recorded_at, data) VALUES ($1, 4, $2, 'case.forwarded', '/damrong/status', $3, "
            "$3, $4::text::jsonb)",
            cid,
            uuid.uuid4(),
            T0 + dt.timedelta(days=1),
            '{"kind": "case.forwarded", "actor": "o-1", "note": null, "agency": "PEA", '
            f'"due_date": "{DUE}"}}',
        )
        await conn.execute(
            "UPDATE cases SET version = 4, status = 'forwarded' WHERE complaint_id = $1", cid
        )
    finally:
        await conn.close()
    r = await svc.client.post(f"/v1/complaints/{cid}/transitions", json={"action": "start"})
    assert r.status_code == 200, r.text

    events = (await svc.client.get(f"/v1/complaints/{cid}/history")).json()["events"]
    assert events[3]["hash"] is None and events[3]["data"]["reply_due"]["date"] == DUE
    assert events[4]["prev_hash"] is not None
    verdict = (await verify(svc.settings, district, Source.db)).verdicts["db"]
    assert (verdict.breaks, verdict.unchained) == ([], [(cid, 4)])


async def test_as_of_known_at_and_the_replayed_report_equals_the_live_one(
    status_service: StatusService,
) -> None:
    svc = status_service
    district = _district()
    day = dt.timedelta(days=1)
    closed = await _case(
        svc,
        district,
        T0,
        [
            ("accept", {"occurred_at": (T0 + day).isoformat()}),
            ("close", {"reason": "resolved", "occurred_at": (T0 + 5 * day).isoformat()}),
        ],
    )
    await _case(
        svc,
        district,
        T0 + 2 * day,
        [
            ("accept", {}),
            ("start", {}),
            ("forward", {"agency": "PEA", "due_date": DUE}),
            ("start", {}),
            ("close", {"reason": "mediated"}),
            ("reopen", {}),
            ("close", {"reason": "withdrawn"}),
        ],
    )
    await _case(svc, district, T0 + 3 * day, [("reject", {"reason": "not ours"})])
    await _case(svc, district, T0 + 3 * day, [])
    await _case(svc, district, T0 + 90 * day, [("accept", {})])  # outside the period

    async def case(**params: str) -> dict[str, Any]:
        r = await svc.client.get(f"/v1/complaints/{closed}", params=params)
        assert r.status_code == 200, r.text
        return r.json()

    assert (await case())["status"] == "closed"
    then = await case(as_of=(T0 + 2 * day).isoformat())
    assert (then["status"], then["version"], then["closed_at"]) == ("accepted", 2, None)
    history = (await svc.client.get(f"/v1/complaints/{closed}/history")).json()["events"]
    before_close = dt.datetime.fromisoformat(history[2]["recorded_at"]) - dt.timedelta(
        microseconds=1
    )
    assert (await case(known_at=before_close.isoformat()))["status"] == "accepted"
    r = await svc.client.get(f"/v1/complaints/{closed}", params={"as_of": (T0 - day).isoformat()})
    assert r.status_code == 404

    period = {"district_code": district, "from": "2025-10-01", "to": "2026-01-15"}
    r = await svc.client.get(
        "/v1/reports/cases", params=period, headers=bearer(token("auditor", "auditor-1"))
    )
    assert r.status_code == 200, r.text
    live = r.json()
    assert (live["cases"], live["open"], live["closed"]) == (4, 1, 3)
    assert live["closures"] == {"mediated": 1, "resolved": 1, "withdrawn": 1}
    assert live["transitions"]["case.closed"] == 3 and live["by_status"]["rejected"] == 1

    async def replayed() -> dict[str, object]:
        result = await replay(svc.settings, district, dt.date(2025, 10, 1), dt.date(2026, 1, 15))
        return result.report.as_dict()

    assert await eventually(replayed, lambda rep: rep == live, timeout=20) == live
    officer = bearer(token("district_officer", "o-2", district_code=district))
    r = await svc.client.get("/v1/reports/cases", params=period, headers=officer)
    assert r.status_code == 403


async def test_a_forged_record_on_the_topic_is_a_break_and_replay_skips_it(
    status_service: StatusService,
) -> None:
    svc = status_service
    district = _district()
    cid = await _case(svc, district, T0, [("accept", {})])
    await _clean(svc, district)
    closure = Envelope(
        event_id=uuid.uuid4(),
        complaint_id=cid,
        version=3,
        source="/damrong/status",
        occurred_at=T0 + dt.timedelta(days=1),
        recorded_at=T0 + dt.timedelta(days=1),
        data=CaseClosed(actor="intruder", reason=ClosureReason.resolved),
    )
    key, headers, value = to_record(closure)  # nobody signed it
    await svc.publish_raw(key, value, headers)

    async def audit() -> Audit:
        return await verify(svc.settings, district, Source.kafka)

    found = await eventually(audit, lambda a: a.breaks, timeout=20)
    [(where, brk)] = found.breaks
    assert (where, brk.complaint_id, brk.version, brk.problem) == ("topic", cid, 3, "signature")
    assert "bad signature: unsigned" in brk.detail
    assert found.verdicts["topic"].events == 2  # the forged one counts for nothing else

    result = await replay(svc.settings, district, dt.date(2025, 10, 1), dt.date(2026, 1, 15))
    assert result.forged >= 1
    assert (result.report.cases, result.report.open, result.report.closed) == (1, 1, 0)
