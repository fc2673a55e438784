"""kpi's own HTTP route: how far the projection is."""

from __future__ import annotations

from fastapi import APIRouter

from services.kpi import schemas, store
from services.kpi.deps import Pool
from shared.auth.deps import Caller, require
from shared.auth.policy import Operation

router = APIRouter(prefix="/v1/kpi", tags=["kpi"])


@router.get("/progress", response_model=schemas.ProgressOut)
async def progress(pool: Pool, principal: Caller) -> schemas.ProgressOut:
    """How far the projection is (for benchmarks and tests to wait on)."""
    require(principal, Operation.read_kpi)
    p = await store.progress(pool)
    return schemas.ProgressOut(
        events_applied=p.events_applied, cases=p.cases, last_recorded_at=p.last_recorded_at
    )
