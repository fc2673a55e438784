"""A chunk of register rows -> encoded filings ready for the store, or rejections.  Pure.

This is the CPU-heavy half of an import (parsing, validation, the ``ComplaintFiled``
event and its CloudEvent record, the row's JSON), written as one picklable function so
that large imports can run it in worker processes while the parent writes earlier chunks.
Which rows repeat one another is decided by the caller, who sees the whole file.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.intake.backfill.domain.plan import Rejected, cells_of, outside_district
from services.intake.backfill.domain.rows import RowRejected, parse_row
from services.intake.domain.records import new_complaint, row_json
from services.intake.pii.domain.keys import PiiKeys


@dataclass(frozen=True, slots=True)
class Encoded:
    """An accepted row: its identity (for duplicates) and its store-ready bytes."""

    row: int
    identity: str
    complaint_id: uuid.UUID
    record: bytes


@dataclass(slots=True)
class PreparedChunk:
    accepted: list[Encoded] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def prepare_chunk(
    columns: dict[str, int],
    rows: Sequence[tuple[int, Sequence[Any]]],
    serials: Sequence[int],
    now: dt.datetime,
    topic: str,
    keys: PiiKeys,
    correlation_id: str | None,
    district: str | None = None,
    filed_by: str | None = None,
) -> PreparedChunk:
    """Parse ``rows`` (numbered) at ``now`` and encode each good one with the serial of the
    same position in ``serials`` (one per row; a rejected row's serial is simply unused).
    With ``district`` (the importing officer's), rows of other districts are rejected.
    Identities are sealed here, under ``keys``, so that the parent only writes bytes."""
    out = PreparedChunk()
    for (number, row), serial in zip(rows, serials, strict=True):
        try:
            parsed = parse_row(number, cells_of(columns, row), now, hash_key=keys.hash_key)
        except RowRejected as exc:
            out.rejected.append(Rejected(number, exc.reasons))
            continue
        refused = outside_district(number, parsed.command.district_code, district)
        if refused is not None:
            out.rejected.append(refused)
            continue
        record = new_complaint(
            parsed.command,
            serial,
            now,
            topic,
            keys,
            correlation_id=correlation_id,
            outcome=parsed.outcome,
            filed_by=filed_by,
            request_hash=parsed.request_hash,
            receipt=False,
        )
        out.accepted.append(Encoded(number, parsed.identity, record.complaint_id, row_json(record)))
    return out
