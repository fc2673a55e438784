"""Hostile messages: bombs, huge bodies, long lines, wrong encodings, junk.  Each is
refused or read quickly and never raises (read_message's contract)."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest

from services.intake.email.domain.html_text import html_to_text
from services.intake.email.domain.outcomes import Decision, Filing, Limits, Refuse
from services.intake.email.domain.reading import read_message

NOW = dt.datetime(2026, 3, 3, 2, 0, tzinfo=dt.UTC)
LIMITS = Limits("damrongtham.go.th", max_bytes=1_000_000, max_parts=50, max_depth=10, max_hops=30)
HEAD = b"From: a@example.com\r\nTo: d5001@damrongtham.go.th\r\nSubject: s\r\n"


def read(raw: bytes, limits: Limits = LIMITS) -> Decision:
    started = time.perf_counter()
    decision = read_message(
        raw, mail_from="a@example.com", rcpt_tos=["d5001@damrongtham.go.th"], limits=limits, now=NOW
    )
    assert time.perf_counter() - started < 2.0, "a hostile message must be cheap to read"
    return decision


def refused(raw: bytes, reason: str, code: int = 554, limits: Limits = LIMITS) -> Refuse:
    decision = read(raw, limits)
    assert isinstance(decision, Refuse), decision
    assert (decision.reason, decision.code) == (reason, code)
    reply = decision.reply()
    assert reply.isascii() and "\r" not in reply and "\n" not in reply
    return decision


def nested(depth: int) -> bytes:
    """``depth`` multiparts inside one another, a text part at the bottom."""
    out = HEAD + b"MIME-Version: 1.0\r\n"
    for level in range(depth):
        out += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level)
    out += b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    for level in reversed(range(depth)):
        out += b"--b%d--\r\n" % level
    return out


def test_oversize_message_is_refused_with_552_and_the_limit() -> None:
    raw = HEAD + b"\r\n" + (b"x" * 900 + b"\r\n") * 1200
    assert "at most 1000000 bytes" in refused(raw, "too_large", 552).reply()


def test_line_longer_than_rfc5322_allows_is_refused() -> None:
    refused(HEAD + b"\r\n" + b"y" * 999 + b"\r\n", "line_too_long")
    assert isinstance(read(HEAD + b"\r\n" + b"y" * 998 + b"\r\n"), Filing)


def test_deeply_nested_multipart_bomb_is_refused_before_parsing() -> None:
    refused(nested(5000), "too_many_parts")


def test_nesting_within_the_part_count_but_too_deep_is_refused() -> None:
    assert "at most 10" in refused(nested(12), "too_deep").reply()
    body = read(nested(8))
    assert isinstance(body, Filing) and body.body["description"] == "deep"


def test_too_many_sibling_parts_is_refused() -> None:
    parts = b"".join(b"--z\r\nContent-Type: text/plain\r\n\r\np\r\n" for _ in range(5000))
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="z"\r\n\r\n' + parts + b"--z--\r\n"
    refused(raw, "too_many_parts")


def test_parts_hidden_from_the_prescan_are_still_counted_after_parsing() -> None:
    # Content-Type headers folded so the byte scan misses them: the walk counts them.
    part = b"--z\r\nContent-Type:\r\n text/plain\r\n\r\np\r\n"
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="z"\r\n\r\n' + part * 60 + b"--z--\r\n"
    small = Limits("damrongtham.go.th", 1_000_000, max_parts=50, max_depth=10, max_hops=30)
    refused(raw, "too_many_parts", limits=small)


def test_deeply_nested_html_is_read_without_recursion() -> None:
    html = "<div>" * 100_000 + "ข้อความ" + "</div>" * 100_000
    assert html_to_text(html) == ""  # cut at MAX_HTML_CHARS before the text: bounded work
    assert html_to_text("<div>" * 1000 + "ข้อความ" + "</div>" * 1000) == "ข้อความ"


@pytest.mark.parametrize(
    "html",
    [
        "<a" * 50_000,  # each an unclosed start tag: html.parser alone took 27 s
        "<!-- --" * 14_000,  # unclosed comments: 11 s
        "<a b='>'" * 12_500,  # a quote that runs into the next tag: 27 s
        "</" * 50_000,
        "<?" * 50_000,
        "<!DOCTYPE a '>" * 7_000,
        "<" + "a" * 99_000,
        "<!--" + "<a>" * 33_000,
        "<script>" + "<a" * 50_000,
    ],
)
def test_html_that_makes_the_parser_rescan_is_read_in_linear_time(html: str) -> None:
    started = time.perf_counter()
    html_to_text(html)
    assert time.perf_counter() - started < 1.0


def test_html_simplification_keeps_the_text() -> None:
    html = "<p class='x'>a < b, c<d</p><!-- x > y --><br/>e &amp; f<?php x ?><![CDATA[z]]>"
    assert html_to_text(html) == "a < b, c<d\n\ne & f"


def test_html_with_unclosed_head_still_shows_the_body() -> None:
    assert html_to_text("<html><head><title>t</title><body><p>เนื้อหา</p>") == "เนื้อหา"


def test_unclosed_script_hides_the_rest_rather_than_showing_code() -> None:
    assert "alert" not in html_to_text("<p>a</p><script>alert(1)")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"\x00\x01\x02\x03",
        b":::\r\n\r\n",
        HEAD + b"Content-Type: multipart/mixed\r\n\r\nno boundary parameter\r\n",
        HEAD + b'Content-Type: multipart/mixed; boundary="q"\r\n\r\nno parts, no end\r\n',
        HEAD + b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64@@@\r\n",
        HEAD + b'Content-Type: text/plain; charset="\r\n\r\nunterminated\r\n',
        HEAD + b"Content-Type: text/plain; charset=base64\r\n\r\nbytes codec\r\n",
        HEAD + b"Content-Type: text/plain; charset=x-klingon\r\n\r\n\xe0\xb8\x81\r\n",
        HEAD + b"Content-Type: message/rfc822\r\n\r\nFrom: b@c.d\r\n\r\ninner\r\n",
        b"From: =?utf-8?B?####?= <a@b.c>\r\nSubject: =?x-unknown?Q?=FF?=\r\n\r\nt\r\n",
        b"From: " + b"<a@b.c>, " * 2000 + b"\r\n\r\nmany senders\r\n",
        b"Subject: " + b"=?utf-8?B?4LiB?= " * 300 + b"\r\nFrom: a@b.c\r\n\r\nwords\r\n",
    ],
)
def test_malformed_input_gets_a_decision_never_an_exception(raw: bytes) -> None:
    decision = read(raw)
    if isinstance(decision, Filing):
        assert decision.body["subject"] and decision.body["description"]


def test_random_bytes_never_raise() -> None:
    rng = random.Random(11)
    for _ in range(300):
        size = rng.randrange(0, 3000)
        junk = bytes(rng.randrange(256) for _ in range(size))
        read(HEAD + junk if rng.random() < 0.5 else junk)


def test_unknown_charset_with_utf8_text_is_read_and_with_junk_is_refused() -> None:
    head = HEAD + b"Content-Type: text/plain; charset=x-klingon\r\n\r\n"
    decision = read(head + "ร้องเรียน".encode() + b"\r\n")
    assert isinstance(decision, Filing) and decision.body["description"] == "ร้องเรียน"
    assert "(x-klingon)" in refused(head + b"\x81\xff\xfe\x80\r\n", "unreadable_text").text


def _folded(text: str) -> bytes:
    return "\r\n ".join(text[i : i + 70] for i in range(0, len(text), 70)).encode()


@pytest.mark.parametrize(
    ("raw", "limit"),
    [
        (HEAD + b"Content-Type: text/plain; " + _folded("a=b; " * 4_000) + b"\r\n\r\nx", "2048"),
        (
            HEAD
            + b'Content-Type: multipart/mixed; boundary="z"\r\n\r\n'
            + b"--z\r\nContent-Type: text/plain; "
            + _folded("a=b; " * 4_000)
            + b"\r\n\r\nx\r\n--z--\r\n",
            "2048",
        ),
        (HEAD + b"Content-Disposition: inline; " + _folded("a=b; " * 2_000) + b"\r\n\r\nx", "2048"),
        (HEAD + b"X-Long: " + _folded("x" * 200_000) + b"\r\n\r\nx", "131072"),
    ],
)
def test_headers_too_long_for_the_parser_are_refused_before_parsing(raw: bytes, limit: str) -> None:
    assert f"longer than {limit} octets" in refused(raw, "header_too_long").text


def test_many_parts_with_long_mime_fields_are_refused_by_their_sum() -> None:
    part = b"--z\r\nContent-Type: text/plain; " + _folded("a=b; " * 350) + b"\r\n\r\nx\r\n"
    raw = HEAD + b'Content-Type: multipart/mixed; boundary="z"\r\n\r\n' + part * 40 + b"--z--\r\n"
    assert "together" in refused(raw, "header_too_long").text


def test_long_but_sane_headers_are_read() -> None:
    received = b"Received: from relay.example.com by mx.example.com; Mon, 2 Mar 2026\r\n" * 20
    name = "".join(f" name*{i}*=utf-8''%E0%B8%81%E0%B8%82;" for i in range(25))  # 1.5 kB
    ctype = b"Content-Type: text/plain; charset=utf-8;" + _folded(name) + b"\r\n"
    decision = read(HEAD + received + ctype + "\r\nข้อความ\r\n".encode())
    assert isinstance(decision, Filing) and decision.body["description"] == "ข้อความ"
