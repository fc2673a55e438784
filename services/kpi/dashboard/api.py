"""``GET /v1/kpi/dashboard``: the five reports a supervisor's dashboard shows (summary,
monthly, aging, recording, satisfaction), for the same filters, in one answer.

Each part is exactly what its own endpoint answers.  The console asked for them one by
one; in one request the service's fixed cost per request (token, filters, the kept
answer's lookup) is paid once instead of five times, on both sides, which is what a
national dashboard under load spent most of its time on.  The answer is kept like the
reports' (``services.kpi.reports.answers``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter

from services.kpi.dashboard.schemas import Dashboard
from services.kpi.deps import Kept, Now, OfYear, Pool, Sla
from services.kpi.domain import satisfaction
from services.kpi.domain.asof import reference_date
from services.kpi.reports import answers, schemas
from services.kpi.reports import usecases as reports
from services.kpi.reports.api import sla_key
from services.kpi.satisfaction import store
from services.kpi.satisfaction.api import document

router = APIRouter(prefix="/v1/kpi", tags=["kpi"])


@router.get("/dashboard", response_model=Dashboard)
async def dashboard(kept: Kept, pool: Pool, scope: OfYear, policy: Sla, now: Now) -> Any:
    """Summary, monthly, aging, recording and satisfaction of the fiscal year for these
    filters, each as its own endpoint answers it."""

    async def render() -> answers.Rendered:
        async with answers.snapshot(pool) as db:  # the five parts count one state
            summary = await reports.summary(db, scope, policy)
            monthly = await reports.monthly(db, scope)
            aging = await reports.aging(db, scope, now)
            recording = await reports.recording(db, scope, now)
            found = satisfaction.report(await store.counts(db, scope))
        return answers.Rendered.json(
            Dashboard(
                summary=schemas.Summary.model_validate(summary.doc),
                monthly=schemas.Monthly.model_validate(monthly.doc),
                aging=schemas.Aging.model_validate(aging.doc),
                recording=schemas.Recording.model_validate(recording.doc),
                satisfaction=document(scope, found),
            )
        )

    day = reference_date(scope.as_of, now)  # ages and silences count to it
    question = ("dashboard", dataclasses.astuple(scope), sla_key(policy), day)
    return await answers.answer(kept, pool, question, render)
