"""E-mail over SMTP: smtplib in a worker thread, one connection per message.

A 4xx reply (greylisting, a full queue), a refused or lost connection and a timeout
pass; a 5xx reply (no such mailbox, refused sender) and an address the server rejects do
not.  The message is plain UTF-8 text; its ``Message-ID`` is derived from the message's
key, so a retry that did reach the server once is recognisable downstream.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, localtime, make_msgid

from services.notify.channels import Contact, Permanent, SendFailed, Transient
from services.notify.domain.rendering import Message


def _smtp_failure(code: int, what: str) -> SendFailed:
    if 400 <= code < 500:
        return Transient(f"smtp {code} {what}")
    return Permanent(f"smtp {code} {what}")


class SmtpMail:
    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = False,
        user: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._host, self._port, self._from = host, port, sender
        self._starttls, self._user, self._password = starttls, user, password
        self._timeout = timeout_s

    def build(self, message: Message, to: str, key: str) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self._from
        mail["To"] = to
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(localtime())
        mail["Message-ID"] = make_msgid(idstring=key.replace(":", "."), domain="damrong.notify")
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply to it, please
        mail.set_content(message.text, charset="utf-8")
        return mail

    def _send_now(self, mail: EmailMessage) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
            if self._starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self._user and self._password:
                smtp.login(self._user, self._password)
            smtp.send_message(mail)

    async def send(self, message: Message, contact: Contact, key: str) -> None:
        if not contact.email:
            raise Permanent("no e-mail address")
        mail = self.build(message, contact.email, key)
        try:
            await asyncio.to_thread(self._send_now, mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0] if exc.recipients else 550
            raise _smtp_failure(code, "recipient refused") from None
        except smtplib.SMTPSenderRefused as exc:
            raise _smtp_failure(exc.smtp_code, "sender refused") from None
        except smtplib.SMTPResponseException as exc:
            raise _smtp_failure(exc.smtp_code, "refused") from None
        except smtplib.SMTPNotSupportedError:  # e.g. a non-ASCII address, no SMTPUTF8
            raise Permanent("address not supported by the server") from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise Transient(f"connection: {type(exc).__name__}") from None
        except smtplib.SMTPException as exc:
            raise Transient(f"smtp: {type(exc).__name__}") from None
        except (UnicodeError, ValueError) as exc:  # an address smtplib cannot carry
            raise Permanent(f"unsendable address: {type(exc).__name__}") from None

    async def close(self) -> None:
        return None
