"""Open311's SQL: tracking numbers to intake's own complaint rows.

The public view of a case (status, agency...) is read through
``services.intake.tracking.store``; this only finds which complaints the numbers name,
and the facts intake knows from their filing, for a case the view has not yet seen.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from shared.dbtypes import Db


@dataclass(frozen=True, slots=True)
class FiledRow:
    complaint_id: uuid.UUID
    tracking_no: str
    category: str
    district_code: str
    subdistrict_code: str | None
    received_at: dt.datetime
    recorded_at: dt.datetime


async def filed(db: Db, tracking_nos: Sequence[str]) -> dict[str, FiledRow]:
    """The complaints numbered ``tracking_nos`` (unknown numbers are absent)."""
    if not tracking_nos:
        return {}
    rows = await db.fetch(
        """
        SELECT complaint_id, tracking_no, category, district_code, subdistrict_code,
               received_at, recorded_at
        FROM complaints WHERE tracking_no = ANY($1::text[])
        """,
        list(tracking_nos),
    )
    return {r["tracking_no"]: FiledRow(**dict(r)) for r in rows}
