"""What a received message becomes, and the limits it is read within.  Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from services.intake.email.domain.addresses import Centre

_SPACES = re.compile(r"\s+")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True, slots=True)
class Limits:
    """Our domain, and what one message may cost (``config.EmailSettings``)."""

    domain: str
    max_bytes: int
    max_parts: int
    max_depth: int
    max_hops: int


@dataclass(frozen=True, slots=True)
class Filing:
    """File ``body`` (the REST filing's shape) at ``centre``."""

    body: dict[str, Any]
    centre: Centre
    attachments: int


@dataclass(frozen=True, slots=True)
class Ignore:
    """Accept and drop; ``reason`` is a code for the logs (see ``screening``)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Refuse:
    """Refuse with ``code`` (550, 552, 554) and an enhanced ``status``; ``reason`` is a
    code for the logs, ``text`` the sender's explanation."""

    code: int
    status: str
    reason: str
    text: str

    def reply(self) -> str:
        """The SMTP reply line: printable ASCII, one line, at most 500 characters."""
        text = _UNPRINTABLE.sub("?", _SPACES.sub(" ", self.text))
        return f"{self.code} {self.status} {text}"[:500]


Decision = Filing | Ignore | Refuse
