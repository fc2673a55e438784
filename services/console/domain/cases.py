"""A case page's pure parts: the timeline rows, whether the hash chain holds (recomputed
from the history status returns, with the shared chain rules), a reopen request still
waiting for an officer, the transition a form asks for, and what a moment typed for "the
case as of" means.  No I/O."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.chain import Link, verify_case
from shared.codes import ClosureReason
from shared.thai_calendar import BANGKOK

# What each action's form asks for, beyond a note.
NEEDS: dict[str, tuple[str, ...]] = {
    "accept": (),
    "reject": ("reason",),
    "start": (),
    "forward": ("agency", "due_date"),
    "close": ("reason",),
    "reopen": (),
}


@dataclass(frozen=True, slots=True)
class TimelineRow:
    version: int
    type: str  # the event's kind, e.g. "case.closed" (schema version dropped)
    actor: str | None
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    details: dict[str, Any]  # the event's data worth showing (reason, agency, due date, note)
    hash: str | None
    prev_hash: str | None
    holds: bool  # this event's stored hash is its content's, and it links to the previous


@dataclass(frozen=True, slots=True)
class Chain:
    holds: bool
    unchained: int  # events stored before chaining existed
    breaks: tuple[str, ...]  # "v3: altered", ...


# ``score`` and ``closed_version``: the complainant's answer to a closure (rating 1..5,
# reopen request), which names the closure it answers.
_SHOWN = (
    "reason",
    "agency",
    "due_date",
    "note",
    "channel",
    "category",
    "score",
    "closed_version",
)
CLOSED, REOPEN_REQUESTED = "case.closed", "case.reopen_requested"


def _kind(type_: str) -> str:
    """``th.go.dopa.damrong.case.closed.v1`` -> ``case.closed``."""
    parts = type_.split(".")
    if parts and parts[-1].startswith("v") and parts[-1][1:].isdigit():
        parts = parts[:-1]
    return ".".join(parts[-2:])


def _link(complaint_id: uuid.UUID, event: Mapping[str, Any]) -> Link:
    return Link(
        complaint_id=complaint_id,
        version=int(event["version"]),
        event_id=uuid.UUID(str(event["event_id"])),
        source=str(event["source"]),
        type=str(event["type"]),
        occurred_at=dt.datetime.fromisoformat(str(event["occurred_at"])),
        recorded_at=dt.datetime.fromisoformat(str(event["recorded_at"])),
        correlation_id=event.get("correlation_id"),
        data=event.get("data") or {},
        prev_hash=event.get("prev_hash"),
        hash=event.get("hash"),
    )


def timeline(
    complaint_id: uuid.UUID, events: Sequence[Mapping[str, Any]]
) -> tuple[list[TimelineRow], Chain]:
    """The history as rows in version order, and the chain's verdict over all of them."""
    links = sorted((_link(complaint_id, e) for e in events), key=lambda link: link.version)
    verdict = verify_case(links)
    broken = {b.version for b in verdict.breaks}
    rows = []
    for link, event in zip(links, sorted(events, key=lambda e: int(e["version"])), strict=True):
        data = link.data
        rows.append(
            TimelineRow(
                version=link.version,
                type=_kind(link.type),
                actor=event.get("actor"),
                occurred_at=link.occurred_at,
                recorded_at=link.recorded_at,
                details={k: data[k] for k in _SHOWN if data.get(k) not in (None, "")},
                hash=link.hash,
                prev_hash=link.prev_hash,
                holds=link.version not in broken,
            )
        )
    chain = Chain(
        holds=not verdict.breaks,
        unchained=len(verdict.unchained),
        breaks=tuple(f"v{b.version}: {b.problem}" for b in verdict.breaks),
    )
    return rows, chain


def pending_reopen(status: str, rows: Sequence[TimelineRow]) -> TimelineRow | None:
    """The complainant's reopen request ("the problem was not actually solved") that an
    officer has still to act on: one answering the case's latest closure while the case is
    still closed (a reopening answers it; a request on an earlier closure is history)."""
    if status != "closed":
        return None
    closures = [r.version for r in rows if r.type == CLOSED]
    if not closures:
        return None
    latest = max(closures)
    for row in rows:
        if row.type == REOPEN_REQUESTED and row.details.get("closed_version") == latest:
            return row
    return None


@dataclass(frozen=True, slots=True)
class TransitionForm:
    action: str
    expected_version: int | None
    values: dict[str, str]


def read_transition(form: Mapping[str, str]) -> tuple[TransitionForm, dict[str, str]]:
    """The transition asked for, and ``{field: message key}`` for what is missing/wrong."""
    errors: dict[str, str] = {}
    action = form.get("action", "")
    if action not in NEEDS:
        errors["action"] = "cases.error.action"
    version_text = form.get("expected_version", "")
    version = int(version_text) if version_text.isdigit() else None
    values = {k: form.get(k, "").strip() for k in ("reason", "agency", "due_date", "note")}
    for field in NEEDS.get(action, ()):
        if not values[field]:
            errors[field] = f"cases.error.{field}"
    if action == "close" and values["reason"] and values["reason"] not in ClosureReason.__members__:
        errors["reason"] = "cases.error.reason"
    if values["due_date"]:
        try:
            dt.date.fromisoformat(values["due_date"])
        except ValueError:
            errors["due_date"] = "cases.error.due_date"
    return TransitionForm(action, version, values), errors


def transition_body(form: TransitionForm) -> dict[str, Any]:
    """status' transition document: only the fields this action takes."""
    body: dict[str, Any] = {"action": form.action, "expected_version": form.expected_version}
    for field in (*NEEDS.get(form.action, ()), "note"):
        if form.values.get(field):
            body[field] = form.values[field]
    return body


def as_of_moment(text: str | None) -> dt.datetime | None:
    """A ``datetime-local`` value (Bangkok wall time) as an aware time; None when empty;
    ValueError when it is not a time."""
    if not text or not text.strip():
        return None
    moment = dt.datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=BANGKOK)
