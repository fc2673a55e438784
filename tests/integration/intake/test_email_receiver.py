"""The e-mail channel end to end inside intake: mail sent with smtplib to the receiver on a
free port files complaints on the real PostgreSQL and broker, once per Message-ID; robots
are accepted and not filed; bad mail is refused with a reason; nothing personal is logged."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import smtplib
import socket
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

from services.intake.email.config import EmailSettings
from services.intake.main import create_app
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
        **isolation(uuid.uuid4().hex[:8]),
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


async def test_a_province_address_files_in_the_capital_district(mail: Mail) -> None:
    raw, message_id = sample("windows874_body.eml")
    assert await mail.send(raw, [f"P50@{DOMAIN}"]) == {}
    (row,) = await mail.filed(message_id)
    assert row["district_code"] == "5001" and row["province_code"] == "50"
    assert "“ทุกคืน” …" in row["description"]


@pytest.mark.parametrize(
    ("name", "mail_from"),
    [
        ("bounce_dsn.eml", "<>"),
        ("bounce_dsn.eml", "mailer-daemon@mail.example.com"),
        ("auto_reply.eml", "somsri@example.com"),
        ("loop.eml", "somchai@example.com"),
    ],
)
async def test_bounces_auto_replies_and_loops_are_accepted_but_not_filed(
    mail: Mail, name: str, mail_from: str, capfd: pytest.CaptureFixture[str]
) -> None:
    raw, message_id = sample(name)
    _, address = district_address()
    assert await mail.send(raw, [address], mail_from=mail_from) == {}  # 250
    assert await mail.filed(message_id) == []
    logged = "".join(capfd.readouterr())
    assert "email.ignored" in logged
    assert mail_from.strip("<>") not in logged or mail_from == "<>"


async def test_unknown_recipients_are_refused_at_rcpt(mail: Mail) -> None:
    raw, message_id = sample("alternative.eml")
    for bad in (f"d9999@{DOMAIN}", f"admin@{DOMAIN}", "d5001@example.com"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await mail.send(raw, [bad])
        assert refused.value.recipients[bad][0] == 550
    assert await mail.filed(message_id) == []
    # One good recipient among bad ones: filed there, the bad one named as refused.
    code, good = district_address()
    refusals = await mail.send(raw, [f"d0000@{DOMAIN}", good])
    assert list(refusals) == [f"d0000@{DOMAIN}"]
    (row,) = await mail.filed(message_id)
    assert row["district_code"] == code


async def test_oversize_mail_is_refused_with_552(mail: Mail) -> None:
    raw, message_id = sample("alternative.eml")
    big = raw + b"\r\n" + (b"x" * 70 + b"\r\n") * (MAX_BYTES // 70 + 10)
    _, address = district_address()
    with pytest.raises(smtplib.SMTPSenderRefused) as at_mail:  # announced with SIZE
        await mail.send(big, [address])
    assert at_mail.value.smtp_code == 552
    code, text = await mail.data(big, address)  # not announced: counted during DATA
    assert code == 552 and b"Too much mail data" in text
    assert await mail.filed(message_id) == []


@pytest.mark.parametrize(
    ("body", "code", "reason"),
    [
        ("junk", 554, b"not readable as its declared charset (utf-8)"),
        ("bomb", 554, b"too many MIME parts"),
        ("long_line", 500, b"Line too long"),
    ],
)
async def test_malformed_mail_is_refused_with_the_reason(
    mail: Mail, body: str, code: int, reason: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    raw, message_id = sample("junk_8bit.eml")
    if body == "bomb":
        head = raw.split(b"\r\n\r\n", 1)[0].replace(b"Content-Type: text/plain; charset=utf-8", b"")
        nest = b"".join(
            b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
            for i in range(200)
        )
        raw = head + b"\r\nMIME-Version: 1.0\r\n" + nest + b"\r\ntext\r\n"
    elif body == "long_line":
        raw = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + b"y" * 2000 + b"\r\n"
    _, address = district_address()
    got_code, text = await mail.data(raw, address)
    assert (got_code, reason in text) == (code, True), text
    assert await mail.filed(message_id) == []
    assert "email.refused" in "".join(capfd.readouterr())


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


async def test_stop_closes_the_port_and_says_421_to_open_connections(
    infra: dict[str, str],
) -> None:
    async with fresh_database(infra["database_url"]) as url:
        async with intake_with_mail(infra, url) as mail:
            port = mail.port
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert (await reader.readline()).startswith(b"220 ")
        # The app has stopped: the open connection was told, new ones are refused.
        assert (await reader.readline()).startswith(b"421 ")
        writer.close()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)
        with socket.socket() as probe:  # nobody listens there any more
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
            probe.bind(("127.0.0.1", port))
