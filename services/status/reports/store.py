"""Reads for the cases report: every stored event of a district's cases received in a
period, grouped by case, upcast to the current schemas (``store.row_envelope``)."""

from __future__ import annotations

import datetime as dt
import uuid
from itertools import groupby

import asyncpg

from services.status.store import row_envelope
from shared.events import Envelope
from shared.thai_calendar import BANGKOK


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=BANGKOK)


async def district_streams(
    pool: asyncpg.Pool, district_code: str, date_from: dt.date, date_to: dt.date
) -> list[list[Envelope]]:
    """Each case's events, in version order, of the cases of ``district_code`` received
    from ``date_from`` to ``date_to`` (Bangkok days, both included)."""
    rows = await pool.fetch(
        "SELECT e.* FROM events e JOIN cases c USING (complaint_id) "
        "WHERE c.district_code = $1 AND c.received_at >= $2 AND c.received_at < $3 "
        "ORDER BY e.complaint_id, e.version",
        district_code,
        _start_of(date_from),
        _start_of(date_to + dt.timedelta(days=1)),
    )

    def case_of(row: asyncpg.Record) -> uuid.UUID:
        return row["complaint_id"]

    return [[row_envelope(r) for r in group] for _cid, group in groupby(rows, key=case_of)]
