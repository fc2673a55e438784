"""LINE push messages (Messaging API ``POST /v2/bot/message/push``).

Sent with the channel access token and ``X-Line-Retry-Key`` derived from the message's
key, so that a retry after a lost answer is not delivered twice: LINE answers such a
repeat 409, which means it was already accepted.
"""

from __future__ import annotations

import uuid

import httpx

from services.notify.channels import Contact, Permanent, Transient, http_failure
from services.notify.domain.rendering import Message

PUSH = "/v2/bot/message/push"
TEXT_MAX = 5000  # LINE's limit for one text message
_RETRY_KEYS = uuid.UUID("0b6c6a52-9f1e-4d8a-9a53-5d1f0e2b7c11")


def retry_key(key: str) -> str:
    """The same UUID for every attempt of one message."""
    return str(uuid.uuid5(_RETRY_KEYS, key))


class LinePush:
    name = "line"

    def __init__(self, base_url: str, access_token: str, timeout_s: float) -> None:
        self._url = base_url.rstrip("/") + PUSH
        self._client = httpx.AsyncClient(
            timeout=timeout_s, headers={"Authorization": f"Bearer {access_token}"}
        )

    async def send(self, message: Message, contact: Contact, key: str) -> None:
        if not contact.line_user_id:
            raise Permanent("no LINE user id")
        body = {
            "to": contact.line_user_id,
            "messages": [{"type": "text", "text": message.text[:TEXT_MAX]}],
        }
        try:
            answer = await self._client.post(
                self._url, json=body, headers={"X-Line-Retry-Key": retry_key(key)}
            )
        except httpx.TimeoutException:
            raise Transient("timeout") from None
        except httpx.TransportError as exc:
            raise Transient(f"connection: {type(exc).__name__}") from None
        if answer.status_code == 409 and answer.headers.get("x-line-accepted-request-id"):
            return  # accepted before, under this retry key
        if not answer.is_success:
            raise http_failure(answer.status_code)

    async def close(self) -> None:
        await self._client.aclose()
