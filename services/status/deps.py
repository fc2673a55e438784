"""FastAPI dependencies of the status routes, as ``Annotated`` aliases.

Everything comes from the app's lifespan runtime: nothing is created at import time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from services.status.domain import CaseState
from services.status.store import CaseStore, PgCaseStore
from services.status.usecases import Guard
from shared.auth.deps import check
from shared.auth.policy import Area, Decision, Operation, decide
from shared.auth.principal import Principal
from shared.http import Problem


def _store(request: Request) -> CaseStore:
    runtime = request.app.state.runtime
    return PgCaseStore(runtime.pool, runtime.settings.events_topic)


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.runtime.pool
    return pool


def _clock(request: Request) -> Callable[[], dt.datetime]:
    # Overridable (app.state.clock) so tests can move time without patching.
    return getattr(request.app.state, "clock", lambda: dt.datetime.now(dt.UTC))


Store = Annotated[CaseStore, Depends(_store)]
Pool = Annotated[asyncpg.Pool, Depends(_pool)]
Clock = Annotated[Callable[[], dt.datetime], Depends(_clock)]


def case_area(state: CaseState) -> Area:
    return Area(state.province_code, state.district_code, state.channel, state.category)


def write_guard(principal: Principal) -> Guard:
    """The handlers' guard: may ``principal`` move this case (its jurisdiction, and its
    category: whistle-blower cases only at provincial level and above)?"""
    return lambda state: decide(principal, Operation.transition, case_area(state)) is Decision.allow


def read_check(principal: Principal, state: CaseState, not_found: Problem) -> None:
    """A case out of ``principal``'s jurisdiction reads exactly as a missing one."""
    check(principal, Operation.read_case, case_area(state), not_found)
