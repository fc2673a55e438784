"""`damrong audit verify` and `audit replay` as a cron job or CI sees them: no terminal,
80 columns.  Every id and hash is printed whole, and --json names each break."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg
import pytest

from damrong.cli.audit import Source, verify
from tests.cli import damrong
from tests.integration.status.conftest import StatusService
from tests.integration.status.test_audit import _case, _clean, _district
from tests.unit.status.factories import T0

pytestmark = pytest.mark.integration

MOVES = [("accept", {"note": "รับเรื่อง"}), ("start", {}), ("close", {"reason": "resolved"})]


def _env(svc: StatusService) -> dict[str, str]:
    s = svc.settings
    return {
        "DATABASE_URL": s.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
        "EVENTS_TOPIC": s.events_topic,
        "EVENT_PUBLIC_KEYS": json.dumps(s.event_public_keys),
    }


async def _broken(svc: StatusService) -> str:
    """A district with one case edited and one with an event deleted, behind status's back."""
    district = _district()
    edited, deleted = [await _case(svc, district, T0, MOVES) for _ in range(2)]
    await _clean(svc, district)
    conn = await asyncpg.connect(
        svc.settings.database_url, server_settings={"search_path": "status"}
    )
    try:
        await conn.execute(
            "UPDATE events SET data = jsonb_set(data, '{note}', '\"แก้ไข\"') "
            "WHERE complaint_id = $1 AND version = 2",
            edited,
        )
        await conn.execute("DELETE FROM events WHERE complaint_id = $1 AND version = 3", deleted)
    finally:
        await conn.close()
    return district


async def test_verify_prints_whole_ids_and_hashes_at_80_columns(
    status_service: StatusService,
) -> None:
    svc = status_service
    district = await _broken(svc)
    audit = await verify(svc.settings, district, Source.both)
    assert len(audit.breaks) == 5

    ran = await damrong("audit", "verify", "--district", district, env=_env(svc))
    assert ran.code == 1, ran.stderr
    lines = ran.stdout.splitlines()
    for where, b in audit.breaks:
        # The line naming the break carries the whole case id, the version and problem.
        assert any(
            line.startswith(where + " ")
            and str(b.complaint_id) in line
            and f"v{b.version} " in line
            and b.problem in line
            for line in lines
        ), (where, b, ran.stdout)
        for value in (b.expected, b.found):
            if value:
                assert value in ran.stdout, (value, ran.stdout)
    assert "…" not in ran.stdout


async def test_verify_json_names_each_break_and_the_totals(status_service: StatusService) -> None:
    svc = status_service
    district = await _broken(svc)
    audit = await verify(svc.settings, district, Source.both)

    ran = await damrong("audit", "verify", "--district", district, "--json", env=_env(svc))
    assert ran.code == 1, ran.stderr
    objects = [json.loads(line) for line in ran.stdout.splitlines()]
    breaks = [o for o in objects if o["kind"] == "break"]
    assert sorted(
        (
            o["where"],
            o["complaint_id"],
            o["version"],
            o["problem"],
            o["expected"],
            o["found"],
            o["detail"],
        )
        for o in breaks
    ) == sorted(
        (w, str(b.complaint_id), b.version, b.problem, b.expected, b.found, b.detail)
        for w, b in audit.breaks
    )
    [totals] = [o for o in objects if o["kind"] == "totals"]
    assert objects[-1] == totals
    assert totals["breaks"] == 5 and totals["copies_differ"] == 2
    assert totals["sources"]["db"] == {"cases": 2, "events": 7, "breaks": 3, "unchained": 0}
    assert totals["sources"]["topic"] == {"cases": 2, "events": 8, "breaks": 0, "unchained": 0}

    # A clean district: exit 0, no break, totals only.
    clean = _district()
    await _case(svc, clean, T0, MOVES)
    await _clean(svc, clean)
    ran = await damrong("audit", "verify", "--district", clean, "--json", env=_env(svc))
    assert ran.code == 0, ran.stderr
    [only] = [json.loads(line) for line in ran.stdout.splitlines()]
    assert (only["kind"], only["breaks"]) == ("totals", 0)


async def test_replay_json_is_one_line_with_the_live_report_and_the_counts(
    status_service: StatusService,
) -> None:
    svc = status_service
    district = _district()
    await _case(svc, district, T0, MOVES)
    await _clean(svc, district)
    ran = await damrong(
        "audit",
        "replay",
        "--district",
        district,
        "--from",
        "2025-10-01",
        "--to",
        "2026-09-30",
        "--json",
        env=_env(svc),
    )
    assert ran.code == 0, ran.stderr
    [line] = ran.stdout.splitlines()
    got = json.loads(line)
    assert got["kind"] == "report"
    # The package's tests share the topic: other tests' forgeries count here too.
    assert got["records"] >= 4
    assert isinstance(got["undecodable"], int) and isinstance(got["forged"], int)
    r = await svc.client.get(
        "/v1/reports/cases",
        params={"district_code": district, "from": "2025-10-01", "to": "2026-09-30"},
    )
    assert r.status_code == 200, r.text
    assert got["report"] == r.json()
    assert dt.date.fromisoformat(got["report"]["date_from"]) == dt.date(2025, 10, 1)
