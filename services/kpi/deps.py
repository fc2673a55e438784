"""FastAPI dependencies of the kpi routes, as ``Annotated`` aliases: the pool, the kept
answers, the SLA policy, the clock, and the filters every report takes, confined to the
caller's area."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Annotated, Literal

import asyncpg
from fastapi import Depends, Query, Request

from services.kpi.domain import sla
from services.kpi.domain.asof import Scope
from services.kpi.domain.metrics import SlaPolicy
from services.kpi.reports.answers import Answers
from shared.auth.deps import Caller, confined
from shared.auth.policy import Operation
from shared.codes import CategoryCode, ChannelCode
from shared.iso_dates import IsoDate, IsoDateTime
from shared.thai_calendar import aware

SLA_FILE = Path(__file__).with_name("sla.toml")


def load_sla(path: Path = SLA_FILE) -> SlaPolicy:
    """The SLA policy in ``sla.toml`` (days to close per category)."""
    return sla.parse(path.read_text(encoding="utf-8"))


def _pool(request: Request) -> asyncpg.Pool:
    pool = request.app.state.runtime.pool
    assert pool is not None
    return pool


@functools.cache
def _default_sla() -> SlaPolicy:
    return load_sla()


def _sla(request: Request) -> SlaPolicy:
    """The app's SLA policy (``app.state.sla``), else the one in ``sla.toml``."""
    policy = getattr(request.app.state, "sla", None)
    return policy if isinstance(policy, SlaPolicy) else _default_sla()


def _answers(request: Request) -> Answers:
    """The app's kept answers (``app.state.answers``), else none kept."""
    kept = getattr(request.app.state, "answers", None)
    return kept if isinstance(kept, Answers) else Answers(0)


Pool = Annotated[asyncpg.Pool, Depends(_pool)]
Kept = Annotated[Answers, Depends(_answers)]
Sla = Annotated[SlaPolicy, Depends(_sla)]
FiscalYear = Query(ge=2500, le=2700, description="Thai fiscal year (BE)")
Format = Annotated[Literal["json", "csv"], Query(description="json, or csv: the table")]


def _filters(
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    district_code: Annotated[str | None, Query(pattern=r"^\d{4}$")] = None,
    channel: ChannelCode | None = None,
    category: CategoryCode | None = None,
    as_of: Annotated[IsoDate | None, Query(description="end of this day, Bangkok")] = None,
    known_at: Annotated[IsoDateTime | None, Query(description="ignore later records")] = None,
    *,
    principal: Caller,
) -> Scope:
    """Every filter but the fiscal year, confined to the caller's jurisdiction (403 for
    another area's)."""
    province_code, district_code = confined(
        principal, Operation.read_kpi, province_code, district_code
    )
    return Scope(
        None,
        province_code,
        district_code,
        None if channel is None else channel.value,
        None if category is None else category.value,
        as_of,
        None if known_at is None else aware(known_at).astimezone(dt.UTC),
    )


def _scope_of_year(
    fiscal_year: Annotated[int, FiscalYear], rest: Annotated[Scope, Depends(_filters)]
) -> Scope:
    return Scope(
        fiscal_year,
        rest.province_code,
        rest.district_code,
        rest.channel,
        rest.category,
        rest.as_of,
        rest.known_at,
    )


def _scope_any_year(
    rest: Annotated[Scope, Depends(_filters)], fiscal_year: Annotated[int | None, FiscalYear] = None
) -> Scope:
    return Scope(
        fiscal_year,
        rest.province_code,
        rest.district_code,
        rest.channel,
        rest.category,
        rest.as_of,
        rest.known_at,
    )


OfYear = Annotated[Scope, Depends(_scope_of_year)]
AnyYear = Annotated[Scope, Depends(_scope_any_year)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


Now = Annotated[dt.datetime, Depends(_now)]
