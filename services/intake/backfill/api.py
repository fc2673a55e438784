"""``POST /v1/imports``: backfill a district's register (CSV or Excel) as a job, followed with
``GET /v1/imports/{job_id}``; and ``/v1/imports/jobs`` (``staged/``): the same import
previewed first, filed on confirmation.

A direct import IS a staged job confirmed at once by its uploader: the file is sealed, the
rows are filed by the staged job's background task (heartbeat, advisory lock, resumed by
any replica after a crash) and the job's result is the summary.  ``?wait=true`` keeps the
synchronous answer of earlier versions (200 and the summary, filed within the request, no
job) for scripts that cannot poll.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from services.intake import telemetry
from services.intake.backfill.domain.reader import UnreadableFile
from services.intake.backfill.schemas import ImportJobOut, ImportOut
from services.intake.backfill.staged import usecases as staged
from services.intake.backfill.staged.api import claim_and_file, jobs_of
from services.intake.backfill.staged.api import router as staged_router
from services.intake.backfill.staged.domain import may_use, shown_status
from services.intake.backfill.staged.store import JobRow
from services.intake.backfill.usecases import import_file
from services.intake.deps import store_of
from services.intake.domain.validation import FieldError
from services.intake.problems import invalid, not_found
from shared.auth.deps import Caller, require
from shared.auth.policy import Operation, import_district

router = APIRouter()

# A register is far larger than a request body (whose limit is the setting
# max_body_bytes): about 300 bytes a row, so this takes some 150,000 rows.
IMPORT_MAX_BYTES = 50 * 1024 * 1024


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _job_out(job: JobRow, now: dt.datetime) -> ImportJobOut:
    preview = job.preview
    return ImportJobOut.model_validate(
        {
            "job_id": job.job_id,
            "status": shown_status(job.status, job.heartbeat_at, now, job.queued_since),
            "progress": {"total": job.rows_total, "done": job.rows_done, "filed": job.filed},
            "expected": {
                "to_file": preview["to_file"],
                "duplicates": preview["duplicates"],
                "rejected": len(preview["rejected"]),
            },
            "result": job.result,
            "error": job.error,
        }
    )


@router.post(
    "/v1/imports",
    response_model=ImportJobOut | ImportOut,
    status_code=202,
    tags=["imports"],
    max_body_size=IMPORT_MAX_BYTES,
    responses={
        200: {"model": ImportOut, "description": "with wait=true: the summary"},
        413: {"description": "file larger than IMPORT_MAX_BYTES"},
        422: {"description": "unreadable file or missing columns (field: file)"},
    },
)
async def post_import(
    request: Request,
    response: Response,
    principal: Caller,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or Windows-874) or .xlsx")],
    wait: Annotated[bool, Query(description="file within the request; 200 and the summary")] = (
        False
    ),
) -> ImportJobOut | ImportOut:
    """Backfill a register: every non-empty row is filed (``backfilled``, its original
    ``received_at``, its outcome so far), counted as a duplicate (same row identity as an
    earlier row or import) or rejected with its row number and reasons.  A district
    officer's rows of other districts are rejected.

    Answers 202 and the job (``Location: /v1/imports/{job_id}``) once every row is read
    and checked; the rows are filed in the background.  With ``wait=true``, 200 and the
    summary once every row is filed."""
    require(principal, Operation.import_)
    data = await file.read()
    if not data:
        raise invalid([FieldError("file", "is empty")])
    try:
        if wait:
            result = await import_file(
                store_of(request),
                request.app.state.settings,
                data,
                _now(),
                district=import_district(principal),
                filed_by=principal.subject,
                filed=telemetry.filed_counter(request),
            )
            response.status_code = 200
            return ImportOut.model_validate(result.body())
        jobs = jobs_of(request)
        job = (
            await staged.stage(
                jobs,
                request.app.state.pii_keys,
                data,
                _now(),
                staged_by=principal.subject,
                district=import_district(principal),
            )
        ).job
    except UnreadableFile as exc:
        raise invalid([FieldError("file", str(exc))]) from None
    running = await claim_and_file(request, job.job_id, principal.subject)
    assert running is not None  # staged a moment ago, by this request
    response.headers["Location"] = f"/v1/imports/{job.job_id}"
    return _job_out(running, _now())


# The staged import (preview before anything is filed) shares this router, and so main.
# Included before the route below: a request for ``/v1/imports/jobs`` with a method it
# does not allow matches ``/v1/imports/{job_id}`` too, and the first match names the
# allowed methods (POST, not GET).
router.include_router(staged_router)


@router.get("/v1/imports/{job_id}", response_model=ImportJobOut, tags=["imports"])
async def get_import_job(request: Request, principal: Caller, job_id: uuid.UUID) -> ImportJobOut:
    """The import job: ``queued`` (waiting for its turn: an intake files
    ``IMPORT_FILINGS_AT_ONCE`` imports at once), ``running`` (``stalled`` when its replica
    stopped: another resumes it), ``done`` with the summary in ``result``, or ``failed``;
    progress as rows go through.  Only its uploader or an administrator may read it (404
    to anyone else)."""
    require(principal, Operation.import_)
    job = await jobs_of(request).get(job_id, _now())
    if job is None or not may_use(principal, job.staged_by) or job.status == "staged":
        raise not_found(f"no import {job_id} (or it expired)")
    return _job_out(job, _now())
