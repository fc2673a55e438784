"""``POST /v1/imports``: backfill a district's register (CSV or Excel) in one request; and
``/v1/imports/jobs`` (``staged/``): the same import previewed first, filed on confirmation."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile

from services.intake import telemetry
from services.intake.backfill.domain.reader import UnreadableFile
from services.intake.backfill.schemas import ImportOut
from services.intake.backfill.staged.api import router as staged_router
from services.intake.backfill.usecases import import_file
from services.intake.deps import store_of
from services.intake.problems import unreadable_import
from shared.auth.deps import Caller, require
from shared.auth.policy import Operation, import_district

router = APIRouter()

# A register is far larger than a request body (whose limit is the setting
# max_body_bytes): about 300 bytes a row, so this takes some 150,000 rows.
IMPORT_MAX_BYTES = 50 * 1024 * 1024


@router.post(
    "/v1/imports",
    response_model=ImportOut,
    tags=["imports"],
    max_body_size=IMPORT_MAX_BYTES,
    responses={
        413: {"description": "file larger than IMPORT_MAX_BYTES"},
        422: {"description": "unreadable file or missing columns"},
    },
)
async def post_import(
    request: Request,
    principal: Caller,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or Windows-874) or .xlsx")],
) -> ImportOut:
    """Backfill a register: every non-empty row is filed (``backfilled``, its original
    ``received_at``, its outcome so far), counted as a duplicate (same row identity as an
    earlier row or import) or rejected with its row number and reasons.  A district
    officer's rows of other districts are rejected."""
    require(principal, Operation.import_)
    data = await file.read()
    try:
        result = await import_file(
            store_of(request),
            request.app.state.settings,
            data,
            dt.datetime.now(dt.UTC),
            district=import_district(principal),
            filed_by=principal.subject,
            filed=telemetry.filed_counter(request),
        )
    except UnreadableFile as exc:
        raise unreadable_import(str(exc)) from None
    return ImportOut.model_validate(result.body())


# The staged import (preview before anything is filed) shares this router, and so main.
router.include_router(staged_router)
