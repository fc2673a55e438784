"""The e-mail receiver's refusals and silences on the real database and broker: robots
accepted with 250 and not filed, unknown centres 550 at RCPT, too many recipients 452,
oversize 552, malformed 554 with the reason, and a clean stop (421, port closed)."""

from __future__ import annotations

import asyncio
import smtplib
import socket

import pytest

from tests.infra import fresh_database
from tests.integration.intake.test_email_receiver import (
    DOMAIN,
    MAX_BYTES,
    Mail,
    district_address,
    intake_with_mail,
    mail,
    sample,
)

pytestmark = pytest.mark.integration
__all__ = ["mail"]  # the fixture, imported: this module gets a running intake of its own


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


async def test_recipients_beyond_the_limit_get_452(mail: Mail) -> None:
    raw, message_id = sample("alternative.eml")
    code, first = district_address()
    extra = [f"d{c}@{DOMAIN}" for c in ("1001", "1002", "1003", "1004", "1005")]
    many = [first, *extra, *extra]  # 11: one more than EMAIL_MAX_RECIPIENTS
    refusals = await mail.send(raw, many)
    assert {c for c, _ in refusals.values()} == {452} and len(refusals) == 1
    (row,) = await mail.filed(message_id)
    assert row["district_code"] == code  # the first recipient's


async def test_oversize_mail_is_refused_with_552(mail: Mail) -> None:
    raw, message_id = sample("alternative.eml")
    big = raw + b"\r\n" + (b"x" * 70 + b"\r\n") * (MAX_BYTES // 70 + 10)
    _, address = district_address()
    with pytest.raises(smtplib.SMTPSenderRefused) as at_mail:  # announced with SIZE
        await mail.send(big, [address])
    assert at_mail.value.smtp_code == 552
    assert (
        at_mail.value.smtp_error == f"5.3.4 message too large: at most {MAX_BYTES} bytes".encode()
    )
    code, text = await mail.data(big, address)  # not announced: counted during DATA
    assert code == 552 and f"at most {MAX_BYTES} bytes".encode() in text
    assert await mail.filed(message_id) == []


@pytest.mark.parametrize(
    ("body", "code", "reason"),
    [
        ("junk", 554, b"not readable as its declared charset (utf-8)"),
        ("bomb", 554, b"too many MIME parts"),
        ("long_line", 554, b"a line is longer than 998 octets"),
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


async def test_garbage_at_the_smtp_level_gets_5xx_and_the_receiver_keeps_working(
    mail: Mail,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", mail.port)
    try:
        assert (await reader.readline()).startswith(b"220 ")

        async def say(line: bytes) -> bytes:
            writer.write(line + b"\r\n")
            await writer.drain()
            reply = await reader.readline()
            while reply[3:4] == b"-":  # a multi-line reply (EHLO)
                reply = await reader.readline()
            return reply

        assert (await say(b"EHLO client.example.com")).startswith(b"250 ")
        assert (await say(b"\xff\xfe\x00junk")).startswith(b"500 ")
        assert (await say(b"MAIL FROM:<" + b"a" * 3000 + b"@example.com>")).startswith(b"500 ")
        assert (await say("MAIL FROM:<ก@example.com>".encode())).startswith(b"500 ")
        assert (await say(b"RCPT TO:<d5001@damrongtham.go.th>")).startswith(b"503 ")
        assert (await say(b"MAIL FROM:<a@example.com> SIZE=999999999")).startswith(b"552 ")
        assert (await say(b"MAIL FROM:<a@example.com>")).startswith(b"250 ")
        assert (await say(b"RCPT TO:<d5001@damrongtham.go.th> NOTIFY=NEVER")).startswith(b"555")
        assert (await say(b"DATA")).startswith(b"503 ")  # no recipient accepted yet
        assert (await say(b"QUIT")).startswith(b"221 ")
    finally:
        writer.close()
    raw, message_id = sample("alternative.eml")
    _, address = district_address()
    assert await mail.send(raw, [address]) == {}
    assert len(await mail.filed(message_id)) == 1
