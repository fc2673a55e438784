"""Which events tell the complainant something, and which message each one is.

A complainant hears of their case when it was received (``complaint.filed``: the
tracking number; this is also the e-mail channel's automatic reply and LINE's
confirmation), accepted, forwarded (to whom), closed (why, with the satisfaction link)
and reopened.  Every other kind, known today or added later, tells nobody anything.
An anonymous complainant, a case imported from an old register, and an event recorded
long before notify reads it (a new deployment reading the topic from its beginning)
tell nobody either.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.codes import CLOSURE_REASON_LABELS, ClosureReason
from shared.events import CaseClosed, CaseForwarded, ComplaintFiled, Envelope

# Event kind -> template id (``services/notify/templates/messages.toml``).
TEMPLATES: dict[str, str] = {
    "complaint.filed": "received",
    "case.accepted": "accepted",
    "case.forwarded": "forwarded",
    "case.closed": "closed",
    "case.reopened": "reopened",
}
CHANNELS = ("line", "email", "sms")


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What notify keeps of a case from its filing: nothing personal."""

    tracking_no: str
    anonymous: bool
    backfilled: bool


def case_facts(data: ComplaintFiled) -> CaseFacts:
    return CaseFacts(data.tracking_no, data.anonymous, data.backfilled)


def template_for(kind: str) -> str | None:
    """The message an event of ``kind`` sends, or None (it tells nothing)."""
    return TEMPLATES.get(kind)


def to_notify(env: Envelope, case: CaseFacts | None) -> str | None:
    """The template ``env`` sends to the complainant of ``case``, or None: not a kind
    that tells anything, a case notify never saw filed, anonymous or backfilled."""
    template = template_for(env.kind)
    if template is None or case is None or case.anonymous or case.backfilled:
        return None
    return template


def stale(env: Envelope, now: dt.datetime, max_age: dt.timedelta) -> bool:
    """Whether ``env`` was recorded too long before ``now`` to tell anyone of it now."""
    return now - env.recorded_at > max_age


def closure_reason_th(reason: ClosureReason) -> str:
    return CLOSURE_REASON_LABELS[reason][0]


def params_of(env: Envelope, tracking_no: str) -> dict[str, str]:
    """The values a template of ``env`` fills in (codes and names from the event only)."""
    out = {"tracking_no": tracking_no}
    data = env.data
    if isinstance(data, CaseForwarded):
        out["agency"] = data.agency
    elif isinstance(data, CaseClosed):
        out["reason"] = closure_reason_th(data.reason)
    # A reopening's reason and every note are officers' free text: never sent.
    return out
