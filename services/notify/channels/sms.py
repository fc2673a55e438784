"""SMS through a generic JSON gateway.

``POST {NOTIFY_SMS_URL}`` with ``{"to": "+66...", "sender": ..., "text": ..., "reference":
key}`` and, if configured, ``Authorization: Bearer {NOTIFY_SMS_TOKEN}``; any 2xx is
accepted.  Most Thai SMS gateways take this shape or a close one: another gateway is
another adapter of ``Channel``.
"""

from __future__ import annotations

import httpx

from services.notify.channels import Contact, Permanent, Transient, http_failure
from services.notify.domain.rendering import Message


class SmsGateway:
    name = "sms"

    def __init__(self, url: str, token: str | None, sender: str, timeout_s: float) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._url = url
        self._sender = sender
        self._client = httpx.AsyncClient(timeout=timeout_s, headers=headers)

    async def send(self, message: Message, contact: Contact, key: str) -> None:
        if not contact.phone:
            raise Permanent("no phone number")
        body = {"to": contact.phone, "sender": self._sender, "text": message.text, "reference": key}
        try:
            answer = await self._client.post(self._url, json=body)
        except httpx.TimeoutException:
            raise Transient("timeout") from None
        except httpx.TransportError as exc:
            raise Transient(f"connection: {type(exc).__name__}") from None
        if not answer.is_success:
            raise http_failure(answer.status_code)

    async def close(self) -> None:
        await self._client.aclose()
