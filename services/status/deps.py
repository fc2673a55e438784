"""FastAPI dependencies of the status routes, as ``Annotated`` aliases.

Everything comes from the app's lifespan runtime: nothing is created at import time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from services.status.store import CaseStore, PgCaseStore


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
