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
from tests.events import envelope
from tests.integration.intake.conftest import IntakeService

pytestmark = pytest.mark.integration


def _filing(at: dt.datetime) -> ComplaintFiled:
    """A walk-in filing in district 5001 received and recorded ``at``, with a fresh number."""
    return ComplaintFiled(
        tracking_no=f"5001-2569-{uuid.uuid4().int % 10**9:09d}",
        channel=ChannelCode.walk_in,
        category=CategoryCode.land,
        province_code="50",
        district_code="5001",
        received_at=at,
        recorded_at=at,
        anonymous=False,
    )


async def test_the_fold_is_idempotent_and_independent_of_order(intake: IntakeService) -> None:
    """Redeliveries and out-of-order events give the same row as one in-order pass."""
    cid, t0 = uuid.uuid4(), dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)

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

    filed = env(1, _filing(t0))
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


async def test_a_batch_s_cases_are_refreshed_by_their_ids_alone(intake: IntakeService) -> None:
    """The refresh reads the history and the case rows through their keys, whatever the
    planner thinks of the tables' sizes (a plan made while they were empty scanned the
    whole history for every batch during a large import), and leaves the session's
    planner settings as they were."""
    conn = intake.db
    ids = [uuid.uuid4() for _ in range(3)]
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            row[0] for row in await conn.fetch("EXPLAIN " + tracking_store._REFRESH, ids)
        )
    assert "Seq Scan" not in plan
    assert plan.count("tracking_history_pkey") == 2 and "tracking_cases_pkey" in plan
    t0 = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)
    filed = envelope(_filing(t0), version=1, source=INTAKE_SOURCE, at=t0)
    async with conn.transaction():
        await consumer.handle_batch(conn, [filed])
        assert await conn.fetchval("SHOW enable_seqscan") == "on"
    cid = filed.complaint_id
    assert (await tracking_store.public_cases(conn, [cid]))[cid].status.value == "filed"
