"""The readable text of an HTML body, with the standard library's ``html.parser``.

Scripts, styles, the head, templates and comments give no text; block elements and
``<br>`` break lines; list items get a dash; character references are decoded by the
parser.  The parser keeps no tree (no recursion, any nesting depth), and the input is cut
at ``MAX_HTML_CHARS`` first: a complaint's description is at most 10,000 characters, and
the cut bounds the work a hostile body can cause.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_HTML_CHARS = 200_000
_HIDDEN = frozenset({"script", "style", "head", "template", "noscript", "title", "svg"})
_BLOCKS = frozenset(
    {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
     "blockquote", "pre", "hr", "section", "article", "header", "footer", "address", "dd",
     "dt", "dl", "form", "fieldset", "center"}
)  # fmt: skip
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


def html_to_text(html: str) -> str:
    """The visible text of ``html``, lines trimmed, at most one blank line in a row."""
    parser = _Text()
    parser.feed(html[:MAX_HTML_CHARS])
    parser.close()
    text = "".join(parser.parts)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
