"""Intake's answer to "whom do I tell, and how": the consent and the consented contact
details of one complaint, fetched at send time and kept in memory for that send only.

``GET {INTAKE_URL}/internal/v1/complaints/{id}/contact`` with notify's own service token
(role ``notifier``); intake records each read that discloses a detail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from services.notify.channels import Contact, Transient


class ContactGone(Exception):
    """Nobody to tell, for good: no such complaint, or its complainant was erased."""


@dataclass(frozen=True, slots=True)
class Consent:
    notify: frozenset[str]
    contact: Contact


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    anonymous: bool
    notify: list[str]
    line_user_id: str | None = None
    email: str | None = None
    phone: str | None = None


class IntakeContacts:
    def __init__(
        self,
        intake_url: str,
        token: str,
        timeout_s: float,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = intake_url.rstrip("/")
        self._client = httpx.AsyncClient(
            timeout=timeout_s, headers={"Authorization": f"Bearer {token}"}, transport=transport
        )

    async def consent(self, complaint_id: uuid.UUID) -> Consent:
        """The complaint's consent; ContactGone or Transient (anything else intake
        answers, including a refused token: an operator can fix that, and messages wait)."""
        url = f"{self._base}/internal/v1/complaints/{complaint_id}/contact"
        try:
            answer = await self._client.get(url)
        except httpx.TimeoutException:
            raise Transient("intake: timeout") from None
        except httpx.TransportError as exc:
            raise Transient(f"intake: {type(exc).__name__}") from None
        if answer.status_code == 404:
            raise ContactGone("no such complaint")
        if answer.status_code == 410:
            raise ContactGone("personal data erased")
        if answer.status_code != 200:
            raise Transient(f"intake: http {answer.status_code}")
        try:
            got = _Answer.model_validate_json(answer.content)
        except ValidationError:
            raise Transient("intake: unreadable answer") from None
        if got.anonymous:
            return Consent(frozenset(), Contact())
        return Consent(
            frozenset(got.notify),
            Contact(phone=got.phone, email=got.email, line_user_id=got.line_user_id),
        )

    async def close(self) -> None:
        await self._client.aclose()
