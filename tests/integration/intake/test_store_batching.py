"""The batched filing statement: duplicates inside one batch, outbox rows per inserted row."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from services.intake.domain.records import NewComplaint
from services.intake.store import IntakeStore
from shared.db import create_pool
from tests.integration.intake.conftest import IntakeService

pytestmark = pytest.mark.integration


def row(topic: str, serial: int, *, key: str | None = None, ref: str | None = None) -> NewComplaint:
    now = dt.datetime.now(dt.UTC)
    cid = uuid.uuid4()
    return NewComplaint(
        complaint_id=cid,
        tracking_no=f"9999-2569-{serial:07d}-{uuid.uuid4().hex[:6]}",
        channel="line",
        channel_ref=ref,
        idempotency_key=key,
        request_hash=b"\x01" * 32,
        category="other",
        province_code="50",
        district_code="5001",
        subdistrict_code=None,
        subject="s",
        description="d",
        anonymous=True,
        complainant_ref=None,
        key_id=None,
        wrapped_key=None,
        identity=None,
        complainant_masked={"anonymous": True},
        received_at=now,
        recorded_at=now,
        backfilled=False,
        event_id=uuid.uuid4(),
        topic=topic,
        key=str(cid).encode(),
        headers=[["ce_id", "x"]],
        value='{"ไทย":1}'.encode(),
    )


async def test_one_writer_batches_and_dedupes_inside_the_batch(intake: IntakeService) -> None:
    pool = await create_pool(intake.settings.database_url, "intake", max_size=3)
    try:
        # One writer: while its statement runs, the other filings queue into one batch.
        store = IntakeStore(pool, writers=1)
        key, ref = f"k-{uuid.uuid4()}", f"r-{uuid.uuid4()}"
        topic = intake.settings.events_topic
        rows = (
            [row(topic, i, key=key) for i in range(10)]
            + [row(topic, i, ref=ref) for i in range(10)]
            + [row(topic, i) for i in range(10)]
        )
        results = await asyncio.gather(*[store.insert(r) for r in rows])
        assert sum(results[:10]) == 1 and sum(results[10:20]) == 1 and all(results[20:])
        inserted = [r.complaint_id for r, ok in zip(rows, results, strict=True) if ok]
        assert (
            await intake.db.fetchval(
                "SELECT count(*) FROM complaints WHERE complaint_id = ANY($1::uuid[])",
                [r.complaint_id for r in rows],
            )
            == len(inserted)
            == 12
        )
        # Exactly one outbox row per inserted complaint, none for the losers; bytes intact.
        outbox = await intake.db.fetch(
            "SELECT key, value FROM outbox WHERE key = ANY($1::bytea[])",
            [str(r.complaint_id).encode() for r in rows],
        )
        assert sorted(bytes(o["key"]) for o in outbox) == sorted(str(c).encode() for c in inserted)
        assert {bytes(o["value"]) for o in outbox} == {'{"ไทย":1}'.encode()}
        await store.close()
    finally:
        await pool.close()
