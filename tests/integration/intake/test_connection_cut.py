"""Intake's write batcher when the database ends its connection in the middle of a batch.

A trigger makes the backend that runs the filing statement terminate itself, once, as
``pg_terminate_backend`` does: the statement dies uncommitted.  Every filing of that batch,
with or without an idempotency key, is filed exactly once and answered 201.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.integration.intake.conftest import IntakeService

pytestmark = pytest.mark.integration

CUT_ONCE = """
CREATE SEQUENCE IF NOT EXISTS cut_once;
CREATE OR REPLACE FUNCTION cut_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF nextval('cut_once') = 1 THEN
    PERFORM pg_terminate_backend(pg_backend_pid());
    PERFORM pg_sleep(5);  -- the termination lands here, before anything commits
  END IF;
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER cut_once BEFORE INSERT ON complaints
  FOR EACH STATEMENT EXECUTE FUNCTION cut_once();
"""


def _complaint(channel_ref: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "line",
        "district_code": "5001",
        "category": "other",
        "subject": "ไฟถนนดับ",
        "description": "ไฟถนนดับทั้งซอย",
        "complainant": {"anonymous": True},
    }
    if channel_ref is not None:
        body["channel_ref"] = channel_ref
    return body


async def test_filings_of_a_batch_cut_off_mid_statement_are_filed_once(
    intake: IntakeService,
) -> None:
    await intake.db.execute(CUT_ONCE)
    try:
        keyed = [({"Idempotency-Key": f"cut-{uuid.uuid4()}"}, _complaint()) for _ in range(3)]
        by_ref: list[tuple[dict[str, str], dict[str, Any]]] = [
            ({}, _complaint(f"ref-{uuid.uuid4()}")) for _ in range(3)
        ]
        plain: list[tuple[dict[str, str], dict[str, Any]]] = [
            ({}, _complaint()) for _ in range(6)
        ]  # nothing to recognise a repeat by
        answers = await asyncio.gather(
            *(
                intake.client.post("/v1/complaints", json=body, headers=headers)
                for headers, body in keyed + by_ref + plain
            )
        )
        assert [r.status_code for r in answers] == [201] * len(answers), [
            r.text for r in answers if r.status_code != 201
        ]
        # The cut fired, and the statement ran again after it.
        assert await intake.db.fetchval("SELECT last_value FROM cut_once") >= 2
        ids = [r.json()["complaint_id"] for r in answers]
        assert len(set(ids)) == len(ids)
        assert await intake.db.fetchval(
            "SELECT count(*) FROM complaints WHERE complaint_id = ANY($1::uuid[])", ids
        ) == len(ids)
        assert await intake.db.fetchval(
            "SELECT count(*) FROM outbox WHERE convert_from(key, 'UTF8') = ANY($1::text[])", ids
        ) == len(ids)  # one event each
        for cid in ids:
            assert (await intake.client.get(f"/v1/complaints/{cid}")).status_code == 200
    finally:
        await intake.db.execute("DROP TRIGGER cut_once ON complaints")
