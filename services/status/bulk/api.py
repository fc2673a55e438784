"""``POST /v1/complaints:bulk-transition``: many officer commands, each on its own.

The literal colon keeps the route apart from ``/v1/complaints/{complaint_id}`` (which needs
a slash), in the style of Google's custom methods.  Every item gets a result in request
order; a failed item carries the problem its single-case request would have answered.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter

from services.status import usecases
from services.status.bulk.schemas import (
    BulkIn,
    BulkItemIn,
    BulkItemOut,
    BulkOut,
    ItemError,
)
from services.status.deps import Clock, Store, write_guard
from services.status.domain import TransitionCommand
from services.status.problems import problem_for
from shared.auth.deps import Caller, require
from shared.auth.policy import Operation

router = APIRouter(tags=["cases"])

# Room for MAX_ITEMS items with long notes; other bodies keep the service's smaller limit.
BULK_MAX_BYTES = 8 * 1024 * 1024


def _item(item: BulkItemIn, actor: str) -> usecases.BulkItem:
    fields = item.model_dump(exclude={"complaint_id", "expected_version"})
    return usecases.BulkItem(
        complaint_id=item.complaint_id,
        command=TransitionCommand(**fields, actor=actor),
        expected_version=item.expected_version,
    )


def _result(res: usecases.BulkResult) -> BulkItemOut:
    if res.state is not None:
        return BulkItemOut(
            complaint_id=res.complaint_id,
            ok=True,
            status=res.state.status,
            version=res.state.version,
        )
    assert res.error is not None
    problem = problem_for(res.error)
    return BulkItemOut(
        complaint_id=res.complaint_id,
        ok=False,
        error=ItemError(status=problem.status, title=problem.title, detail=problem.detail),
    )


@router.post(
    "/v1/complaints:bulk-transition",
    response_model=BulkOut,
    response_model_exclude_none=True,
    max_body_size=BULK_MAX_BYTES,
)
async def post_bulk_transition(
    body: BulkIn, store: Store, clock: Clock, principal: Caller
) -> BulkOut:
    """Apply each item as its own transition; 200 with a result per item, in order.  An
    item whose case is outside the caller's jurisdiction fails on its own (403)."""
    require(principal, Operation.transition)
    cid = structlog.contextvars.get_contextvars().get("correlation_id")
    results = await usecases.bulk_transition(
        store,
        [_item(i, principal.subject) for i in body.items],
        now=clock(),
        correlation_id=cid,
        guard=write_guard(principal),
    )
    out = [_result(r) for r in results]
    succeeded = sum(1 for r in out if r.ok)
    structlog.get_logger().info("status.bulk_transition", items=len(out), succeeded=succeeded)
    return BulkOut(results=out, succeeded=succeeded, failed=len(out) - succeeded)
