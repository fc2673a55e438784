"""The e-mail channel's small pure rules: charsets, encoded words, centre addresses,
robot screening and keyword categories."""

from __future__ import annotations

import base64
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from pydantic import ValidationError

from services.intake.email.config import EmailSettings
from services.intake.email.domain.addresses import Centre, centre_of, is_own_address
from services.intake.email.domain.categories import category_for
from services.intake.email.domain.charsets import Unreadable, decode_header_value, decode_text
from services.intake.email.domain.outcomes import Refuse
from services.intake.email.domain.screening import LOOP_HEADER, ignore_reason
from shared.codes import CategoryCode

THAI = "ศูนย์ดำรงธรรม “ร้องเรียน” …"
DOMAIN = "damrongtham.go.th"


# --- charsets ---------------------------------------------------------------------------


@pytest.mark.parametrize("declared", ["tis-620", "TIS620", "iso-8859-11", "windows-874", "cp874"])
def test_every_thai_charset_name_decodes_with_cp874(declared: str) -> None:
    assert decode_text("ศูนย์ดำรงธรรม".encode("cp874"), declared) == "ศูนย์ดำรงธรรม"


def test_windows874_punctuation_beyond_tis620() -> None:
    assert decode_text(THAI.encode("cp874"), "windows-874") == THAI


@pytest.mark.parametrize("declared", [None, "us-ascii", "iso-8859-1", "windows-1252"])
def test_western_or_missing_label_on_thai_text_is_read_as_utf8_or_tis620(
    declared: str | None,
) -> None:
    assert decode_text(THAI.encode("utf-8"), declared) == THAI
    assert decode_text("ร้องเรียนถนน".encode("cp874"), declared) == "ร้องเรียนถนน"


def test_real_latin1_text_stays_latin1() -> None:
    assert decode_text("Grüße aus Köln".encode("latin-1"), "iso-8859-1") == "Grüße aus Köln"


def test_utf8_label_on_tis620_bytes_falls_back_to_tis620() -> None:
    assert decode_text("ขยะล้นถัง".encode("cp874"), "utf-8") == "ขยะล้นถัง"


def test_undecodable_bytes_are_refused_naming_the_label() -> None:
    with pytest.raises(Unreadable, match=r"declared charset \(utf-8\)"):
        decode_text(bytes(range(0xDB, 0xDF)) * 10, "utf-8")
    with pytest.raises(Unreadable, match=r"\(none\)"):
        decode_text(b"\xfc\xfd\xfe\xff" * 5, None)


def test_cp874_guess_needs_mostly_thai_letters() -> None:
    # Bytes that cp874 can decode but that make Latin-looking mojibake are not Thai.
    with pytest.raises(Unreadable):
        decode_text(b"\xe0\xe1\xe2" + b"abcdefghij" * 3, "x-unknown")


@pytest.mark.parametrize(
    "raw",
    [
        "=?TIS-620?B?" + base64.b64encode("ร้องเรียน".encode("cp874")).decode() + "?=",
        "=?windows-874?Q?" + "".join(f"={b:02X}" for b in "ร้องเรียน".encode("cp874")) + "?=",
        "=?UTF-8?B?" + base64.b64encode("ร้องเรียน".encode()).decode() + "?=",
        "=?utf-8?q?" + "".join(f"={b:02X}" for b in "ร้องเรียน".encode()) + "?=",
    ],
)
def test_encoded_words_in_each_thai_charset(raw: str) -> None:
    assert decode_header_value(raw) == "ร้องเรียน"


@pytest.mark.parametrize("codec", ["utf-8", "cp874"])
def test_raw_8bit_headers_as_the_parser_gives_them(codec: str) -> None:
    raw = b"Subject: " + "หัวเรื่องไทย".encode(codec) + b"\r\n\r\nx"
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    value = next(v for k, v in msg.raw_items() if k == "Subject")
    assert decode_header_value(str(value)).strip() == "หัวเรื่องไทย"


def test_unreadable_encoded_word_is_replaced_not_refused() -> None:
    assert "\ufffd" in decode_header_value(
        "=?x-unknown?B?" + base64.b64encode(b"\xff").decode() + "?="
    )


# --- addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "centre"),
    [
        ("d5001@damrongtham.go.th", Centre("district", "5001", "5001")),
        ("D1001@DamrongTham.GO.TH", Centre("district", "1001", "1001")),
        ("p50@damrongtham.go.th", Centre("province", "50", "5001")),
        ("p14@damrongtham.go.th", Centre("province", "14", "1401")),  # not named Mueang
        ("p10@damrongtham.go.th", Centre("province", "10", "1001")),  # Bangkok
    ],
)
def test_centre_addresses(address: str, centre: Centre) -> None:
    assert centre_of(address, DOMAIN) == centre


@pytest.mark.parametrize(
    "address",
    [
        "d9999@damrongtham.go.th",  # no such district
        "p99@damrongtham.go.th",  # no such province
        "d500@damrongtham.go.th",
        "p5001@damrongtham.go.th",
        "d5001+x@damrongtham.go.th",
        "d5001@example.com",
        "d5001@damrongtham.go.th.evil.example",
        "admin@damrongtham.go.th",
        "d5001",
        "",
    ],
)
def test_addresses_naming_no_centre(address: str) -> None:
    assert centre_of(address, DOMAIN) is None


def test_own_domain() -> None:
    assert is_own_address("noreply@DAMRONGTHAM.go.th", DOMAIN)
    assert not is_own_address("x@damrongtham.go.th.example", DOMAIN)


# --- screening --------------------------------------------------------------------------


def _msg(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("x")
    return msg


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-generated"}, "auto_submitted"),
        ({"Auto_Submitted": "auto-replied; owner-email=x@y.z"}, "auto_submitted"),
        ({"Precedence": "bulk"}, "precedence"),
        ({"Precedence": "JUNK"}, "precedence"),
        ({"Precedence": "list"}, "precedence"),
        ({"X_Autorespond": "yes"}, "autoreply_header"),
        ({"X_Autoreply": "yes"}, "autoreply_header"),
        ({LOOP_HEADER: DOMAIN}, "own_loop"),
    ],
)
def test_robot_headers(headers: dict[str, str], reason: str) -> None:
    assert ignore_reason(_msg(**headers), "a@b.c", ["a@b.c"], domain=DOMAIN, max_hops=30) == reason


def test_a_person_is_not_ignored() -> None:
    msg = _msg(Auto_Submitted="no", Precedence="normal")
    assert ignore_reason(msg, "a@b.c", ["a@b.c"], domain=DOMAIN, max_hops=30) is None


def test_senders_and_hops() -> None:
    msg = _msg()
    assert ignore_reason(msg, "<>", ["a@b.c"], domain=DOMAIN, max_hops=30) == "null_sender"
    own = ["d5001@damrongtham.go.th"]
    assert ignore_reason(msg, "a@b.c", own, domain=DOMAIN, max_hops=30) == "own_sender"
    daemon = ["MAILER-DAEMON@mx.example.com"]
    assert ignore_reason(msg, "a@b.c", daemon, domain=DOMAIN, max_hops=30) == "mailer_daemon"
    for _ in range(4):
        msg["Received"] = "from a by b; Mon, 2 Mar 2026 10:00:00 +0700"
    assert ignore_reason(msg, "a@b.c", ["a@b.c"], domain=DOMAIN, max_hops=3) == "too_many_hops"
    assert ignore_reason(msg, "a@b.c", ["a@b.c"], domain=DOMAIN, max_hops=4) is None


# --- categories -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "text", "category"),
    [
        ("ทวงหนี้โหด", "", CategoryCode.debt_collection),
        ("ทวงหนี้นอกระบบ", "", CategoryCode.informal_debt),  # the more specific rule first
        ("เรื่องร้องเรียน", "มียาบ้าขายในซอย", CategoryCode.drugs),
        ("Corruption at the district office", "", CategoryCode.official_misconduct),
        ("drugstore opening hours", "", CategoryCode.other),  # whole English words only
        ("สวัสดีครับ", "อยากสอบถาม", CategoryCode.other),
        ("ไฟดับ", "ขยะ", CategoryCode.public_utilities),  # the subject before the text
    ],
)
def test_keyword_categories(subject: str, text: str, category: CategoryCode) -> None:
    assert category_for(subject, text) == category


def test_refusal_reply_is_one_ascii_line() -> None:
    reply = Refuse(554, "5.6.0", "x", "ข้อความ\r\nRCPT TO:<evil>\x00\x07 " + "z" * 900).reply()
    assert reply.startswith("554 5.6.0 ") and reply.isascii() and reply.isprintable()
    assert len(reply) <= 500 and "RCPT TO:<evil>?? z" in reply


def test_the_receiver_is_off_until_a_port_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMAIL_SMTP_PORT", raising=False)
    assert not EmailSettings().enabled
    monkeypatch.setenv("EMAIL_SMTP_PORT", "")  # compose's ${EMAIL_SMTP_PORT:-} when unset
    assert not EmailSettings().enabled
    monkeypatch.setenv("EMAIL_SMTP_PORT", "2525")
    monkeypatch.setenv("EMAIL_DOMAIN", "example.go.th")
    config = EmailSettings()
    assert config.enabled and config.email_smtp_port == 2525
    assert config.email_domain == "example.go.th"
    monkeypatch.setenv("EMAIL_SMTP_PORT", "70000")
    with pytest.raises(ValidationError):
        EmailSettings()
