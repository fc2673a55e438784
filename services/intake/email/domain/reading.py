"""What one received message becomes: a filing, ignored, or refused.  Pure.

``read_message`` takes the message's bytes as the SMTP layer received them, the envelope
(return path, recipients), the limits and the time, and decides in this order:

1. refuse what costs too much to read (``costs``, on the bytes: size 552, lines, parts,
   header lengths 554), then after parsing more parts than ``max_parts`` or nesting
   deeper than ``max_depth`` (554);
2. ignore what no person wrote (``screening``: bounces, auto-replies, loops);
3. read the rest: subject and From in any Thai charset (``charsets``), the body from
   ``text/plain``, else ``text/html`` made text (``html_text``), attachments counted but
   not kept; refuse when there is no sender or nothing to read, or when the text cannot
   be decoded;
4. the filing: a body shaped like ``POST /v1/complaints`` for ``parse_complaint``.

Replies and reasons are ASCII and carry no personal data (no address, no subject).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from email import policy
from email.errors import MessageError
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from services.intake.domain.validation import DESCRIPTION_MAX, NAME_MAX, REF_MAX, SUBJECT_MAX
from services.intake.email.domain.addresses import centre_of
from services.intake.email.domain.categories import category_for
from services.intake.email.domain.charsets import Unreadable, decode_header_value, decode_text
from services.intake.email.domain.costs import too_costly, too_many_parts
from services.intake.email.domain.html_text import html_to_text
from services.intake.email.domain.outcomes import Decision, Filing, Ignore, Limits, Refuse
from services.intake.email.domain.screening import ignore_reason

DATE_WINDOW = dt.timedelta(days=7)
DATE_SKEW = dt.timedelta(minutes=5)
CUT = "\n[ข้อความถูกตัด: ยาวเกินกว่าที่ระบบรับได้]"
_MESSAGE_ID = re.compile(rf"^[\x21-\x7e]{{1,{REF_MAX}}}$")
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")
_MALFORMED = (MessageError, ValueError, LookupError, TypeError, AttributeError, RecursionError)


def read_message(
    raw: bytes, *, mail_from: str, rcpt_tos: list[str], limits: Limits, now: dt.datetime
) -> Decision:
    """Decide what ``raw`` (a whole message, CRLF or LF lines) becomes; never raises."""
    costly = too_costly(raw, limits)
    if costly is not None:
        return costly
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(msg, EmailMessage)
        return _read(msg, raw, mail_from, rcpt_tos, limits, now)
    except _MALFORMED:
        return Refuse(554, "5.6.0", "malformed", "the message could not be parsed (RFC 5322/MIME)")


def _read(
    msg: EmailMessage,
    raw: bytes,
    mail_from: str,
    rcpt_tos: list[str],
    limits: Limits,
    now: dt.datetime,
) -> Decision:
    leaves = _leaves(msg, limits)
    if isinstance(leaves, Refuse):
        return leaves
    centre = next((c for c in (centre_of(a, limits.domain) for a in rcpt_tos) if c), None)
    if centre is None:
        return Refuse(550, "5.1.1", "no_centre", "no recipient is a Damrongtham centre address")
    senders = _from(msg)
    why = ignore_reason(
        msg, mail_from, [a for _, a in senders], domain=limits.domain, max_hops=limits.max_hops
    )
    if why is not None:
        return Ignore(why)
    if not senders and "@" in mail_from:
        senders = [("", mail_from.strip("<>"))]
    if not senders:
        return Refuse(554, "5.6.0", "no_sender", "the message has no sender address (From)")
    body = msg.get_body(preferencelist=("plain", "html"))
    try:
        text = _text_of(body) if body is not None else ""
    except Unreadable as exc:
        return Refuse(554, "5.6.0", "unreadable_text", str(exc))
    attachments = sum(1 for part in leaves if part is not body and _is_file(part))
    subject = _clean(_SPACES.sub(" ", _header(msg, "Subject")))
    description = _clean(text)
    if not subject and not description:
        return Refuse(554, "5.6.0", "empty", "the message has no subject and no text")
    subject = _cut(subject or description.split("\n", 1)[0], SUBJECT_MAX, "…")
    description = description or subject
    if attachments:
        description += f"\n\n[แนบไฟล์ {attachments} รายการ: ระบบยังไม่รับไฟล์แนบทางอีเมล]"
    description = _cut(description, DESCRIPTION_MAX, CUT)
    name, address = senders[0]
    filing: dict[str, Any] = {
        "channel": "email",
        "district_code": centre.district_code,
        "category": category_for(subject, description).value,
        "subject": subject,
        "description": description,
        "complainant": {
            "anonymous": False,
            "name": _cut(_SPACES.sub(" ", _clean(name)) or address, NAME_MAX, ""),
            "email": address,
            # Writing to us by e-mail asks for the answer by e-mail: the receipt with the
            # tracking number and the case's news go back to this address.
            "notify": ["email"],
        },
        "channel_ref": _channel_ref(msg, address, subject, description),
    }
    received_at = _received_at(msg, now)
    if received_at is not None:
        filing["received_at"] = received_at
    return Filing(filing, centre, attachments)


def _leaves(msg: EmailMessage, limits: Limits) -> list[MIMEPart] | Refuse:
    """Every non-multipart part, walked without recursion within the limits."""
    stack: list[tuple[MIMEPart, int]] = [(msg, 1)]
    seen = 0
    leaves: list[MIMEPart] = []
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > limits.max_parts:
            return too_many_parts(limits)
        if depth > limits.max_depth:
            return Refuse(
                554, "5.6.0", "too_deep", f"MIME parts nested too deep: at most {limits.max_depth}"
            )
        if part.is_multipart():
            payload = part.get_payload()
            assert isinstance(payload, list)
            stack.extend((p, depth + 1) for p in reversed(payload) if isinstance(p, MIMEPart))
        else:
            leaves.append(part)
    return leaves


def _is_file(part: MIMEPart) -> bool:
    return part.is_attachment() or part.get_content_maintype() not in ("text", "multipart")


def _header(msg: EmailMessage, name: str) -> str:
    """The decoded text of the first ``name`` header ("" when absent)."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return decode_header_value(str(value))
    return ""


def _from(msg: EmailMessage) -> list[tuple[str, str]]:
    """(display name, addr-spec) of each From address; malformed entries left out.  The
    addresses are found before the names are decoded: a decoded name may hold a comma or
    an "@" of its own."""
    values = [str(v) for k, v in msg.raw_items() if k.lower() == "from"]
    return [
        (decode_header_value(name), address)
        for name, address in getaddresses(values)
        if "@" in address and address.isascii() and address.isprintable()
    ]


def _text_of(part: MIMEPart) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    text = decode_text(data, part.get_content_charset())
    if part.get_content_subtype() == "html":
        return html_to_text(text)
    return text


def _clean(text: str) -> str:
    """Storable text: no control characters, trimmed lines, at most one blank line."""
    text = _FORBIDDEN.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _cut(text: str, limit: int, mark: str) -> str:
    return text if len(text) <= limit else text[: limit - len(mark)].rstrip() + mark


def _channel_ref(msg: EmailMessage, address: str, subject: str, description: str) -> str:
    """The Message-ID as sent; without a usable one, a digest of what was read, so that a
    message re-sent without one still files once."""
    message_id = _header(msg, "Message-ID").strip()
    if _MESSAGE_ID.match(message_id):
        return message_id
    digest = hashlib.sha256("\x00".join((address, subject, description)).encode()).hexdigest()
    return f"sha256:{digest}"


def _received_at(msg: EmailMessage, now: dt.datetime) -> str | None:
    """The Date header when it is plausible (the last week, not in the future), so that a
    re-sent message is the same filing; else None (the time it arrived)."""
    raw = _header(msg, "Date")
    try:
        sent = parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if sent is None or sent.tzinfo is None:
        return None
    if not now - DATE_WINDOW <= sent <= now + DATE_SKEW:
        return None
    return sent.isoformat()
