"""The SMTP receiver: aiosmtpd's protocol on intake's own event loop (one process).

``start`` listens on ``EMAIL_SMTP_PORT`` (nothing when unset) once intake's store is open;
``stop`` stops accepting connections, lets a message being filed finish (up to
``DRAIN_S``), then says 421 to the connections left and closes them.  The handler maps
each SMTP step to a reply: RCPT (550 for an address that names no centre, 452 beyond
``EMAIL_MAX_RECIPIENTS``), DATA (``usecases.receive_message``: 250, or the refusal's
552/554 with its reason, or 451 when the database fails and the sender should retry).
aiosmtpd's own refusals (size, line length) are reworded to the same 552/554 replies.
A filed and an ignored message get the same 250, so a robot learns nothing from it.

Logs name the outcome and reason codes, the complaint and correlation ids: never an
address or a subject (aiosmtpd's own logger, which prints envelopes at INFO, is set to
WARNING).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, AnyStr

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import APIRouter, FastAPI

from services.intake.email.config import EmailSettings
from services.intake.email.domain.addresses import centre_of
from services.intake.email.domain.costs import MAX_LINE
from services.intake.email.domain.outcomes import Ignore, Limits, Refuse
from services.intake.email.usecases import Accepted, Mailroom, receive_message
from shared.faults import is_transient
from shared.runtime import Runtime

router = APIRouter()  # the channel speaks SMTP, not HTTP
log = structlog.get_logger()

DRAIN_S = 10.0
READERS = 2  # messages read at once (CPU-bound: more threads would not read faster)
OK = "250 2.0.0 OK: message accepted"
RETRY = "451 4.3.0 Temporary failure: please try again later"
UNKNOWN_RECIPIENT = (
    "550 5.1.1 No such Damrongtham centre: write to d<DOPA district code>@ or "
    "p<DOPA province code>@"
)
# aiosmtpd's own refusals (the size announced or counted, a line over RFC 5321's limit),
# answered and logged as ours are: (start of its reply, our reason code).
_LIBRARY_REFUSALS = (
    ("552 Error: message size exceeds", "too_large"),
    ("552 Error: Too much mail data", "too_large"),
    ("500 Line too long", "line_too_long"),
)


@dataclass
class _Receiver:
    """aiosmtpd's handler (its ``handle_*`` hooks) and the messages being filed."""

    room: Mailroom
    config: EmailSettings
    busy: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self.config.email_max_recipients:
            return "452 4.5.3 Too many recipients"
        if centre_of(address, self.config.email_domain) is None:
            log.info("email.refused", reason="unknown_recipient", smtp_code=550)
            return UNKNOWN_RECIPIENT
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        with structlog.contextvars.bound_contextvars(correlation_id=str(uuid.uuid4())):
            self.busy += 1
            self.idle.clear()
            try:
                outcome = await receive_message(
                    self.room,
                    raw,
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=list(envelope.rcpt_tos),
                    now=dt.datetime.now(dt.UTC),
                )
            except Exception as exc:  # noqa: BLE001 - the sender's server keeps it and retries
                # The type only: a database error's text can quote the values it refused.
                level = log.warning if is_transient(exc) else log.error
                level("email.failed", error=type(exc).__name__, size=len(raw))
                return RETRY
            finally:
                self.busy -= 1
                if not self.busy:
                    self.idle.set()
            return _answer(outcome, len(raw))

    async def handle_exception(self, error: Exception) -> str:
        log.error("email.session_failed", error=type(error).__name__)
        return RETRY


def _answer(outcome: Accepted | Ignore | Refuse, size: int) -> str:
    if isinstance(outcome, Accepted):
        log.info(
            "email.filed" if not outcome.filed.replayed else "email.replayed",
            complaint_id=str(outcome.filed.complaint_id),
            tracking_no=outcome.filed.tracking_no,
            district_code=outcome.district_code,
            category=outcome.category,
            attachments=outcome.attachments,
            size=size,
        )
        return OK
    if isinstance(outcome, Ignore):
        log.info("email.ignored", reason=outcome.reason, size=size)
        return OK
    log.info("email.refused", reason=outcome.reason, smtp_code=outcome.code, size=size)
    return outcome.reply()


class _Smtp(SMTP):
    """aiosmtpd's protocol, keeping the set of open connections and logging its own
    refusals (size, line length) as the handler logs ours."""

    def __init__(self, handler: _Receiver, open_: set[_Smtp], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._open = open_

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._open.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._open.discard(self)
        super().connection_lost(error)

    async def push(self, status: AnyStr) -> None:
        text = status if isinstance(status, str) else status.decode("ascii", "replace")
        for start, reason in _LIBRARY_REFUSALS:
            if text.startswith(start):
                refusal = self._refusal(reason)
                log.info("email.refused", reason=reason, smtp_code=refusal.code)
                await super().push(refusal.reply())
                return
        await super().push(status)

    def _refusal(self, reason: str) -> Refuse:
        if reason == "too_large":
            text = f"message too large: at most {self.data_size_limit} bytes"
            return Refuse(552, "5.3.4", reason, text)
        return Refuse(554, "5.6.0", reason, f"a line is longer than {MAX_LINE} octets")


@dataclass
class SmtpReceiver:
    """The listening server (``port`` is the one bound: useful when configured as 0)."""

    server: asyncio.Server
    handler: _Receiver
    connections: set[_Smtp]

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])


async def start(app: FastAPI, runtime: Runtime) -> None:
    """Listen for mail when ``EMAIL_SMTP_PORT`` is set; ``app.state.email_receiver`` is the
    receiver (None when off).  ``app.state.email_settings`` may be set before the app
    starts; otherwise the environment is read."""
    config: EmailSettings = getattr(app.state, "email_settings", None) or EmailSettings()
    app.state.email_receiver = None
    if config.email_smtp_port is None:
        return
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # it logs addresses at INFO
    limits = Limits(
        domain=config.email_domain.lower(),
        max_bytes=config.email_max_bytes,
        max_parts=config.email_max_parts,
        max_depth=config.email_max_depth,
        max_hops=config.email_max_hops,
    )
    readers = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="email-reader")
    room = Mailroom(app.state.store, runtime.settings, app.state.pii_keys, limits, readers)
    handler = _Receiver(room, config)
    handler.idle.set()
    connections: set[_Smtp] = set()
    loop = asyncio.get_running_loop()

    def protocol() -> _Smtp:
        return _Smtp(
            handler,
            connections,
            data_size_limit=config.email_max_bytes,
            hostname=config.email_hostname or config.email_domain,
            timeout=config.email_timeout_s,
            command_call_limit=100,
            loop=loop,
        )

    server = await loop.create_server(protocol, config.email_smtp_host, config.email_smtp_port)
    app.state.email_receiver = receiver = SmtpReceiver(server, handler, connections)
    log.info("email.listening", host=config.email_smtp_host, port=receiver.port)


async def stop(app: FastAPI) -> None:
    """Stop listening, let filings in progress finish, close what is left."""
    receiver: SmtpReceiver | None = getattr(app.state, "email_receiver", None)
    if receiver is None:
        return
    app.state.email_receiver = None
    receiver.server.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(receiver.handler.idle.wait(), DRAIN_S)
    for connection in list(receiver.connections):
        transport = connection.transport
        if transport is not None and isinstance(transport, asyncio.WriteTransport):
            transport.write(b"421 4.3.2 Service shutting down\r\n")
            transport.close()
    await receiver.server.wait_closed()
    receiver.handler.room.readers.shutdown(wait=False, cancel_futures=True)
    log.info("email.stopped")
