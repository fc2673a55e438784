"""Personal data end to end: after filing (API and import), moving and reading cases, no
clear personal value is in any log, Kafka message or database column; erasure makes a
complainant unreadable for good while the case history and the KPIs stay the same."""

from __future__ import annotations

import asyncio
import base64
import functools
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from damrong.cli.main import app as cli
from damrong.embedded.platform import Platform
from services.intake.pii.domain.envelope import Unreadable, open_identity, unwrap_key
from services.intake.pii.domain.keys import PiiKeys
from shared.auth.principal import Grant, Principal, Role
from shared.config import DLQ_TOPIC, EVENTS_TOPIC, Settings
from shared.topic_reader import read_topic
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

DISTRICT = "5010"  # used by this module only
PIN, PIN_2 = "1709900452315", "3100503361236"
PHONE, PHONE_2 = "0861239874", "0957713468"
PEOPLE: list[dict[str, Any]] = [
    {
        "anonymous": False,
        "title": "นางสาว",
        "name": "ประภาพร วงศ์สุวรรณเลิศ",
        "national_id": PIN,
        "phone": "086-123-9874",
        "email": "prapaporn.wsl@example.net",
        "address": "88/14 ซอยทดสอบลับ แขวงบางรัก",
    },
    {
        "anonymous": False,
        "name": "ทองใบ เจริญสุขศรี",
        "national_id": PIN_2,
        "phone": "+66957713468",
        "email": "thongbai.cs@example.org",
        "address": "5 หมู่ 7 บ้านหนองสะเดาทอง",
    },
]
IMPORTED: dict[str, Any] = {
    "name": "สมพงษ์ ศรีสะอาดยิ่ง",
    "national_id": "3101700560224",
    "phone": "0823416677",
    "email": "sompong.sry@example.com",
    "address": "101 ถนนเลียบคลองสามวา",
}


def spellings() -> list[str]:
    """Every clear value filed, in the ways it could be written."""
    out: list[str] = []
    for p in (*PEOPLE, IMPORTED):
        out += [*p["name"].split(), p["email"], p["email"].split("@")[0], p["address"]]
        pin = p["national_id"]
        out += [
            pin,
            f"{pin[0]}-{pin[1:5]}-{pin[5:10]}-{pin[10:12]}-{pin[12]}",
            f"{pin[0]} {pin[1:5]} {pin[5:10]} {pin[10:12]} {pin[12]}",
        ]
        digits = "".join(c for c in p["phone"] if c.isdigit()).removeprefix("66")
        digits = digits if digits.startswith("0") else "0" + digits
        out += [
            digits,
            f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
            "+66" + digits[1:],
            "66" + digits[1:],
            digits[1:],
        ]
    return out


def found_in(text: str, where: str) -> list[str]:
    """The clear values in ``text``: as text, or as hex of bytea (PostgreSQL JSON)."""
    return [f"{where}: {s!r}" for s in spellings() if s in text or s.encode().hex() in text]


async def database_hits(dsn: str) -> list[str]:
    """Clear values in any column of any table of the intake, status and kpi schemas."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('intake', 'status', 'kpi') AND table_type = 'BASE TABLE'"
        )
        assert {t["table_schema"] for t in tables} == {"intake", "status", "kpi"}
        hits: list[str] = []
        for t in tables:
            name = f'"{t["table_schema"]}"."{t["table_name"]}"'
            # The whole row as JSON: text, jsonb, arrays, and bytea (as hex).
            for row in await conn.fetch(f"SELECT row_to_json(t)::text AS r FROM {name} t"):
                hits += found_in(row["r"], name)
        return hits
    finally:
        await conn.close()


async def topic_hits(platform: Platform) -> tuple[int, list[str]]:
    hits: list[str] = []
    seen = 0
    # The platform's own topics (under the containers backend they are not the defaults).
    for topic in (
        platform.base_env.get("EVENTS_TOPIC") or EVENTS_TOPIC,
        platform.base_env.get("DLQ_TOPIC") or DLQ_TOPIC,
    ):
        settings = Settings(kafka_bootstrap_servers=platform.kafka_bootstrap, events_topic=topic)
        async for rec in read_topic(settings):
            seen += 1
            raw = (
                (rec.key or b"")
                + (rec.value or b"")
                + b"".join(k.encode() + v for k, v in rec.headers)
            )
            hits += found_in(raw.decode("utf-8", "replace"), f"{topic}@{rec.offset}")
    return seen, hits


async def _file(c: httpx.AsyncClient, intake: str, person: dict[str, Any]) -> dict[str, Any]:
    r = await c.post(
        f"{intake}/v1/complaints",
        json={
            "channel": "walk_in",
            "district_code": DISTRICT,
            "category": "land",
            "subject": "บุกรุกที่ดิน",
            "description": "มีผู้บุกรุกที่ดินสาธารณะ",
            "received_at": "2026-01-15T10:00:00+07:00",
            "complainant": person,
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _import(c: httpx.AsyncClient, intake: str) -> None:
    p = IMPORTED
    csv = (
        "district_code,category,subject,received_at,channel,name,national_id,phone,email,"
        f"address\n{DISTRICT},land,ที่ดินทับซ้อน,2026-01-16,letter,{p['name']},"
        f"{p['national_id']},{p['phone']},{p['email']},{p['address']}\n"
    ).encode()
    r = await c.post(f"{intake}/v1/imports", files={"file": ("r.csv", csv, "text/csv")})
    assert r.status_code == 202, r.text
    job = await eventually(
        lambda: c.get(f"{intake}{r.headers['location']}"),
        lambda got: got.json()["status"] == "done",
    )
    assert job.json()["result"]["filed"] == 1, job.text


async def _kpi(c: httpx.AsyncClient, platform: Platform) -> dict[str, Any]:
    r = await c.get(
        f"{platform.url('kpi')}/v1/kpi/summary",
        params={"fiscal_year": 2569, "district_code": DISTRICT},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_no_clear_personal_data_anywhere_and_erasure_keeps_the_case(
    platform: Platform,
) -> None:
    intake, status = platform.url("intake"), platform.url("status")
    reader = platform.auth_headers(
        Principal("reader-1", Role.national_supervisor, grants=frozenset({Grant.pii_reader}))
    )
    async with httpx.AsyncClient(timeout=30, headers=platform.auth_headers()) as c:
        filed = [await _file(c, intake, p) for p in PEOPLE]
        await _import(c, intake)
        for f in filed:
            cid = f["complaint_id"]
            await eventually(
                functools.partial(c.get, f"{status}/v1/complaints/{cid}"),
                lambda r: r.status_code == 200,
                timeout=30,
            )
            for version, (action, extra) in enumerate(
                [("accept", {}), ("start", {}), ("close", {"reason": "resolved"})], 1
            ):
                r = await c.post(
                    f"{status}/v1/complaints/{cid}/transitions",
                    json={"action": action, "expected_version": version, **extra},
                )
                assert r.status_code == 200, r.text
        # A pii_reader reads the clear values: through intake's memory, into no log.
        clear = await c.get(
            f"{intake}/v1/complaints/{filed[0]['complaint_id']}/complainant", headers=reader
        )
        assert clear.json()["national_id"] == PIN
        before = await eventually(
            lambda: _kpi(c, platform), lambda k: (k["received"], k["closed"]) == (3, 2), timeout=60
        )

        # -- the scan ------------------------------------------------------------------
        assert found_in(f"..{PIN}..", "probe") and found_in(
            "\\x00" + PEOPLE[1]["name"].encode().hex(), "probe"
        )  # the scanner sees
        seen, hits = await topic_hits(platform)
        assert seen >= 9, "the topic scan read too little to prove anything"
        for log in sorted(platform.log_dir.glob("*.log")):
            hits += found_in(log.read_text(encoding="utf-8", errors="replace"), log.name)
        assert platform.log_file("intake").stat().st_size > 0
        hits += await database_hits(platform.database_url)
        assert not hits, hits

        # -- erasure -------------------------------------------------------------------
        victim = filed[0]
        cid = uuid.UUID(victim["complaint_id"])
        history = (await c.get(f"{status}/v1/complaints/{cid}/history")).json()
        db = await asyncpg.connect(platform.database_url, server_settings={"search_path": "intake"})
        try:
            backup = await db.fetchval(
                "SELECT identity FROM complaints WHERE complaint_id = $1", cid
            )
            token = platform.admin_token()
            assert token is not None
            result = await asyncio.to_thread(
                CliRunner().invoke,
                cli,
                [
                    "complainant",
                    "erase",
                    str(victim["complainant_ref"]),
                    "--intake-url",
                    intake,
                    "--token",
                    token,
                ],
            )
            assert result.exit_code == 0, result.output
            assert "erased" in result.output
            # Even with the master key, nothing left opens the old ciphertext.
            env = platform.service_env()
            keys = PiiKeys.of(
                base64.b64decode(env["PII_MASTER_KEY"]), base64.b64decode(env["PII_HASH_KEY"])
            )
            ref = uuid.UUID(victim["complainant_ref"])
            assert (
                await db.fetchval(
                    "SELECT wrapped_key FROM complainants WHERE complainant_ref = $1", ref
                )
                is None
            )
            candidates = [keys.master] + [
                unwrap_key(keys, r["complainant_ref"], r["key_id"], bytes(r["wrapped_key"]))
                for r in await db.fetch("SELECT * FROM complainants WHERE wrapped_key IS NOT NULL")
            ]
            assert len(candidates) >= 3  # the other complainants' keys do exist
            for key in candidates:
                with pytest.raises(Unreadable):
                    open_identity(key, cid, ref, bytes(backup))
        finally:
            await db.close()
        gone = await c.get(f"{intake}/v1/complaints/{cid}/complainant", headers=reader)
        assert gone.status_code == 410
        assert (await c.get(f"{status}/v1/complaints/{cid}/history")).json() == history
        assert await _kpi(c, platform) == before
        assert (
            await c.get(
                f"{intake}/v1/complaints/{filed[1]['complaint_id']}/complainant", headers=reader
            )
        ).json()["national_id"] == PIN_2
