"""Intake's pure core: the filing command, fiscal years, tracking numbers, masking, the event.

Only the standard library and the shared event models: no I/O, no logging, and every
function that needs the time takes it as an argument.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass

from shared import canonical_json, thai_calendar
from shared.codes import CategoryCode, ChannelCode
from shared.events import INTAKE_SOURCE, BackfilledOutcome, ComplaintFiled, Envelope

SOURCE = INTAKE_SOURCE


@dataclass(frozen=True, slots=True)
class Complainant:
    """Who complained; every identity field is None for an anonymous complaint.

    Values are normalised: ``national_id`` 13 digits, ``phone`` E.164, text trimmed.
    """

    anonymous: bool
    title: str | None = None
    name: str | None = None
    national_id: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None

    def identity(self) -> dict[str, str]:
        """The identity fields that are set (personal data: keep inside intake)."""
        fields = (
            ("title", self.title),
            ("name", self.name),
            ("national_id", self.national_id),
            ("phone", self.phone),
            ("email", self.email),
            ("address", self.address),
        )
        return {k: v for k, v in fields if v is not None}

    def as_dict(self) -> dict[str, object]:
        """``anonymous`` plus the identity fields that are set: the stored form."""
        return {"anonymous": self.anonymous, **self.identity()}


@dataclass(frozen=True, slots=True)
class FileComplaint:
    """The command to file one complaint, already validated and normalised.

    ``received_at`` is None when the caller did not give it (the handler uses ``now``);
    it is kept as given so that a retry without it hashes the same as the original.
    """

    channel: ChannelCode
    category: CategoryCode
    province_code: str
    district_code: str
    subdistrict_code: str | None
    subject: str
    description: str
    complainant: Complainant
    received_at: dt.datetime | None = None
    channel_ref: str | None = None
    idempotency_key: str | None = None
    backfilled: bool = False

    def request_hash(self, key: bytes) -> bytes:
        """HMAC-SHA-256 under ``key`` of the canonical request: equal for the same
        normalised input.

        Keyed because the request holds the complainant's identity: a plain digest of a
        13-digit national ID can be reversed by trying every ID.  The idempotency key is
        not part of it (it names the request, it is not its body).
        """
        body = {
            "channel": self.channel.value,
            "category": self.category.value,
            "district_code": self.district_code,
            "subdistrict_code": self.subdistrict_code,
            "subject": self.subject,
            "description": self.description,
            "complainant": self.complainant.as_dict(),
            "received_at": None if self.received_at is None else self.received_at.isoformat(),
            "channel_ref": self.channel_ref,
            "backfilled": self.backfilled,
        }
        return hmac.new(key, canonical_json.dumps(body), hashlib.sha256).digest()


def fiscal_year(moment: dt.datetime) -> int:
    """Thai fiscal year (BE) of ``moment``; a naive ``moment`` is taken as Bangkok time."""
    return thai_calendar.fiscal_year(thai_calendar.aware(moment))


def tracking_no(district_code: str, received_at: dt.datetime, serial: int) -> str:
    """Human-readable, nationwide-unique number: ``<district>-<FY BE>-<serial, 7 digits>``.

    Unique because ``serial`` comes from one global sequence; the district and fiscal year
    only make it readable over the phone.
    """
    return f"{district_code}-{fiscal_year(received_at)}-{serial:07d}"


def complaint_filed(
    cmd: FileComplaint,
    *,
    complaint_id: uuid.UUID,
    event_id: uuid.UUID,
    tracking: str,
    received_at: dt.datetime,
    recorded_at: dt.datetime,
    correlation_id: str | None,
    outcome: BackfilledOutcome | None = None,
) -> Envelope:
    """The ``ComplaintFiled`` event (case version 1), not yet sealed: the head of its
    case's hash chain once chained onto ``GENESIS`` (``records.new_complaint`` seals and
    encodes it in one pass).  Carries no personal data.

    ``outcome`` is how far a backfilled case had got (status turns it into case events)."""
    return Envelope(
        event_id=event_id,
        complaint_id=complaint_id,
        version=1,
        source=SOURCE,
        occurred_at=received_at,
        recorded_at=recorded_at,
        correlation_id=correlation_id,
        data=ComplaintFiled(
            tracking_no=tracking,
            channel=cmd.channel,
            category=cmd.category,
            province_code=cmd.province_code,
            district_code=cmd.district_code,
            subdistrict_code=cmd.subdistrict_code,
            received_at=received_at,
            recorded_at=recorded_at,
            anonymous=cmd.complainant.anonymous,
            backfilled=cmd.backfilled,
            outcome=outcome,
        ),
    )


# -- masking: what officers see of a complainant outside the protected record ------------


def mask_national_id(pin: str) -> str:
    """``1101700230708`` -> ``1-xxxx-xxxxx-70-8``: keeps the first and the last three digits."""
    if len(pin) != 13:
        return "x" * len(pin)
    return f"{pin[0]}-xxxx-xxxxx-{pin[10:12]}-{pin[12]}"


def mask_phone(e164: str) -> str:
    """``+66812345678`` -> ``08x-xxx-5678``; ``+6621234567`` -> ``02x-xx-4567``."""
    if not e164.startswith("+66"):
        return e164[:3] + "x" * max(len(e164) - 7, 0) + e164[-4:]
    national = "0" + e164[3:]
    if len(national) < 8:
        return "x" * len(national)
    middle = "x" * (len(national) - 7)
    return f"{national[:2]}x-{middle}-{national[-4:]}"


def mask_name(name: str) -> str:
    """First character and ``***``."""
    return name[:1] + "***"


def mask_email(email: str) -> str:
    """``somchai@example.com`` -> ``s***@example.com``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def masked_complainant(c: dict[str, object]) -> dict[str, object]:
    """The complainant with every identifying field masked (address hidden): computed
    when filing and stored, so that reads and lists never need the key."""
    out: dict[str, object] = {"anonymous": bool(c.get("anonymous")), "erased": False}
    maskers = {
        "name": mask_name,
        "national_id": mask_national_id,
        "phone": mask_phone,
        "email": mask_email,
    }
    for key, fn in maskers.items():
        value = c.get(key)
        out[key] = fn(value) if isinstance(value, str) else None
    out["title"] = c.get("title")
    out["address"] = "***" if c.get("address") else None
    return out


def erased_complainant() -> dict[str, object]:
    """What is left to show of a complainant whose personal data was erased."""
    return {
        "anonymous": False,
        "erased": True,
        "name": None,
        "national_id": None,
        "phone": None,
        "email": None,
        "title": None,
        "address": None,
    }
