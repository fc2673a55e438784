"""What a received message becomes (services/intake/email/domain/reading.py), on the sample
messages in tests/integration/intake/mail_samples and on hostile ones built here."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from services.intake.domain.validation import DESCRIPTION_MAX, SUBJECT_MAX, parse_complaint
from services.intake.email.domain.outcomes import Decision, Filing, Ignore, Limits, Refuse
from services.intake.email.domain.reading import read_message

SAMPLES = Path(__file__).parents[2] / "integration" / "intake" / "mail_samples"
NOW = dt.datetime(2026, 3, 3, 2, 0, tzinfo=dt.UTC)
LIMITS = Limits("damrongtham.go.th", max_bytes=1_000_000, max_parts=50, max_depth=10, max_hops=30)
D5001 = "d5001@damrongtham.go.th"


def read(raw: bytes, *, mail_from: str = "sender@example.com", to: str = D5001) -> Decision:
    return read_message(raw, mail_from=mail_from, rcpt_tos=[to], limits=LIMITS, now=NOW)


def sample(name: str, **kw: Any) -> Decision:
    return read((SAMPLES / name).read_bytes(), **kw)


def filing(decision: Decision) -> dict[str, Any]:
    assert isinstance(decision, Filing), decision
    parse_complaint(decision.body, NOW)  # every filing is one intake accepts
    return decision.body


def message(body: str = "ถนนชำรุด", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Somchai <somchai@example.com>")
    msg["To"] = D5001
    msg["Subject"] = headers.pop("Subject", "ร้องเรียน")
    msg["Message-ID"] = headers.pop("Message_ID", "<m-1@example.com>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


# --- the sample messages ---------------------------------------------------------------


def test_utf8_base64_subject_and_quoted_printable_body() -> None:
    body = filing(sample("thai_base64_subject.eml"))
    assert body["subject"] == "ขอความช่วยเหลือ ถนนชำรุดหน้าบ้าน"
    assert body["description"].startswith("เรียน ศูนย์ดำรงธรรมอำเภอเมืองเชียงใหม่\n\nถนนในหมู่บ้าน")
    assert body["channel"] == "email" and body["district_code"] == "5001"
    assert body["channel_ref"] == "<20260302091500.4711@mail.example.co.th>"
    assert body["complainant"] == {
        "anonymous": False,
        "name": "สมชาย ใจดี",
        "email": "somchai.jaidee@example.co.th",
        "notify": ["email"],
    }
    assert body["received_at"] == "2026-03-02T09:15:00+07:00"


def test_tis620_quoted_printable_subject_and_8bit_body() -> None:
    body = filing(sample("tis620_qp_subject.eml"))
    assert body["subject"] == "แจ้งเรื่องหนี้นอกระบบ ดอกเบี้ยร้อยละ 20 ต่อเดือน"
    assert "ถูกทวงถามข่มขู่ทุกวัน" in body["description"]
    assert body["category"] == "informal_debt"  # before debt collection: more specific


def test_windows874_body_with_its_own_punctuation_to_a_province_address() -> None:
    decision = sample("windows874_body.eml", to="p50@damrongtham.go.th")
    body = filing(decision)
    assert isinstance(decision, Filing) and decision.centre.kind == "province"
    assert body["district_code"] == "5001"  # the provincial centre, in the capital district
    assert body["subject"] == "ร้องเรียนกลิ่นเหม็นจากโรงงาน"
    assert "“ทุกคืน” …" in body["description"]
    assert body["category"] == "environment"


def test_html_only_mail_becomes_text_without_head_style_or_script() -> None:
    body = filing(sample("html_only.eml", to="d1001@damrongtham.go.th"))
    text = body["description"]
    assert text.startswith("ไฟฟ้าส่องสว่างในซอย 5 ดับมา 2 สัปดาห์")
    assert "- เสาที่ 2 & 3" in text and "ขอบคุณครับ\nนรงค์" in text
    for hidden in ("alert", "color", "ignored title", "comment", "<"):
        assert hidden not in text


def test_alternative_picks_plain_and_the_subject_decides_the_category_first() -> None:
    body = filing(sample("alternative.eml"))
    assert body["description"] == "เพื่อนบ้านสร้างรั้วรุกล้ำที่ดินของดิฉัน (plain part)"
    assert body["category"] == "dispute_mediation"  # "dispute" in the subject beats "ที่ดิน"


def test_attachment_is_counted_not_kept_and_text_found_in_nested_alternative() -> None:
    decision = sample("attachment.eml")
    body = filing(decision)
    assert isinstance(decision, Filing) and decision.attachments == 1
    assert body["description"].startswith("มีการเรียกรับเงินในการจัดซื้อ")
    assert "แนบไฟล์ 1 รายการ" in body["description"] and "evidence" not in body["description"]
    assert body["category"] == "official_misconduct"


def test_body_declared_latin1_but_written_in_utf8_is_read_as_utf8() -> None:
    body = filing(sample("mislabelled_utf8.eml"))
    assert body["description"] == "มีบ่อนการพนันเปิดทุกคืนที่ศาลาหมู่บ้าน"
    assert body["category"] == "gambling"


@pytest.mark.parametrize(
    ("name", "mail_from", "reason"),
    [
        ("bounce_dsn.eml", "mailer-daemon@mail.example.com", "delivery_report"),
        ("bounce_dsn.eml", "<>", "null_sender"),
        ("auto_reply.eml", "somsri@example.com", "auto_submitted"),
        ("loop.eml", "somchai@example.com", "own_loop"),
    ],
)
def test_robots_are_ignored(name: str, mail_from: str, reason: str) -> None:
    assert sample(name, mail_from=mail_from) == Ignore(reason)


def test_8bit_junk_is_refused_with_the_declared_charset_named() -> None:
    decision = sample("junk_8bit.eml")
    assert isinstance(decision, Refuse) and decision.code == 554
    assert decision.reason == "unreadable_text"
    assert decision.reply().startswith("554 5.6.0 the text is not readable as its declared")
    assert "(utf-8)" in decision.reply()


# --- what is read from the headers ------------------------------------------------------


def test_no_message_id_gives_a_digest_that_a_resend_repeats() -> None:
    first = filing(read(message(Message_ID="").as_bytes()))
    again = message(Message_ID="")
    again["Received"] = "from relay.example.com by mx.example.com; Tue, 3 Mar 2026 09:00 +0700"
    assert first["channel_ref"].startswith("sha256:")
    assert filing(read(again.as_bytes()))["channel_ref"] == first["channel_ref"]
    other = filing(read(message("อีกเรื่องหนึ่ง", Message_ID="").as_bytes()))
    assert other["channel_ref"] != first["channel_ref"]


@pytest.mark.parametrize("message_id", ["<a b@c>", "<" + "x" * 250 + "@example.com>", "<ก@c>"])
def test_message_id_with_spaces_too_long_or_not_ascii_is_not_used_as_is(message_id: str) -> None:
    raw = f"From: a@example.com\r\nMessage-ID: {message_id}\r\nSubject: s\r\n\r\nt\r\n"
    assert filing(read(raw.encode()))["channel_ref"].startswith("sha256:")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (NOW - dt.timedelta(hours=3), True),
        (NOW + dt.timedelta(minutes=2), True),  # a sender's clock a little fast
        (NOW + dt.timedelta(hours=2), False),  # the future
        (NOW - dt.timedelta(days=30), False),  # backdated
    ],
)
def test_date_header_is_the_received_time_only_when_plausible(
    sent: dt.datetime, kept: bool
) -> None:
    body = filing(read(message(Date=format_datetime(sent)).as_bytes()))
    assert ("received_at" in body) is kept
    if kept:
        assert dt.datetime.fromisoformat(body["received_at"]) == sent


def test_garbled_date_is_ignored() -> None:
    assert "received_at" not in filing(read(message(Date="yesterday-ish").as_bytes()))


def test_no_from_header_falls_back_to_the_envelope_sender() -> None:
    raw = b"To: d5001@damrongtham.go.th\r\nSubject: x\r\n\r\ntext\r\n"
    assert filing(read(raw, mail_from="env@example.com"))["complainant"]["email"] == (
        "env@example.com"
    )


def test_no_sender_anywhere_is_refused() -> None:
    raw = b"From: nobody\r\nSubject: x\r\n\r\ntext\r\n"
    decision = read(raw, mail_from="no-at-sign")
    assert isinstance(decision, Refuse) and decision.reason == "no_sender"


def test_folded_display_name_is_one_line() -> None:
    raw = b"From: =?utf-8?B?4Liq4Lih4LiK4Liy4Lii?=\r\n\t=?utf-8?B?IOC5g+C4iOC4lOC4tQ==?=\r\n"
    raw += b"  Jr. <s@example.com>\r\nSubject: s\r\n\r\nt\r\n"
    assert filing(read(raw))["complainant"]["name"] == "สมชาย ใจดี Jr."


def test_encoded_display_name_with_a_comma_and_an_at_sign_is_only_a_name() -> None:
    raw = b"From: =?utf-8?Q?Doe=2C_John_x=40evil.example?= <john@example.com>\r\n\r\nt\r\n"
    complainant = filing(read(raw))["complainant"]
    assert complainant["email"] == "john@example.com"
    assert complainant["name"] == "Doe, John x@evil.example"


def test_display_name_absent_uses_the_address_as_name() -> None:
    body = filing(read(message(From="plain@example.com").as_bytes()))
    assert body["complainant"]["name"] == "plain@example.com"


def test_no_subject_takes_the_first_line_and_no_text_takes_the_subject() -> None:
    body = filing(read(message("บรรทัดแรก\nบรรทัดสอง", Subject="").as_bytes()))
    assert body["subject"] == "บรรทัดแรก"
    body = filing(read(message("", Subject="หัวเรื่องเท่านั้น").as_bytes()))
    assert body["description"] == "หัวเรื่องเท่านั้น"


def test_nothing_to_read_is_refused() -> None:
    decision = read(message("", Subject="").as_bytes())
    assert isinstance(decision, Refuse) and decision.reason == "empty"


def test_long_subject_and_text_are_cut_to_what_intake_stores() -> None:
    body = filing(read(message("ก" * 50_000, Subject="ข" * 1000).as_bytes()))
    assert len(body["subject"]) == SUBJECT_MAX and body["subject"].endswith("…")
    assert len(body["description"]) == DESCRIPTION_MAX
    assert body["description"].endswith("ยาวเกินกว่าที่ระบบรับได้]")


def test_control_characters_are_dropped() -> None:
    body = filing(read(message("a\x00b\x1bc\x0cd\ttab", Subject="s\x07ubject").as_bytes()))
    assert body["description"] == "abcd\ttab" and body["subject"] == "subject"


def test_first_recipient_naming_a_centre_decides_the_district() -> None:
    raw = message().as_bytes()
    rcpts = ["someone@damrongtham.go.th", "d1001@damrongtham.go.th", D5001]
    decision = read_message(raw, mail_from="a@example.com", rcpt_tos=rcpts, limits=LIMITS, now=NOW)
    assert filing(decision)["district_code"] == "1001"
    none = read_message(raw, mail_from="a@example.com", rcpt_tos=["x@y.z"], limits=LIMITS, now=NOW)
    assert isinstance(none, Refuse) and none.code == 550
