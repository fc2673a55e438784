"""A case's history on both time axes, as rectangles: pure, no I/O.

Each ``Interval`` says: while the system knew exactly the events recorded in
``[recorded_from, recorded_to)``, it held that in the world the case was open
(``closed_at is None``) or closed at ``closed_at`` during ``[valid_from, valid_to)`` of
effective time.  ``None`` as an upper bound means "until further notice" (stored as
``infinity``).  For any effective instant ``x`` and knowledge time ``T`` a case has at most
one rectangle containing ``(x, T)``: none before it was received or before its filing was
recorded.

The rules, so that the rectangles agree with the live projection (``domain.apply``):

* What is known at ``T`` is the consecutive run of versions from 1 whose every event was
  recorded by ``T`` (a later version waiting behind a gap is not applied, as live).
* The state at effective instant ``x`` is the fold, in version order, of the known
  transitions whose ``occurred_at <= x`` (each transition's effect on ``closed_at`` as in
  ``domain.TRANSITIONS``); a transition back-dated before ``received_at`` counts from it.
  So "as of the end of time, knowing everything" is exactly ``CaseRow.closed_at``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from services.kpi.domain.cases import CaseRow, ClosedEffect, transition


@dataclass(frozen=True, slots=True)
class Step:
    """The part of a stored event the history needs."""

    version: int
    kind: str
    occurred_at: dt.datetime
    recorded_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Interval:
    """One rectangle of a case's history (a ``case_intervals`` row)."""

    complaint_id: uuid.UUID
    fiscal_year: int
    province_code: str
    district_code: str
    channel: str
    category: str
    received_at: dt.datetime
    recorded_at: dt.datetime  # the filing's recording time (for the recording lag)
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    recorded_from: dt.datetime
    recorded_to: dt.datetime | None
    closed_at: dt.datetime | None


Segment = tuple[dt.datetime, dt.datetime | None, dt.datetime | None]  # from, to, closed_at


def known_run(steps: Iterable[Step], upto: int) -> list[Step]:
    """The consecutive run of versions 1..``upto`` among ``steps`` (one per version)."""
    by_version = {s.version: s for s in steps}
    run = []
    for v in range(1, upto + 1):
        if v not in by_version:
            break
        run.append(by_version[v])
    return run


def segments(received_at: dt.datetime, transitions: list[Step]) -> list[Segment]:
    """Effective-time segments (from ``received_at`` on) of the fold of ``transitions``
    (in version order), adjacent equal states merged."""
    points = sorted(
        {received_at} | {t.occurred_at for t in transitions if t.occurred_at > received_at}
    )
    effects = [(t.occurred_at, *transition(t.kind)) for t in transitions]
    out: list[Segment] = []
    for i, point in enumerate(points):
        closed_at: dt.datetime | None = None
        for occurred_at, _status, effect in effects:
            if occurred_at > point:
                continue
            if effect is ClosedEffect.set:
                closed_at = occurred_at
            elif effect is ClosedEffect.clear:
                closed_at = None
        end = points[i + 1] if i + 1 < len(points) else None
        if out and out[-1][2] == closed_at:
            out[-1] = (out[-1][0], end, closed_at)
        else:
            out.append((point, end, closed_at))
    return out


def intervals(case: CaseRow, steps: Iterable[Step]) -> list[Interval]:
    """Every rectangle of ``case``'s history from its stored ``steps`` (any order; only
    versions up to ``case.applied_version`` count), sorted by (recorded_from, valid_from)."""
    run = known_run(steps, case.applied_version)
    if not run or run[0].version != 1:
        return []
    filed = run[0].recorded_at
    moments = sorted({filed} | {s.recorded_at for s in run if s.recorded_at > filed})
    active: dict[Segment, dt.datetime] = {}
    rows: list[tuple[Segment, dt.datetime, dt.datetime | None]] = []
    for moment in moments:
        known: list[Step] = []
        for s in run:
            if s.recorded_at > moment:
                break  # a gap in what was known then: later versions wait
            known.append(s)
        now = set(segments(case.received_at, known[1:]))
        rows.extend((seg, active.pop(seg), moment) for seg in [s for s in active if s not in now])
        for seg in now:
            active.setdefault(seg, moment)
    rows.extend((seg, since, None) for seg, since in active.items())
    base = Interval(
        complaint_id=case.complaint_id,
        fiscal_year=case.fiscal_year,
        province_code=case.province_code,
        district_code=case.district_code,
        channel=case.channel,
        category=case.category,
        received_at=case.received_at,
        recorded_at=case.recorded_at,
        valid_from=case.received_at,
        valid_to=None,
        recorded_from=filed,
        recorded_to=None,
        closed_at=None,
    )
    out = [
        dataclasses.replace(
            base,
            valid_from=seg[0],
            valid_to=seg[1],
            closed_at=seg[2],
            recorded_from=since,
            recorded_to=until,
        )
        for seg, since, until in rows
    ]
    return sorted(out, key=lambda i: (i.recorded_from, i.valid_from))


def state_at(
    rows: Iterable[Interval], cut: dt.datetime | None, known_at: dt.datetime | None
) -> Interval | None:
    """The rectangle holding the state just before effective instant ``cut`` (``None``:
    after everything) as known at ``known_at`` (``None``: now); ``None`` if none does.

    The reference the SQL queries (``valid_from < cut <= valid_to``) are checked against.
    """
    for r in rows:
        if known_at is None:
            if r.recorded_to is not None:
                continue
        elif not (
            r.recorded_from <= known_at and (r.recorded_to is None or known_at < r.recorded_to)
        ):
            continue
        if cut is None:
            if r.valid_to is None:
                return r
        elif r.valid_from < cut and (r.valid_to is None or cut <= r.valid_to):
            return r
    return None
