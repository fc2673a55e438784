"""Backfill import use case: a register file -> filed complaints, duplicates, rejections.

Parsing and validation are pure and CPU-bound, so they run in a worker thread; the
accepted rows are then filed ``BATCH`` at a time, each batch one statement (complaints and
their outbox rows together, ``ON CONFLICT DO NOTHING``).  A row that collides with a
complaint filed by an earlier import (same row identity) is a duplicate, never a second
filing.  Bad rows never stop the good ones.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog

from services.intake.backfill.plan import Duplicate, ImportPlan, Rejected, plan_import
from services.intake.backfill.reader import read_table
from services.intake.service import new_complaint
from services.intake.store import IntakeStore
from shared.config import Settings

BATCH = 1000
log = structlog.get_logger()


@dataclass(slots=True)
class ImportResult:
    import_id: uuid.UUID
    rows: int
    filed: int = 0
    duplicates: list[Duplicate] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {
            "import_id": str(self.import_id),
            "rows": self.rows,
            "filed": self.filed,
            "duplicates": len(self.duplicates),
            "rejected": [{"row": r.row, "reasons": r.reasons} for r in self.rejected],
            "duplicate_rows": [{"row": d.row, "of_row": d.of_row, "reason": d.reason}
                               for d in self.duplicates],
            "ignored_columns": self.ignored_columns,
        }


def plan_file(data: bytes, now: dt.datetime) -> ImportPlan:
    """Read and validate an uploaded file (UnreadableFile / MissingColumns if hopeless)."""
    return plan_import(read_table(data), now)


async def import_file(store: IntakeStore, settings: Settings, data: bytes,
                      now: dt.datetime) -> ImportResult:
    """Import one register file at ``now``; every row is filed, a duplicate or rejected."""
    now = now.astimezone(dt.UTC)
    plan = await asyncio.to_thread(plan_file, data, now)
    result = ImportResult(uuid.uuid4(), plan.rows, duplicates=list(plan.duplicates),
                          rejected=plan.rejected, ignored_columns=plan.ignored_columns)
    correlation_id = structlog.contextvars.get_contextvars().get("correlation_id")
    for start in range(0, len(plan.accepted), BATCH):
        batch = plan.accepted[start:start + BATCH]
        serials = await store.take_serials(len(batch))
        rows = [new_complaint(item.command, serial, now, settings.events_topic,
                              correlation_id=correlation_id, outcome=item.outcome)
                for item, serial in zip(batch, serials, strict=True)]
        inserted = await store.insert_many(rows)
        result.filed += len(inserted)
        result.duplicates.extend(Duplicate(item.row, None)
                                 for item, row in zip(batch, rows, strict=True)
                                 if row.complaint_id not in inserted)
    result.duplicates.sort(key=lambda d: d.row)
    log.info("import.done", import_id=str(result.import_id), rows=result.rows,
             filed=result.filed, duplicates=len(result.duplicates),
             rejected=len(result.rejected))
    return result
