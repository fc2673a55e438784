"""The ways a message reaches a complainant, behind one interface.

Every channel is ``async def send(message, contact, key) -> None`` and raises
``Transient`` (try again later: a 5xx, a timeout, a refused connection, an SMTP 4xx) or
``Permanent`` (never: the provider refused the request or the address).  ``key`` names
the message for good (its case, version and channel), for providers that drop a repeat
(LINE's retry key).  Errors carry a short class of failure, never the provider's text
(it may echo the address) nor the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.notify.domain.rendering import Message


class SendFailed(Exception):
    """A failed send; ``str()`` is its class (e.g. ``http 503``), nothing personal."""


class Transient(SendFailed):
    """May pass: try again later."""


class Permanent(SendFailed):
    """Will not pass however often it is tried."""


@dataclass(frozen=True, slots=True)
class Contact:
    """The consented contact details of one complainant, in memory for one send only."""

    phone: str | None = None
    email: str | None = None
    line_user_id: str | None = None


class Channel(Protocol):
    name: str

    async def send(self, message: Message, contact: Contact, key: str) -> None: ...

    async def close(self) -> None: ...


def http_failure(status: int) -> SendFailed:
    """An HTTP provider's non-2xx answer: 408, 429 and 5xx pass; other 4xx do not."""
    if status in (408, 425, 429) or status >= 500:
        return Transient(f"http {status}")
    return Permanent(f"http {status}")
