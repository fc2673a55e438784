"""The case events: immutable, versioned payloads, defined once for every service.

Each event type has a stable CloudEvents type name ending in its schema version
(``...complaint.filed.v1``).  A breaking change adds a new model with a new version
and an upcaster; the old model stays here so old events stay readable forever.

No personal data appears in any payload: identity stays in intake's database.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.codes import CategoryCode, ChannelCode, ClosureReason
from shared.thai_calendar import BANGKOK

TYPE_PREFIX = "th.go.dopa.damrong"

# The CloudEvents ``source`` of each publishing service: part of the event contract, so
# defined once here (the relays sign as them, readers hold each to what it may publish).
INTAKE_SOURCE = "/damrong/intake"
STATUS_SOURCE = "/damrong/status"


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BackfilledOutcome(_Payload):
    """How far an old, backfilled case had got before it was recorded.

    Carried by its ``ComplaintFiled``; the status service turns it into the matching case
    events (versions 2, 3, ...) dated ``at``, the original date of that outcome.
    """

    status: Literal["accepted", "in_progress", "forwarded", "closed", "rejected"]
    at: dt.datetime
    closure_reason: ClosureReason | None = None
    reason: str | None = None
    agency: str | None = None
    due_date: dt.date | None = None


class ComplaintFiled(_Payload):
    """A complaint entered the system (version 1 of its case).

    ``backfilled`` marks a record imported from old paper or spreadsheet registers: its
    ``received_at`` is the original date and ``outcome`` what happened to it since.
    """

    kind: Literal["complaint.filed"] = "complaint.filed"
    tracking_no: str
    channel: ChannelCode
    category: CategoryCode
    province_code: str
    district_code: str
    subdistrict_code: str | None = None
    received_at: dt.datetime
    recorded_at: dt.datetime
    anonymous: bool
    backfilled: bool = False
    outcome: BackfilledOutcome | None = None


class _Transition(_Payload):
    actor: str
    note: str | None = None


class CaseAccepted(_Transition):
    kind: Literal["case.accepted"] = "case.accepted"


class CaseRejected(_Transition):
    kind: Literal["case.rejected"] = "case.rejected"
    reason: str


class CaseStarted(_Transition):
    kind: Literal["case.started"] = "case.started"


class CaseForwardedV1(_Transition):
    """``case.forwarded.v1``, written until v2: kept so old events stay readable.

    Read through ``shared.upcasting``, which turns it into a ``CaseForwarded`` (v2)."""

    kind: Literal["case.forwarded"] = "case.forwarded"
    agency: str
    due_date: dt.date


class ReplyDue(_Payload):
    """When the agency must answer: by the end of ``date`` (Asia/Bangkok), which gave it
    ``days`` calendar days from the forwarding date (what agencies' reply times are
    measured against)."""

    date: dt.date
    days: int


class CaseForwarded(_Transition):
    """``case.forwarded.v2``: v1's bare ``due_date`` became a structured ``reply_due``, and
    the agency may carry its code beside its name."""

    kind: Literal["case.forwarded"] = "case.forwarded"
    agency: str
    agency_code: str | None = None
    reply_due: ReplyDue

    @property
    def due_date(self) -> dt.date:
        return self.reply_due.date


def reply_due(due_date: dt.date, forwarded_at: dt.datetime) -> ReplyDue:
    """The ``ReplyDue`` of a forwarding at ``forwarded_at`` (aware) answerable by ``due_date``."""
    return ReplyDue(date=due_date, days=(due_date - forwarded_at.astimezone(BANGKOK).date()).days)


class CaseClosed(_Transition):
    kind: Literal["case.closed"] = "case.closed"
    reason: ClosureReason


class CaseReopened(_Transition):
    kind: Literal["case.reopened"] = "case.reopened"
    reason: str | None = None


class _Feedback(_Payload):
    """The complainant's answer to a closure (through the link sent when the case closed).

    Legal only on a closed case, and it does not change the case's status.  ``closed_version``
    is the version of the ``case.closed`` event answered: at most one of each kind per
    closure.  No free text: whatever a complainant types could carry personal data.
    """

    actor: str
    closed_version: int = Field(ge=2)


class CaseSatisfactionRated(_Feedback):
    """How satisfied the complainant is with the closure: 1 (not at all) .. 5 (fully)."""

    kind: Literal["case.satisfaction_rated"] = "case.satisfaction_rated"
    score: int = Field(ge=1, le=5)


class CaseReopenRequested(_Feedback):
    """The complainant says the problem was not actually solved: a request for an officer
    to look again (it does not reopen the case by itself)."""

    kind: Literal["case.reopen_requested"] = "case.reopen_requested"


EventData = Annotated[
    ComplaintFiled
    | CaseAccepted
    | CaseRejected
    | CaseStarted
    | CaseForwarded
    | CaseClosed
    | CaseReopened
    | CaseSatisfactionRated
    | CaseReopenRequested,
    Field(discriminator="kind"),
]

# The schema version each kind is written in now (1 unless listed); older versions are
# upcast on read (``shared.upcasting``).
SCHEMA_VERSIONS: dict[str, int] = {"case.forwarded": 2}
EVENT_CLASSES: dict[str, type[_Payload]] = {
    cls.model_fields["kind"].default: cls
    for cls in (
        ComplaintFiled,
        CaseAccepted,
        CaseRejected,
        CaseStarted,
        CaseForwarded,
        CaseClosed,
        CaseReopened,
        CaseSatisfactionRated,
        CaseReopenRequested,
    )
}


# The older schemas still read (and upcast), by (kind, schema version).
LEGACY_CLASSES: dict[tuple[str, int], type[_Payload]] = {("case.forwarded", 1): CaseForwardedV1}


def current_version(kind: str) -> int:
    """The schema version ``kind`` is written in now."""
    return SCHEMA_VERSIONS.get(kind, 1)


def type_name(kind: str, schema_version: int | None = None) -> str:
    """The CloudEvents ``type`` of an event kind, e.g. ``th.go.dopa.damrong.case.closed.v1``
    (its current schema version unless given)."""
    return f"{TYPE_PREFIX}.{kind}.v{schema_version or current_version(kind)}"


def parse_type_name(ce_type: str) -> tuple[str, int]:
    """Split a CloudEvents type into (kind, schema version); ValueError if it is not ours."""
    prefix = TYPE_PREFIX + "."
    if not ce_type.startswith(prefix):
        raise ValueError(f"event type {ce_type!r} is not a damrong event")
    kind, _, ver = ce_type[len(prefix) :].rpartition(".v")
    if kind not in EVENT_CLASSES or not ver.isdigit():
        raise ValueError(f"unknown event type {ce_type!r}")
    if not 1 <= int(ver) <= current_version(kind):
        raise ValueError(f"unsupported schema version {ver} of {kind}")
    return kind, int(ver)


class Envelope(BaseModel):
    """One event of one case: the stored and published unit.

    ``version`` numbers the events of a case from 1 (``ComplaintFiled``); the pair
    ``(complaint_id, version)`` is unique everywhere, which is what makes optimistic
    concurrency and idempotent consumers work.  ``occurred_at`` is the effective time
    (when it happened in the world); ``recorded_at`` when it entered the system.

    ``data`` is always in its kind's current schema (older versions are upcast on read).
    ``prev_hash`` and ``hash`` chain the case's events (``shared.chain``); both are None
    on events written before chaining existed ("unchained").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    complaint_id: uuid.UUID
    version: int = Field(ge=1)
    source: str
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    correlation_id: str | None = None
    data: EventData
    prev_hash: str | None = None
    hash: str | None = None

    @property
    def kind(self) -> str:
        return self.data.kind

    @property
    def type(self) -> str:
        return type_name(self.data.kind)


def json_schemas() -> dict[str, dict]:
    """JSON Schema of every event payload still read, keyed by CloudEvents type name."""
    schemas = {type_name(kind): cls.model_json_schema() for kind, cls in EVENT_CLASSES.items()}
    for (kind, version), cls in LEGACY_CLASSES.items():
        schemas[type_name(kind, version)] = cls.model_json_schema()
    return schemas
