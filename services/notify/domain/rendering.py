"""The messages' texts: a template (subject and body, ``$name`` placeholders) filled in
with a case's values at send time.  The text is never stored: only its template id."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

SIGNATURE = "signature"
LINK_SUFFIX = "_link"


class UnknownTemplate(KeyError):
    """No template by that id (a code/template mismatch: a bug, not a provider failure)."""


@dataclass(frozen=True, slots=True)
class Template:
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered message: ``subject`` for e-mail, ``text`` for every channel."""

    template: str
    subject: str
    text: str


def parse_templates(doc: Mapping[str, object]) -> dict[str, Template]:
    """Templates from a decoded TOML document: ``[id] subject = ..., body = ...``; the
    ``[signature] body`` is appended to every body.  ValueError if one is malformed."""
    out: dict[str, Template] = {}
    for name, table in doc.items():
        if not isinstance(table, Mapping) or not isinstance(table.get("body"), str):
            raise ValueError(f"template {name!r} needs a body")
        subject = table.get("subject", "")
        if not isinstance(subject, str):
            raise ValueError(f"template {name!r}: subject must be text")
        out[name] = Template(subject, table["body"])
    return out


def render(
    templates: Mapping[str, Template],
    template: str,
    params: Mapping[str, str],
    link: str | None = None,
) -> Message:
    """Fill ``template`` in with ``params``; with ``link``, its ``<id>_link`` variant
    (e.g. the closure with its satisfaction link).  A missing value is a bug: KeyError."""
    chosen = f"{template}{LINK_SUFFIX}" if link is not None else template
    if chosen not in templates:
        raise UnknownTemplate(chosen)
    t = templates[chosen]
    values = {**params, **({"link": link} if link is not None else {})}
    body = string.Template(t.body).substitute(values).strip()
    sig = templates.get(SIGNATURE)
    if sig is not None:
        body = f"{body}\n\n{sig.body.strip()}"
    subject = string.Template(t.subject).substitute(values).strip()
    return Message(template=chosen, subject=subject, text=body)
