"""intake's fold of the case events into its public view, on the real PostgreSQL: the
case row is a function of the history alone, so redeliveries and out-of-order events give
the row one in-order pass gives."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from services.intake.tracking import consumer
from services.intake.tracking import store as tracking_store
from shared.codes import CategoryCode, ChannelCode, ClosureReason
from shared.events import (
    INTAKE_SOURCE,
    STATUS_SOURCE,
    CaseAccepted,
    CaseClosed,
    CaseReopened,
    ComplaintFiled,
    Envelope,
)
from tests.integration.intake.conftest import IntakeService

pytestmark = pytest.mark.integration


async def test_the_fold_is_idempotent_and_independent_of_order(intake: IntakeService) -> None:
    """Redeliveries and out-of-order events give the same row as one in-order pass."""
    cid, t0 = uuid.uuid4(), dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)
    number = f"5001-2569-{uuid.uuid4().int % 10**9:09d}"

    def env(version: int, data: Any) -> Envelope:
        at = t0 + dt.timedelta(hours=version)
        source = INTAKE_SOURCE if version == 1 else STATUS_SOURCE
        return Envelope(
            event_id=uuid.uuid4(),
            complaint_id=cid,
            version=version,
            source=source,
            occurred_at=at,
            recorded_at=at,
            data=data,
        )

    filed = env(
        1,
        ComplaintFiled(
            tracking_no=number,
            channel=ChannelCode.walk_in,
            category=CategoryCode.land,
            province_code="50",
            district_code="5001",
            received_at=t0,
            recorded_at=t0,
            anonymous=False,
        ),
    )
    accepted = env(2, CaseAccepted(actor="o"))
    closed = env(3, CaseClosed(actor="o", reason=ClosureReason.mediated))
    reopened = env(4, CaseReopened(actor="o", reason="ผู้ร้องแจ้งว่ายังไม่แก้"))
    conn = intake.db
    async with conn.transaction():
        await consumer.handle_batch(conn, [closed, accepted])  # before the filing is seen
        assert (await tracking_store.public_cases(conn, [cid])) == {}
        await consumer.handle(conn, filed)
        mid = (await tracking_store.public_cases(conn, [cid]))[cid]
        assert mid.status.value == "closed" and mid.closure_reason == ClosureReason.mediated
        assert mid.updated_at == closed.occurred_at and mid.received_at == t0
        await consumer.handle_batch(conn, [reopened, accepted, filed, reopened])
    case = (await tracking_store.public_cases(conn, [cid]))[cid]
    assert case.status.value == "reopened" and case.closure_reason is None
    assert case.updated_at == reopened.occurred_at
    history = await tracking_store.public_history(conn, cid)
    assert [h.version for h in history] == [1, 2, 3, 4]
    assert [h.status.value for h in history] == ["filed", "accepted", "closed", "reopened"]
