"""A filing as the rows intake writes: the complaint row with its sealed identity and its
``ComplaintFiled`` outbox record, and the bytes the filing statement reads.

Pure but for the system's random source (ids, data keys): the HTTP filing
(``usecases``) and the import workers (``backfill.domain.prepare``) build rows here, and
only the store writes them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from services.intake.domain.filing import (
    FileComplaint,
    complaint_filed,
    masked_complainant,
    tracking_no,
)
from services.intake.pii.domain.envelope import seal_identity
from services.intake.pii.domain.keys import PiiKeys
from services.intake.tracking.domain.keys import TrackingKeys, keys_of
from shared.chain import GENESIS
from shared.envelope_codec import sealed_record
from shared.events import BackfilledOutcome


@dataclass(frozen=True, slots=True)
class NewComplaint:
    """One row of ``complaints`` to insert, with its encoded outbox record.

    Personal data only sealed (``identity``, under the data key that ``wrapped_key``
    holds) and masked; the four are None/anonymous-only for an anonymous complaint."""

    complaint_id: uuid.UUID
    tracking_no: str
    channel: str
    channel_ref: str | None
    idempotency_key: str | None
    request_hash: bytes
    category: str
    province_code: str
    district_code: str
    subdistrict_code: str | None
    subject: str
    description: str
    anonymous: bool
    complainant_ref: uuid.UUID | None
    key_id: str | None
    wrapped_key: bytes | None
    identity: bytes | None
    complainant_masked: dict[str, Any]
    received_at: dt.datetime
    recorded_at: dt.datetime
    backfilled: bool
    event_id: uuid.UUID
    topic: str
    key: bytes
    headers: list[list[str]]
    value: bytes
    filed_by: str | None = None  # the caller's token subject
    # Its public tracking keys (tracking.domain.keys), written with it: a filing answered
    # is a filing its complainant can track.
    phone_hash: bytes | None = None
    secret_hash: bytes | None = None


def row_dict(r: NewComplaint) -> dict[str, Any]:
    """One row as ``_FILE_SQL`` reads it (bytes as hex or UTF-8 text)."""
    return {
        "complaint_id": r.complaint_id,
        "tracking_no": r.tracking_no,
        "channel": r.channel,
        "channel_ref": r.channel_ref,
        "idempotency_key": r.idempotency_key,
        "request_hash": r.request_hash.hex(),
        "category": r.category,
        "province_code": r.province_code,
        "district_code": r.district_code,
        "subdistrict_code": r.subdistrict_code,
        "subject": r.subject,
        "description": r.description,
        "anonymous": r.anonymous,
        "complainant_ref": r.complainant_ref,
        "key_id": r.key_id,
        "wrapped_key": None if r.wrapped_key is None else r.wrapped_key.hex(),
        "identity": None if r.identity is None else r.identity.hex(),
        "complainant_masked": r.complainant_masked,
        "received_at": r.received_at,
        "recorded_at": r.recorded_at,
        "backfilled": r.backfilled,
        "event_id": r.event_id,
        "topic": r.topic,
        "key": r.key.decode(),
        "headers": r.headers,
        "value": r.value.decode(),
        "filed_by": r.filed_by,
        "phone_hash": None if r.phone_hash is None else r.phone_hash.hex(),
        "secret_hash": None if r.secret_hash is None else r.secret_hash.hex(),
    }


def row_json(row: NewComplaint) -> bytes:
    """One row encoded for ``IntakeStore.insert_encoded`` (built where the CPU is: bulk
    imports encode rows in worker processes and ship only these bytes).

    Copied to bytes of their own size: orjson's result keeps the buffer it grew, about
    four times a 2 KB row (measured), and an import holds chunks of thousands of rows."""
    return bytes(memoryview(orjson.dumps(row_dict(row))))


def new_complaint(
    cmd: FileComplaint,
    serial: int,
    now: dt.datetime,
    topic: str,
    keys: PiiKeys,
    *,
    correlation_id: str | None = None,
    outcome: BackfilledOutcome | None = None,
    filed_by: str | None = None,
    request_hash: bytes | None = None,
    receipt: bool = True,
) -> NewComplaint:
    """The complaint row and its ``ComplaintFiled`` outbox record, filed at ``now`` (UTC).

    The identity is sealed here (in import workers too, where the CPU is) under a fresh
    data key; the row carries only that ciphertext, the wrapped key and the masked form.
    Without ``receipt`` (a register's row: nobody is handed an answer) an anonymous
    complainant gets no tracking secret, as nobody could ever present it."""
    received_at = cmd.received_at or now
    tracking = tracking_no(cmd.district_code, received_at, serial)
    complaint_id, event_id = uuid.uuid4(), uuid.uuid4()
    envelope = complaint_filed(
        cmd,
        complaint_id=complaint_id,
        event_id=event_id,
        tracking=tracking,
        received_at=received_at,
        recorded_at=now,
        correlation_id=correlation_id,
        outcome=outcome,
    )
    record = sealed_record(envelope, GENESIS)
    identity = cmd.complainant.identity()
    sealed = seal_identity(keys, complaint_id, identity) if identity else None
    anonymous = cmd.complainant.anonymous
    proofs = (
        keys_of(keys.hash_key, complaint_id, anonymous=anonymous, phone=cmd.complainant.phone)
        if receipt or not anonymous
        else TrackingKeys()
    )
    return NewComplaint(
        complaint_id=complaint_id,
        tracking_no=tracking,
        channel=cmd.channel.value,
        channel_ref=cmd.channel_ref,
        idempotency_key=cmd.idempotency_key,
        request_hash=request_hash or cmd.request_hash(keys.hash_key),
        category=cmd.category.value,
        province_code=cmd.province_code,
        district_code=cmd.district_code,
        subdistrict_code=cmd.subdistrict_code,
        subject=cmd.subject,
        description=cmd.description,
        anonymous=cmd.complainant.anonymous,
        complainant_ref=sealed.complainant_ref if sealed else None,
        key_id=sealed.key_id if sealed else None,
        wrapped_key=sealed.wrapped_key if sealed else None,
        identity=sealed.sealed if sealed else None,
        complainant_masked=masked_complainant(cmd.complainant.as_dict()),
        received_at=received_at,
        recorded_at=now,
        backfilled=cmd.backfilled,
        event_id=event_id,
        topic=topic,
        key=record.key,
        headers=record.headers,
        value=record.value,
        filed_by=filed_by,
        phone_hash=proofs.phone_hash,
        secret_hash=proofs.secret_hash,
    )
