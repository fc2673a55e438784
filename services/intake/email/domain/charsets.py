"""Text from the bytes of a Thai e-mail: declared charsets, their aliases, best effort.

Thai mail comes in UTF-8, TIS-620 (ISO-8859-11) or Windows-874; Python knows the last as
``cp874`` only (not ``windows-874``), and cp874 is a superset of TIS-620 (it adds curly
quotes, the ellipsis and the euro sign at 0x80-0x9F), so all three Thai names decode with
cp874.  Mislabelled mail is common: a body declared US-ASCII or Latin-1 (or nothing) that
is really UTF-8 or TIS-620.  The rule, in order:

1. the declared charset, strictly, unless it is a "Western" default (none, US-ASCII,
   Latin-1, Windows-1252) and the bytes are not ASCII;
2. UTF-8, strictly;
3. cp874, strictly, when at least 60% of the letters it yields are Thai;
4. the declared Western charset, when one was declared;
5. else the text is unreadable: ``Unreadable`` says which charset was declared.

Strict decoding means a wrong guess fails instead of filing mojibake.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re

THAI = "cp874"
_THAI_NAMES = frozenset(
    {"tis-620", "tis620", "tis_620", "iso-8859-11", "iso8859-11", "iso_8859-11",
     "windows-874", "x-windows-874", "cp874", "ms874", "x-cp874"}
)  # fmt: skip
_WESTERN = frozenset(
    {"", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252"}
)
_THAI_LETTER = re.compile("[\u0e00-\u0e7f]")
_LETTER = re.compile(r"[^\W\d_]")
THAI_SHARE = 0.6
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t]+(=\?)")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


class Unreadable(ValueError):
    """The bytes are not text in the declared charset, UTF-8 or TIS-620."""

    def __init__(self, declared: str) -> None:
        super().__init__(
            f"the text is not readable as its declared charset ({declared[:40] or 'none'}), "
            "UTF-8 or TIS-620"
        )
        self.declared = declared


def codec_of(charset: str | None) -> str | None:
    """Python's codec for a MIME charset name, or None when Python has none."""
    name = (charset or "").strip().strip('"').lower()
    if name in _THAI_NAMES:
        return THAI
    if name in ("", "us-ascii"):
        return "ascii"
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError):  # LookupError: a bytes codec such as "base64"
        return None


def _mostly_thai(text: str) -> bool:
    letters = len(_LETTER.findall(text))
    return letters > 0 and len(_THAI_LETTER.findall(text)) / letters >= THAI_SHARE


def decode_text(data: bytes, declared: str | None) -> str:
    """``data`` as text by the rule above; raises Unreadable."""
    name = (declared or "").strip().strip('"').lower()
    codec = codec_of(name)
    western = name in _WESTERN
    if codec is not None and not (western and not data.isascii()):
        text = _strict(data, codec)
        if text is not None:
            return text
    for guess in ("utf-8", THAI):
        text = _strict(data, guess)
        if text is not None and (guess == "utf-8" or _mostly_thai(text)):
            return text
    if western and codec is not None:
        text = _strict(data, codec)
        if text is not None:
            return text
    raise Unreadable(name)


def decode_header_value(raw: str) -> str:
    """A header's text from its raw value: unfolded, RFC 2047 encoded words in any charset
    above (the space between two encoded words is not text, the space around one is), and
    raw 8-bit bytes (carried as surrogate escapes by the parser) by the same rule as bodies.

    A word that cannot be read is kept as U+FFFD characters rather than refused: a header
    is a label, the body is what matters.  (The standard library's ``decode_header`` loses
    the space between an encoded word and plain text, and knows no ``windows-874``.)
    """
    raw = _BETWEEN_WORDS.sub(r"\1\2", _FOLD.sub("", raw))
    out: list[str] = []
    at = 0
    for word in _ENCODED_WORD.finditer(raw):
        out.append(_plain(raw[at : word.start()]))
        out.append(_word(*word.groups()))
        at = word.end()
    out.append(_plain(raw[at:]))
    return "".join(out)


def _plain(text: str) -> str:
    data = _bytes_of(text)
    try:
        return decode_text(data, None)
    except Unreadable:
        return data.decode("utf-8", "replace")


def _word(charset: str, encoding: str, encoded: str) -> str:
    charset = charset.split("*", 1)[0]  # RFC 2231 adds a language: utf-8*th
    try:
        if encoding in "bB":
            data = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
        else:
            data = binascii.a2b_qp(encoded.encode("ascii", "replace"), header=True)
    except (binascii.Error, ValueError):
        return "\ufffd"
    try:
        return decode_text(data, charset)
    except Unreadable:
        return data.decode(codec_of(charset) or "utf-8", "replace")


def _bytes_of(text: str) -> bytes:
    """The bytes a parsed header string came from (8-bit bytes are surrogate escapes)."""
    try:
        return text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # already text beyond ASCII
        return text.encode("utf-8", "surrogateescape")
