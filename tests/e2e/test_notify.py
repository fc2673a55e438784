"""Notifications end to end: the platform (notify included, as `damrong up` starts it)
with local fakes of an SMS gateway and an SMTP server.  A complainant who consented to
SMS and e-mail hears of the filing, the acceptance and the closure (with the satisfaction
link), each once, each with the tracking number; and nothing personal is in notify's
tables or its log."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from damrong.embedded.platform import Platform
from tests.e2e.platforms import platform_for_tests
from tests.fakes.sms_provider import FakeSmsProvider
from tests.fakes.smtp_sink import SmtpSink
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

DISTRICT = "1002"
NAME = "วิมลรัตน์ แจ้งผลทดสอบ"
PHONE, PHONE_E164 = "089-771-2461", "+66897712461"
EMAIL = "wimonrat.notify@example.net"


@dataclass
class World:
    platform: Platform
    sms: FakeSmsProvider
    smtp: SmtpSink
    client: httpx.AsyncClient


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeSmsProvider, SmtpSink]]:
    with FakeSmsProvider(token="sms-token") as sms, SmtpSink() as smtp:
        yield sms, smtp


@pytest.fixture(scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory,
    shared_infra: dict[str, str] | None,
    fakes: tuple[FakeSmsProvider, SmtpSink],
) -> AsyncIterator[World]:
    sms, smtp = fakes
    env = {
        "NOTIFY_SMS_URL": sms.url,
        "NOTIFY_SMS_TOKEN": "sms-token",
        "NOTIFY_SMTP_HOST": smtp.host,
        "NOTIFY_SMTP_PORT": str(smtp.port),
        "NOTIFY_POLL_S": "0.2",
    }
    data_dir = Path(tmp_path_factory.mktemp("notify-platform"))
    async with platform_for_tests(data_dir, shared_infra, env=env) as p:  # noqa: SIM117
        async with httpx.AsyncClient(timeout=15, headers=p.auth_headers()) as client:
            yield World(p, sms, smtp, client)


async def _move(w: World, cid: str, version: int, action: str, **extra: Any) -> int:
    url = f"{w.platform.url('status')}/v1/complaints/{cid}/transitions"
    r = await w.client.post(url, json={"action": action, "expected_version": version, **extra})
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


async def test_consented_sms_and_email_hear_of_filing_acceptance_and_closure(world: World) -> None:
    w = world
    filed = await w.client.post(
        f"{w.platform.url('intake')}/v1/complaints",
        json={
            "channel": "web",
            "district_code": DISTRICT,
            "category": "land",
            "subject": "ไฟทางดับ",
            "description": "ไฟทางหน้าซอยดับมาสามวัน",
            "channel_ref": uuid.uuid4().hex,
            "complainant": {
                "anonymous": False,
                "name": NAME,
                "phone": PHONE,
                "email": EMAIL,
                "notify": ["sms", "email"],
            },
        },
    )
    assert filed.status_code == 201, filed.text
    cid, tracking = filed.json()["complaint_id"], filed.json()["tracking_no"]

    async def in_status() -> int:
        return (await w.client.get(f"{w.platform.url('status')}/v1/complaints/{cid}")).status_code

    await eventually(in_status, lambda code: code == 200, timeout=90)
    version = await _move(w, cid, 1, "accept")
    await _move(w, cid, version, "close", reason="resolved")

    async def texts() -> list[str]:
        return w.sms.texts_to(PHONE_E164)

    sms = await eventually(texts, lambda t: len(t) >= 3, timeout=90)

    async def mails() -> int:
        return len(w.smtp.messages_to(EMAIL))

    await eventually(mails, lambda n: n >= 3, timeout=90)
    await asyncio.sleep(1.0)  # anything sent twice would show by now
    assert len(w.sms.texts_to(PHONE_E164)) == 3
    assert all(tracking in t for t in sms)
    assert "ได้รับเรื่องร้องเรียนของท่านแล้ว" in sms[0]
    assert "ได้รับการรับเรื่องแล้ว" in sms[1]
    assert "เหตุผล: แก้ไขแล้วเสร็จ" in sms[2]
    assert f"{w.platform.url('console')}/feedback/" in sms[2]
    emails = w.smtp.messages_to(EMAIL)
    assert len(emails) == 3 and all(tracking in m["Subject"] for m in emails)
    assert "เหตุผล: แก้ไขแล้วเสร็จ" in emails[2].get_content()


async def test_nothing_personal_in_notifys_tables_or_log(world: World) -> None:
    w = world
    spellings = [
        *NAME.split(),
        EMAIL,
        EMAIL.split("@")[0],
        PHONE,
        PHONE_E164,
        PHONE_E164[1:],
        "0" + PHONE_E164[3:],
        PHONE_E164[3:],
    ]
    conn = await asyncpg.connect(w.platform.database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'notify'"
        )
        assert {t["table_name"] for t in tables} >= {"notifications", "cases", "source_records"}
        dump = []
        for t in tables:
            rows = await conn.fetch(f'SELECT * FROM notify."{t["table_name"]}"')
            for row in rows:
                for value in row.values():
                    if isinstance(value, bytes | bytearray | memoryview):
                        dump.append(bytes(value).decode("utf-8", "replace"))
                    else:
                        dump.append(str(value))
        assert any(v == "sent" for v in dump)  # the scan saw the messages' rows
    finally:
        await conn.close()
    text = "\n".join(dump)
    log = w.platform.log_file("notify").read_text(encoding="utf-8")
    assert "notify.sent" in log
    for spelling in spellings:
        assert spelling not in text, f"{spelling!r} in notify's tables"
        assert spelling not in log, f"{spelling!r} in notify's log"
