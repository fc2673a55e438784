"""Satisfaction after closure and the guards against closing cases just to meet a KPI: pure.

Counted per *closure* (each ``case.closed`` event: a case closed, reopened and closed
again has two), for the cases of a fiscal year (by filing, as every KPI), among the events
that took effect before the cut (``as_of``) and were recorded by ``known_at``:

* response rate = closures rated / closures; the mean score (2 decimals) and the
  distribution 1..5 over those ratings;
* closed but disputed = closures with a reopen request ("not actually solved") / closures;
* reopened after closure = closures followed by a ``case.reopened`` / closures.

A rating or a reopen request names its closure (``closed_version``); a reopening follows
the closure before it (a closed case can only be reopened).  Rejections are not closures
(no feedback is asked on them).  Rates are 4 decimals half-up, ``None`` with no closure;
the mean ``None`` with no rating.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from services.kpi.domain.cases import closure_rate

SCORES = (1, 2, 3, 4, 5)
CLOSED, RATED, DISPUTED, REOPENED = (
    "case.closed",
    "case.satisfaction_rated",
    "case.reopen_requested",
    "case.reopened",
)
KINDS = (CLOSED, RATED, DISPUTED, REOPENED)


@dataclass(frozen=True, slots=True)
class Step:
    """The part of one event of one case these figures need."""

    version: int
    kind: str
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    closed_version: int | None = None  # of a rating or reopen request
    score: int | None = None  # of a rating


@dataclass(frozen=True, slots=True)
class Closure:
    version: int
    score: int | None  # its rating, if any
    disputed: bool
    reopened: bool


def closures(
    steps: Iterable[Step], cut: dt.datetime | None, known_at: dt.datetime | None
) -> list[Closure]:
    """One case's closures as of ``cut`` (effective before it; None: no cut) known at
    ``known_at`` (recorded by then; None: everything), with what followed each."""
    seen = [
        s
        for s in steps
        if (cut is None or s.occurred_at < cut) and (known_at is None or s.recorded_at <= known_at)
    ]
    out = []
    for c in sorted((s for s in seen if s.kind == CLOSED), key=lambda s: s.version):
        scores = [s.score for s in seen if s.kind == RATED and s.closed_version == c.version]
        out.append(
            Closure(
                version=c.version,
                score=scores[0] if scores else None,
                disputed=any(s.kind == DISPUTED and s.closed_version == c.version for s in seen),
                reopened=any(s.kind == REOPENED and s.version > c.version for s in seen),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Counts:
    """One district's closures and what followed them."""

    province_code: str
    district_code: str
    closures: int = 0
    disputed: int = 0
    reopened: int = 0
    # Ratings by score: distribution[i] is the number of closures rated i + 1.
    distribution: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)

    @property
    def rated(self) -> int:
        return sum(self.distribution)


def tally(province_code: str, district_code: str, found: Iterable[Closure]) -> Counts:
    """The counts of a district's closures (every case's ``closures``)."""
    n = disputed = reopened = 0
    dist = [0, 0, 0, 0, 0]
    for c in found:
        n += 1
        disputed += c.disputed
        reopened += c.reopened
        if c.score is not None:
            dist[c.score - 1] += 1
    return Counts(
        province_code,
        district_code,
        n,
        disputed,
        reopened,
        (dist[0], dist[1], dist[2], dist[3], dist[4]),
    )


def mean_score(distribution: tuple[int, ...]) -> float | None:
    """The mean of the ratings counted by ``distribution``, 2 decimals half-up, computed
    exactly (no binary rounding first); ``None`` with no rating."""
    rated = sum(distribution)
    if rated == 0:
        return None
    total = sum(score * n for score, n in zip(SCORES, distribution, strict=True))
    return float((Decimal(total) / Decimal(rated)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def figures(c: Counts) -> dict[str, Any]:
    """The report row of one district (or of the total): counts beside their rates."""
    return {
        "province_code": c.province_code,
        "district_code": c.district_code,
        "closures": c.closures,
        "rated": c.rated,
        "response_rate": closure_rate(c.rated, c.closures),
        "mean_score": mean_score(c.distribution),
        **{f"score_{s}": n for s, n in zip(SCORES, c.distribution, strict=True)},
        "disputed": c.disputed,
        "disputed_rate": closure_rate(c.disputed, c.closures),
        "reopened": c.reopened,
        "reopened_rate": closure_rate(c.reopened, c.closures),
    }


@dataclass(frozen=True, slots=True)
class Report:
    districts: list[dict[str, Any]] = field(default_factory=list)
    total: dict[str, Any] = field(default_factory=dict)


def report(rows: Iterable[Counts]) -> Report:
    """Every district's row (by province, district) and the total of them all."""
    ordered = sorted(rows, key=lambda c: (c.province_code, c.district_code))
    total = Counts(
        "",
        "",
        sum(c.closures for c in ordered),
        sum(c.disputed for c in ordered),
        sum(c.reopened for c in ordered),
        (
            sum(c.distribution[0] for c in ordered),
            sum(c.distribution[1] for c in ordered),
            sum(c.distribution[2] for c in ordered),
            sum(c.distribution[3] for c in ordered),
            sum(c.distribution[4] for c in ordered),
        ),
    )
    return Report([figures(c) for c in ordered], figures(total))
