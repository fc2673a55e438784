"""The readable text of an HTML body, with the standard library's ``html.parser``.

Scripts, styles, the head, templates and comments give no text; block elements and
``<br>`` break lines; list items get a dash; character references are decoded by the
parser; a "<" that opens no complete tag is text.  The parser keeps no tree (no
recursion, any nesting depth) and gets a simplified copy (below) on which its work is
linear; the input is cut at ``MAX_HTML_CHARS`` first: a complaint's description is at
most 10,000 characters, and the cut bounds the work a hostile body can cause.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_HTML_CHARS = 100_000
_HIDDEN = frozenset({"script", "style", "head", "template", "noscript", "title", "svg"})
_BLOCKS = frozenset(
    {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
     "blockquote", "pre", "hr", "section", "article", "header", "footer", "address", "dd",
     "dt", "dl", "form", "fieldset", "center"}
)  # fmt: skip
# html.parser rescans an unclosed construct at every later "<", and a quote in a tag
# to its closing quote: "<a" repeated 99,000 times took it 27 seconds, "<!-- --" repeated
# 28,000 times 11, "<a b='>'" repeated 12,500 times 27 (quadratic).  So the parser is
# given only what it reads in one pass: comments are cut out (an unclosed one ends the
# text), declarations, processing instructions and CDATA markers dropped, attributes
# (which the text does not use) removed, and a "<" that opens no complete tag written as
# "&lt;".  Every pattern stops at the next "<" or ">", and possessive quantifiers (*+)
# never give back what they matched: each pass is linear.
_DECLARATION = re.compile(r"<[!?][^<>]*+>")
_TAG = re.compile(r"<(/?[A-Za-z][A-Za-z0-9:-]*+)[^<>]*+>")
_UNCLOSED = re.compile(r"<(?![^<>]*+>)")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0  # depth inside hidden elements
        self.pre = 0  # depth inside <pre>, where line breaks are the author's

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
            return
        if tag == "body":  # a head left open ends where the body starts
            self.hidden = 0
        if tag == "pre":
            self.pre += 1
        if tag in _BLOCKS:
            self.parts.append("\n- " if tag == "li" else "\n")
        elif tag == "td" or tag == "th":
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:  # <br/>, <hr/>
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
            return
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _BLOCKS and tag != "li":  # an item's break comes with the next one's dash
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            # Outside <pre> a line break in the source is a space on the screen.
            self.parts.append(data if self.pre else data.replace("\r", " ").replace("\n", " "))


def _without_comments(html: str) -> str:
    out: list[str] = []
    at = 0
    while (start := html.find("<!--", at)) >= 0:
        out.append(html[at:start])
        end = html.find("-->", start + 4)
        if end < 0:
            return "".join(out)
        at = end + 3
    out.append(html[at:])
    return "".join(out)


def _simplified(html: str) -> str:
    """``html`` with only bare tags, text and character references (see above)."""
    html = _DECLARATION.sub("", _without_comments(html))
    return _UNCLOSED.sub("&lt;", _TAG.sub(r"<\1>", html))


def html_to_text(html: str) -> str:
    """The visible text of ``html``, lines trimmed, at most one blank line in a row."""
    parser = _Text()
    parser.feed(_simplified(html[:MAX_HTML_CHARS]))
    parser.close()
    text = "".join(parser.parts)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
