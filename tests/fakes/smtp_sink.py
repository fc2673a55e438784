"""A local SMTP server (aiosmtpd, in a thread) that keeps every message it accepts; it can
be told to refuse the next ones with a 4xx or 5xx reply.

    with SmtpSink() as sink:   # NOTIFY_SMTP_HOST = sink.host, NOTIFY_SMTP_PORT = sink.port
        ...
        assert sink.messages_to("a@example.org")[0]["Subject"] == ...
"""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from damrong.embedded import free_port
from tests.fakes.running import Running


@dataclass
class _State:
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # forced replies to RCPT TO
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler:
    def __init__(self, state: _State) -> None:
        self._state = state

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        with self._state.lock:
            if self._state.replies:
                return self._state.replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._state.lock:
            self._state.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


class SmtpSink(Running):
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port(host)
        self._state = _State()
        self._controller = Controller(_Handler(self._state), hostname=host, port=self.port)

    @property
    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        with self._state.lock:
            return list(self._state.messages)

    def messages_to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]

    def refuse_next(self, reply: str = "451 4.3.0 Try again later", times: int = 1) -> None:
        """Answer the next ``times`` recipients with ``reply`` (e.g. ``550 5.1.1 No such
        user``)."""
        with self._state.lock:
            self._state.replies.extend([reply] * times)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
