"""What a message may cost to read, measured on its bytes before parsing.  Pure.

The standard library's parser does more work per byte on some inputs than on others: a
boundary is checked against every enclosing one on each line (nesting makes it
quadratic), and MIME parameters are parsed in quadratic time, again at each look-up (a
200 kB Content-Type took 17 seconds; 48 parts with 8 kB of parameters in two fields each,
9.5).  So before parsing: the size (552), the longest line (RFC 5322 §2.1.1), the number
of Content-Type fields (each part has at most one), the header block's length, and each
MIME field's length (folded lines included) and their sum (554).  A real message's MIME
fields are short: a long Thai file name, encoded, is well under a kilobyte.  Every check
is one linear pass.
"""

from __future__ import annotations

import re

from services.intake.email.domain.outcomes import Limits, Refuse

MAX_LINE = 998
MAX_HEADER_BLOCK = 128 * 1024
MAX_MIME_FIELD = 2 * 1024
MAX_MIME_FIELDS = 32 * 1024  # all of them together
_CONTENT_TYPE = re.compile(rb"(?im)^content-type[ \t]*:")
_MIME_FIELD = re.compile(rb"(?im)^content-(?:type|disposition|transfer-encoding)[ \t]*:")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def too_costly(raw: bytes, limits: Limits) -> Refuse | None:
    """The refusal for a message that costs too much to read, or None."""
    if len(raw) > limits.max_bytes:
        return Refuse(
            552, "5.3.4", "too_large", f"message too large: at most {limits.max_bytes} bytes"
        )
    if max(len(line.rstrip(b"\r")) for line in raw.split(b"\n")) > MAX_LINE:
        return Refuse(554, "5.6.0", "line_too_long", f"a line is longer than {MAX_LINE} octets")
    if len(_CONTENT_TYPE.findall(raw)) > limits.max_parts:
        return too_many_parts(limits)
    blank = _BLANK_LINE.search(raw)
    if (blank.start() if blank else len(raw)) > MAX_HEADER_BLOCK:
        text = f"the header is longer than {MAX_HEADER_BLOCK} octets"
        return Refuse(554, "5.6.0", "header_too_long", text)
    total = 0
    for field in _MIME_FIELD.finditer(raw):
        end = raw.find(b"\n", field.start())
        while 0 <= end < len(raw) - 1 and raw[end + 1] in b" \t":  # folded: the same field
            end = raw.find(b"\n", end + 1)
        length = (len(raw) if end < 0 else end) - field.start()
        total += length
        if length > MAX_MIME_FIELD:
            text = f"a MIME field is longer than {MAX_MIME_FIELD} octets"
            return Refuse(554, "5.6.0", "header_too_long", text)
        if total > MAX_MIME_FIELDS:
            text = f"the MIME fields are longer than {MAX_MIME_FIELDS} octets together"
            return Refuse(554, "5.6.0", "header_too_long", text)
    return None


def too_many_parts(limits: Limits) -> Refuse:
    return Refuse(
        554, "5.6.0", "too_many_parts", f"too many MIME parts: at most {limits.max_parts}"
    )
