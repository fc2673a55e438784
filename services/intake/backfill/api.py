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

from fastapi import APIRouter, Query, Request, Response

from services.intake import telemetry
from services.intake.backfill.domain.reader import UnreadableFile
from services.intake.backfill.schemas import ImportJobOut, ImportOut
from services.intake.backfill.staged.api import (
    UPLOAD_MAX_BYTES,
    claim_and_file,
    jobs_of,
    stage_upload,
)
from services.intake.backfill.staged.api import router as staged_router
from services.intake.backfill.staged.domain import PART_BYTES, may_use, shown_status
from services.intake.backfill.staged.store import JobRow
from services.intake.backfill.staged.upload import OPENAPI_BODY, BadUpload, file_parts
from services.intake.backfill.usecases import import_file
from services.intake.deps import store_of
from services.intake.domain.validation import FieldError
from services.intake.problems import invalid, not_found
from shared.auth.deps import Caller, require
from shared.auth.policy import Operation, import_district
from shared.http import Problem, problem_type

router = APIRouter()

# With wait=true the file is held whole while it is filed within the request: scripts
# that cannot poll send district registers (about 300 bytes a row: some 150,000 rows).
WAIT_MAX_BYTES = 50 * 1024 * 1024


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _job_out(job: JobRow, now: dt.datetime) -> ImportJobOut:
    preview = job.preview
    return ImportJobOut.model_validate(
        {
            "job_id": job.job_id,
            "status": shown_status(job.status, job.heartbeat_at, now, job.queued_since),
            "progress": {"total": job.rows_total, "done": job.rows_done, "filed": job.filed},
            "expected": None
            if preview is None
            else {
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
    max_body_size=UPLOAD_MAX_BYTES,
    openapi_extra=OPENAPI_BODY,
    responses={
        200: {"model": ImportOut, "description": "with wait=true: the summary"},
        413: {"description": "file larger than 1 GiB (an .xlsx: 50 MiB; with wait=true: 50 MiB)"},
        422: {"description": "no file, an unreadable one, or missing columns (field: file)"},
    },
)
async def post_import(
    request: Request,
    response: Response,
    principal: Caller,
    wait: Annotated[bool, Query(description="file within the request; 200 and the summary")] = (
        False
    ),
) -> ImportJobOut | ImportOut:
    """Backfill a register: every non-empty row is filed (``backfilled``, its original
    ``received_at``, its outcome so far), counted as a duplicate (same row identity as an
    earlier row or import) or rejected with its row number and reasons.  A district
    officer's rows of other districts are rejected.

    Answers 202 and the job (``Location: /v1/imports/{job_id}``) once the file is stored
    and its header read; the rows are checked and filed in the background, each once.  A
    CSV's ``progress.total`` is then its line ends (over when a cell spans lines) until the
    job is done, and ``expected`` is null; an .xlsx is checked row by row before the 202
    (``expected`` as a staged job's preview).  With ``wait=true``, 200 and the
    summary once every row is filed (a file of at most 50 MiB).

    The register is the form field ``file``: CSV (UTF-8 or Windows-874) or .xlsx.  It is
    sealed and stored as it streams in, never held whole (with ``wait=true`` it is)."""
    require(principal, Operation.import_)
    if not wait:
        job = (await stage_upload(request, principal, check_rows=False)).job
        running = await claim_and_file(request, job.job_id, principal.subject)
        assert running is not None  # staged a moment ago, by this request
        response.headers["Location"] = f"/v1/imports/{job.job_id}"
        return _job_out(running, _now())
    data = await _whole_file(request)
    try:
        result = await import_file(
            store_of(request),
            request.app.state.settings,
            data,
            _now(),
            district=import_district(principal),
            filed_by=principal.subject,
            filed=telemetry.filed_counter(request),
        )
    except UnreadableFile as exc:
        raise invalid([FieldError("file", str(exc))]) from None
    response.status_code = 200
    return ImportOut.model_validate(result.body())


async def _whole_file(request: Request) -> bytes:
    """The request's ``file`` whole, for ``wait=true``: 413 over ``WAIT_MAX_BYTES``."""
    data = bytearray()
    try:
        async for part in file_parts(request, PART_BYTES):
            data += part
            if len(data) > WAIT_MAX_BYTES:
                raise Problem(
                    413,
                    "Content too large",
                    f"with wait=true a register may be at most {WAIT_MAX_BYTES // 2**20} MiB; "
                    "import a larger one as a job (without wait)",
                    type_=problem_type("too-large"),
                )
    except BadUpload as exc:
        raise invalid([FieldError("file", str(exc))]) from None
    if not data:
        raise invalid([FieldError("file", "is empty")])
    return bytes(data)


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
