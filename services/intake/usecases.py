"""Intake's service layer: file one complaint (used by the HTTP API and by imports).

Load, decide, commit: the pure core builds the tracking number and the event, the store
writes the complaint and its outbox row in one statement, and a duplicate (same
idempotency key, or same channel + channel_ref) answers with the complaint filed first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import structlog

from services.intake.domain.filing import (
    FileComplaint,
)
from services.intake.domain.records import new_complaint
from services.intake.pii.domain.keys import PiiKeys
from services.intake.store import IntakeStore
from services.intake.tracking.domain.keys import secret_for
from services.intake.tracking.usecases import issue_keys
from shared.config import Settings

log = structlog.get_logger()


class IdempotencyConflict(Exception):
    """The idempotency key or channel reference already names a different request."""


@dataclass(frozen=True, slots=True)
class Filed:
    """The outcome of a filing; ``replayed`` when the complaint had been filed before."""

    complaint_id: uuid.UUID
    tracking_no: str
    received_at: dt.datetime
    recorded_at: dt.datetime
    replayed: bool
    complainant_ref: uuid.UUID | None = None
    # An anonymous complainant's proof for public tracking (derived: a replay shows the same).
    tracking_secret: str | None = None

    def body(self) -> dict[str, Any]:
        # The ref names the complainant for erasure requests (no personal data in it).
        body = {
            "complaint_id": str(self.complaint_id),
            "tracking_no": self.tracking_no,
            "status": "filed",
            "received_at": _utc_iso(self.received_at),
            "recorded_at": _utc_iso(self.recorded_at),
            "complainant_ref": None if self.complainant_ref is None else str(self.complainant_ref),
        }
        if self.tracking_secret is not None:
            body["tracking_secret"] = self.tracking_secret
        return body


def _utc_iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


async def file_complaint(
    store: IntakeStore,
    settings: Settings,
    cmd: FileComplaint,
    now: dt.datetime,
    *,
    keys: PiiKeys,
    filed_by: str | None = None,
) -> Filed:
    """File ``cmd`` at ``now`` (aware): the complaint row and its ``ComplaintFiled`` outbox
    row commit together, exactly once per idempotency key / channel reference.

    Raises IdempotencyConflict when a duplicate key names a different request.
    """
    now = now.astimezone(dt.UTC)
    correlation_id = structlog.contextvars.get_contextvars().get("correlation_id")
    row = new_complaint(
        cmd,
        await store.next_serial(),
        now,
        settings.events_topic,
        keys,
        correlation_id=correlation_id,
        filed_by=filed_by,
    )
    complaint_id, tracking, received_at = row.complaint_id, row.tracking_no, row.received_at
    digest, event_id = row.request_hash, row.event_id
    inserted = await store.insert(row)
    if inserted:
        # debug, not info: a log line per filing costs ~15% of the write path's CPU.
        log.debug(
            "complaint.filed",
            complaint_id=str(complaint_id),
            tracking_no=tracking,
            event_id=str(event_id),
        )
        return Filed(
            complaint_id,
            tracking,
            received_at,
            now,
            replayed=False,
            complainant_ref=row.complainant_ref,
            # Its keys were stored with it (the filing's statement).
            tracking_secret=secret_for(keys.hash_key, complaint_id)
            if cmd.complainant.anonymous
            else None,
        )

    # A unique key collided: ON CONFLICT waited for the other writer to commit, so the
    # winner is visible now.
    existing = await store.find_duplicate(cmd.idempotency_key, cmd.channel.value, cmd.channel_ref)
    if existing is None:  # only a uuid4 or tracking-serial collision could get here
        raise RuntimeError("complaint insert conflicted with no duplicate to replay")
    if existing.request_hash != digest:
        raise IdempotencyConflict(str(existing.complaint_id))
    log.info("complaint.replayed", complaint_id=str(existing.complaint_id))
    return Filed(
        existing.complaint_id,
        existing.tracking_no,
        existing.received_at,
        existing.recorded_at,
        replayed=True,
        complainant_ref=existing.complainant_ref,
        # The same secret as the first answer; keys stored now if the complaint was filed
        # before tracking existed.
        tracking_secret=await issue_keys(
            store.pool, keys.hash_key, existing.complaint_id, cmd.complainant, now
        ),
    )
