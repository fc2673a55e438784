"""Open311's service layer: file a GeoReport request, and read requests from intake's
public view of cases.

A request is filed as every complaint is: its form becomes the REST filing document,
``parse_complaint`` validates it and ``file_complaint`` files it once per idempotency key.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from services.intake.domain.validation import InvalidComplaint, parse_complaint
from services.intake.open311 import store
from services.intake.open311.domain.catalogue import SERVICES, UNPUBLISHED
from services.intake.open311.domain.errors import Open311Error, bad_fields
from services.intake.open311.domain.filters import RequestFilter
from services.intake.open311.domain.form import Form, filing, parameter
from services.intake.open311.domain.views import RequestView, from_public_case
from services.intake.pii.domain.keys import PiiKeys
from services.intake.store import IntakeStore
from services.intake.tracking import store as tracking
from services.intake.tracking.domain.keys import well_formed_tracking_no
from services.intake.usecases import Filed, IdempotencyConflict, file_complaint
from shared.config import Settings
from shared.dbtypes import Db

PUBLISHED = tuple(s.code for s in SERVICES if s.code not in UNPUBLISHED)


async def file_request(
    intake: IntakeStore,
    settings: Settings,
    keys: PiiKeys,
    form: Form,
    *,
    channel: str,
    filed_by: str,
    now: dt.datetime,
    idempotency_key: str | None,
) -> Filed:
    """File the GeoReport request in ``form`` for ``channel``.

    Raises Open311Error: 404 for an unknown service_code, 400 naming every bad parameter,
    400 (code 409) when the idempotency key was used for a different request."""
    # Matching an address against every Thai place name is CPU work: off the event loop.
    doc = await asyncio.to_thread(filing, form, channel)
    try:
        cmd = parse_complaint(doc, now, idempotency_key=idempotency_key)
    except InvalidComplaint as exc:
        raise bad_fields((parameter(e.field), e.message) for e in exc.errors) from None
    try:
        return await file_complaint(intake, settings, cmd, now, keys=keys, filed_by=filed_by)
    except IdempotencyConflict:
        raise Open311Error.one(
            400,
            "Idempotency-Key: was already used for a different request",
            code=409,
        ) from None


def _published(view: RequestView) -> bool:
    return view.category not in UNPUBLISHED


async def requests_by_number(db: Db, tracking_nos: Sequence[str]) -> list[RequestView]:
    """The requests numbered ``tracking_nos``, in that order; unknown and unpublished
    numbers are left out.  A case the public view has not seen yet (its filing is still
    on its way through the topic) is shown as intake filed it: open, as filed."""
    # Anything else names no request (and a NUL byte would not even reach the database).
    rows = await store.filed(db, [n for n in tracking_nos if well_formed_tracking_no(n)])
    cases = await tracking.public_cases(db, [r.complaint_id for r in rows.values()])
    out = []
    for number in tracking_nos:
        row = rows.get(number)
        if row is None:
            continue
        case = cases.get(row.complaint_id)
        view = (
            from_public_case(case)
            if case is not None
            else RequestView(
                tracking_no=row.tracking_no,
                category=row.category,
                district_code=row.district_code,
                subdistrict_code=row.subdistrict_code,
                status="filed",
                closure_reason=None,
                agency=None,
                received_at=row.received_at,
                updated_at=row.recorded_at,
            )
        )
        if _published(view):
            out.append(view)
    return out


async def find_requests(db: Db, f: RequestFilter) -> list[RequestView]:
    """The requests a ``GET requests`` filter selects, newest first, at most ``f.limit``."""
    if f.ids is not None:
        return (await requests_by_number(db, f.ids))[: f.limit]
    codes = [c for c in PUBLISHED if f.service_codes is None or c in f.service_codes]
    if not codes:
        return []
    state = None if f.statuses is None or len(f.statuses) != 1 else next(iter(f.statuses))
    cases = await tracking.find_public_cases(
        db,
        categories=codes,
        received_from=f.start,
        received_to=f.end,
        state="open" if state == "open" else "closed" if state == "closed" else None,
        limit=f.limit,
    )
    return [v for v in map(from_public_case, cases) if _published(v)]
