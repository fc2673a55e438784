"""The e-mail channel end to end inside intake: mail sent with smtplib to the receiver on a
free port files complaints on the real PostgreSQL and broker, once per Message-ID; robots
are accepted and not filed; bad mail is refused with a reason; nothing personal is logged."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import random
import re
import smtplib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import geothai
import httpx
import orjson
import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from fastapi import FastAPI

from services.intake.contacts.store import read_contact
from services.intake.email.config import EmailSettings
from services.intake.main import create_app
from services.intake.store import IntakeStore
from shared.config import Settings
from tests.auth import TEST_SECRET
from tests.infra import fresh_database, isolation
from tests.integration.intake.conftest import IntakeService
from tests.pii import SETTINGS as PII_SETTINGS
from tests.signing import publisher_settings
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).parent / "mail_samples"
DOMAIN = "damrongtham.go.th"
MAX_BYTES = 64 * 1024
CITIZEN = "somchai.jaidee@example.co.th"


@dataclass
class Mail:
    intake: IntakeService
    app: FastAPI
    port: int

    async def send(self, raw: bytes, to: list[str], mail_from: str = CITIZEN) -> Any:
        """smtplib's sendmail in a thread: the refused recipients (raises on refusal)."""

        def send() -> Any:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
                return smtp.sendmail(mail_from, to, raw)

        return await asyncio.to_thread(send)

    async def data(self, raw: bytes, to: str) -> tuple[int, bytes]:
        """MAIL (without SIZE), RCPT and DATA by hand: DATA's reply code and text."""

        def send() -> tuple[int, bytes]:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
                smtp.ehlo()
                assert smtp.mail(CITIZEN)[0] == 250
                assert smtp.rcpt(to)[0] == 250
                try:
                    return smtp.data(raw)
                except smtplib.SMTPDataError as exc:
                    error = exc.smtp_error
                    return exc.smtp_code, error if isinstance(error, bytes) else error.encode()

        return await asyncio.to_thread(send)

    async def filed(self, message_id: str) -> list[asyncpg.Record]:
        return list(
            await self.intake.db.fetch(
                "SELECT * FROM complaints WHERE channel = 'email' AND channel_ref = $1",
                message_id,
            )
        )


@contextlib.asynccontextmanager
async def intake_with_mail(infra: dict[str, str], database_url: str) -> AsyncIterator[Mail]:
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": infra["kafka_bootstrap"],
        **isolation(uuid.uuid4().hex[:8]),  # topics and consumer groups of its own
        "topic_partitions": 4,
        "auth_jwt_secret": TEST_SECRET,
        **PII_SETTINGS,
        **publisher_settings("intake"),
    }
    settings = Settings(**values)
    app = create_app(settings)
    app.state.email_settings = EmailSettings(
        email_smtp_port=0, email_domain=DOMAIN, email_max_bytes=MAX_BYTES, email_timeout_s=30
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def health() -> int:
                return (await client.get("/healthz")).status_code

            await eventually(health, lambda code: code == 200, timeout=30)
            db = await asyncpg.connect(database_url, server_settings={"search_path": "intake"})
            try:
                port = app.state.email_receiver.port
                yield Mail(IntakeService(client, settings, db), app, port)
            finally:
                await db.close()


@pytest.fixture(scope="module")
async def mail(infra: dict[str, str]) -> AsyncIterator[Mail]:
    async with fresh_database(infra["database_url"]) as url, intake_with_mail(infra, url) as m:
        yield m


def sample(name: str) -> tuple[bytes, str]:
    """A sample message under a fresh Message-ID, and that id; lines end in CRLF as SMTP
    wants (smtplib sends bytes as they are)."""
    message_id = f"<{uuid.uuid4().hex}@example.co.th>"
    raw = re.sub(rb"\r?\n", b"\r\n", (SAMPLES / name).read_bytes())
    return re.sub(rb"(?m)^Message-ID: .*$", f"Message-ID: {message_id}".encode(), raw), message_id


DISTRICTS = [d.code for p in geothai.provinces() for d in geothai.districts(p.code)]


def district_address() -> tuple[str, str]:
    """A random current district's centre address (a fresh district for each test)."""
    code = random.choice(DISTRICTS)
    return code, f"d{code}@{DOMAIN}"


async def test_thai_mail_files_a_complaint_and_publishes_its_event(mail: Mail) -> None:
    raw, message_id = sample("thai_base64_subject.eml")
    code, address = district_address()
    assert await mail.send(raw, [address]) == {}

    (row,) = await mail.filed(message_id)
    assert row["district_code"] == code and row["channel_ref"] == message_id
    assert row["subject"] == "ขอความช่วยเหลือ ถนนชำรุดหน้าบ้าน"
    assert row["description"].startswith("เรียน ศูนย์ดำรงธรรม")
    # "ถนนชำรุด" (utilities) is a more specific rule than "ขอความช่วยเหลือ" (assistance).
    assert row["category"] == "public_utilities" and row["filed_by"] == "smtp:email"
    # The complainant only sealed: the address is nowhere in clear.
    assert row["complainant"] is None and row["identity"] is not None
    assert CITIZEN.encode() not in row["identity"]
    assert "somchai" not in orjson.loads(row["complainant_masked"]).get("email", "")

    # The notifier may answer by e-mail (consent recorded with the sealed identity).
    contact = await read_contact(
        mail.app.state.store.pool,
        mail.app.state.pii_keys,
        row["complaint_id"],
        subject="test:notify",
        now=dt.datetime.now(dt.UTC),
    )
    assert contact is not None
    assert contact.notify == ("email",) and contact.details == {"email": CITIZEN}

    key = str(row["complaint_id"]).encode()

    async def published() -> list[Any]:
        return [m for m in await mail.intake.records() if m.key == key]

    (record,) = await eventually(published)
    event = ce_kafka.from_binary(
        ce_kafka.KafkaMessage(dict(record.headers), record.key, record.value), JSONFormat()
    )
    data_raw = event.get_data()
    assert data_raw is not None
    data = orjson.loads(data_raw) if isinstance(data_raw, (bytes, str)) else dict(data_raw)
    assert data["channel"] == "email" and data["district_code"] == code
    assert data["tracking_no"] == row["tracking_no"]
    everything = record.value + b"".join(v for _k, v in record.headers)
    for secret in (b"somchai", "สมชาย".encode(), "ถนนชำรุด".encode()):
        assert secret not in everything


async def test_a_resent_message_files_once(mail: Mail) -> None:
    raw, message_id = sample("tis620_qp_subject.eml")
    _, address = district_address()
    relayed = b"Received: from relay.example.net by mx; Mon, 2 Mar 2026 10:01:00 +0700\r\n" + raw
    for message in (raw, raw, relayed):
        assert await mail.send(message, [address]) == {}
    (row,) = await mail.filed(message_id)
    assert row["subject"] == "แจ้งเรื่องหนี้นอกระบบ ดอกเบี้ยร้อยละ 20 ต่อเดือน"
    assert row["category"] == "informal_debt"


async def test_the_same_message_sent_at_once_over_many_connections_files_once(mail: Mail) -> None:
    raw, message_id = sample("alternative.eml")
    _, address = district_address()
    results = await asyncio.gather(*(mail.send(raw, [address]) for _ in range(6)))
    assert results == [{}] * 6
    assert len(await mail.filed(message_id)) == 1


async def test_html_only_and_attachment_mail(mail: Mail) -> None:
    html, html_id = sample("html_only.eml")
    attached, attached_id = sample("attachment.eml")
    _, address = district_address()
    assert await mail.send(html, [address]) == {}
    assert await mail.send(attached, [address]) == {}
    (row,) = await mail.filed(html_id)
    assert row["description"].startswith("ไฟฟ้าส่องสว่างในซอย 5") and "alert" not in row["description"]
    (row,) = await mail.filed(attached_id)
    assert "แนบไฟล์ 1 รายการ" in row["description"] and row["category"] == "official_misconduct"


async def test_a_store_failure_answers_451_and_the_retry_files_once(mail: Mail) -> None:
    raw, message_id = sample("thai_base64_subject.eml")
    _, address = district_address()
    handler = mail.app.state.email_receiver.handler
    room = handler.room
    closed = await asyncpg.create_pool(mail.intake.settings.database_url, min_size=1, max_size=2)
    await closed.close()
    handler.room = dataclasses.replace(room, store=IntakeStore(closed))
    try:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            await mail.send(raw, [address])
        assert failed.value.smtp_code == 451
    finally:
        handler.room = room
    assert await mail.filed(message_id) == []
    assert await mail.send(raw, [address]) == {}  # what the sender's server does next
    assert await mail.send(raw, [address]) == {}
    assert len(await mail.filed(message_id)) == 1


async def test_a_province_address_files_in_the_capital_district(mail: Mail) -> None:
    raw, message_id = sample("windows874_body.eml")
    assert await mail.send(raw, [f"P50@{DOMAIN}"]) == {}
    (row,) = await mail.filed(message_id)
    assert row["district_code"] == "5001" and row["province_code"] == "50"
    assert "“ทุกคืน” …" in row["description"]


async def test_logs_name_the_complaint_not_the_person(
    mail: Mail, capfd: pytest.CaptureFixture[str]
) -> None:
    raw, message_id = sample("thai_base64_subject.eml")
    _, address = district_address()
    capfd.readouterr()
    assert await mail.send(raw, [address]) == {}
    (row,) = await mail.filed(message_id)
    logged = "".join(capfd.readouterr())
    assert "email.filed" in logged and str(row["complaint_id"]) in logged
    for secret in ("somchai", "สมชาย", "ถนนชำรุด", message_id, address):
        assert secret not in logged, secret
