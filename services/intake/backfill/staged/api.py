"""``/v1/imports/jobs``: stage a register (preview, nothing filed), confirm it, follow it.

Only the officer who staged a job, or an administrator, may read or confirm it; to anyone
else it does not exist (404) and a confirmation is refused (403).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from services.intake import telemetry
from services.intake.backfill.domain.reader import UnreadableFile
from services.intake.backfill.staged import usecases, worker
from services.intake.backfill.staged.domain import PART_BYTES, may_use, shown_status
from services.intake.backfill.staged.schemas import JobOut
from services.intake.backfill.staged.store import JobRow, JobStore
from services.intake.backfill.staged.upload import OPENAPI_BODY, BadUpload, file_parts
from services.intake.deps import store_of
from services.intake.domain.validation import FieldError
from services.intake.problems import invalid, not_found
from shared.auth.deps import Caller, forbidden, require
from shared.auth.policy import Operation, import_district
from shared.auth.principal import Principal
from shared.csv_export import csv_response
from shared.http import Problem, problem_type

router = APIRouter(tags=["imports"])
# A national register as one file: about 2.5 million rows of CSV.  The upload is sealed
# and stored a part at a time, so this bounds the database's share, not memory.
UPLOAD_MAX_BYTES = 1024 * 1024 * 1024


async def stage_upload(
    request: Request, principal: Principal, *, check_rows: bool = True
) -> usecases.Staged:
    """Stage the request's ``file`` as ``principal``'s (``check_rows``: see
    ``usecases.stage``): 422 naming ``file`` when it is missing, empty or unreadable; 413
    for an .xlsx over its own limit."""
    try:
        return await usecases.stage(
            jobs_of(request),
            request.app.state.pii_keys,
            file_parts(request, PART_BYTES),
            _now(),
            staged_by=principal.subject,
            district=import_district(principal),
            check_rows=check_rows,
        )
    except (BadUpload, UnreadableFile) as exc:
        raise invalid([FieldError("file", str(exc))]) from None
    except usecases.TooLarge as exc:
        raise Problem(413, "Content too large", str(exc), type_=problem_type("too-large")) from None


def jobs_of(request: Request) -> JobStore:
    return worker.jobs_of(request.app)


def tasks_of(request: Request) -> set[asyncio.Task[None]]:
    return worker.tasks_of(request.app)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def claim_and_file(request: Request, job_id: uuid.UUID, subject: str) -> JobRow | None:
    """Confirm a staged job for ``subject`` and start filing it; the running job, or None
    if it was confirmed already (by another request, or running)."""
    jobs = jobs_of(request)
    if not await jobs.claim(job_id, subject, _now()):
        return None
    claimed = await jobs.get(job_id, _now())
    assert claimed is not None  # claimed a moment ago
    usecases.confirm(
        tasks_of(request),
        jobs,
        store_of(request),
        request.app.state.settings,
        request.app.state.pii_keys,
        claimed,
        telemetry.filed_counter(request),
    )
    return claimed


def _out(job: JobRow, now: dt.datetime, sample: list[dict[str, Any]] | None = None) -> JobOut:
    return JobOut.model_validate(
        {
            "job_id": job.job_id,
            "status": shown_status(job.status, job.heartbeat_at, now, job.queued_since),
            "staged_by": job.staged_by,
            "district_code": job.district_code,
            "created_at": job.created_at,
            "expires_at": job.expires_at,
            "confirmed_at": job.confirmed_at,
            "finished_at": job.finished_at,
            "progress": {"total": job.rows_total, "done": job.rows_done, "filed": job.filed},
            "preview": job.preview,
            "sample": sample,
            "result": job.result,
            "error": job.error,
        }
    )


def _gone(job_id: uuid.UUID) -> Problem:
    return not_found(f"no import job {job_id} (or it expired)")


async def _own_job(request: Request, principal: Principal, job_id: uuid.UUID) -> JobRow:
    require(principal, Operation.import_)
    job = await jobs_of(request).get(job_id, _now())
    if job is None or not may_use(principal, job.staged_by):
        raise _gone(job_id)
    return job


@router.post(
    "/v1/imports/jobs",
    response_model=JobOut,
    status_code=201,
    max_body_size=UPLOAD_MAX_BYTES,
    openapi_extra=OPENAPI_BODY,
    responses={
        413: {"description": "file larger than 1 GiB (an .xlsx: 50 MiB)"},
        422: {"description": "no file, or an unreadable one, or missing columns"},
    },
)
async def stage_import(request: Request, principal: Caller) -> JobOut:
    """Stage a register (the form field ``file``: CSV in UTF-8 or Windows-874, or .xlsx):
    read and check every row as ``POST /v1/imports`` would and answer the preview (rows
    to file, duplicates, rejected rows with reasons, the first rows as read) and the job
    id.  NOTHING is filed until ``POST .../{job_id}/confirm``.  The file is kept sealed
    and expires after 24 hours; 422 naming ``file`` when it is missing or unreadable."""
    require(principal, Operation.import_)
    staged = await stage_upload(request, principal)
    return _out(staged.job, _now(), staged.sample)


@router.post(
    "/v1/imports/jobs/{job_id}/confirm",
    response_model=JobOut,
    status_code=202,
    responses={409: {"description": "the job already finished"}},
)
async def confirm_import(request: Request, principal: Caller, job_id: uuid.UUID) -> JobOut:
    """Start filing a staged job in the background (202; follow it with GET).  Confirming
    a job that is already running answers its state (a double click files once); a
    stalled job (its replica stopped) is resumed.  403 for another officer's job."""
    require(principal, Operation.import_)
    jobs = jobs_of(request)
    job = await jobs.get(job_id, _now())
    if job is None:
        raise _gone(job_id)
    if not may_use(principal, job.staged_by):
        raise forbidden("only the officer who staged this import (or an admin) may confirm it")
    if job.status in ("done", "failed"):
        raise Problem(
            409,
            "Import already finished",
            f"import job {job_id} is {job.status}",
            type_=problem_type("import-finished"),
        )
    return _out(await claim_and_file(request, job_id, principal.subject) or job, _now())


@router.get("/v1/imports/jobs/{job_id}", response_model=JobOut)
async def get_import(
    request: Request, principal: Caller, job_id: uuid.UUID, sample: bool = False
) -> JobOut:
    """The job: status (staged, queued, running, stalled, done, failed), progress, the preview,
    the result once done; with ``sample=true`` the first rows as read."""
    job = await _own_job(request, principal, job_id)
    rows = (
        await usecases.sample(jobs_of(request), request.app.state.pii_keys, job) if sample else None
    )
    return _out(job, _now(), rows)


@router.get(
    "/v1/imports/jobs/{job_id}/rejected",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def rejected_rows(request: Request, principal: Caller, job_id: uuid.UUID) -> Response:
    """The rejected rows (of the result once filed, else of the preview) as CSV with the
    row number, the reasons and the file's own columns: correct them and import again.
    409 for a CSV imported directly that is still being filed (its rows are checked as
    they are filed)."""
    job = await _own_job(request, principal, job_id)
    try:
        columns, rows = await usecases.rejected_rows(
            jobs_of(request), request.app.state.pii_keys, job
        )
    except usecases.NotChecked as exc:
        raise Problem(409, "Not known yet", str(exc), type_=problem_type("not-checked")) from None
    return csv_response(columns, rows, f"rejected-{job_id}")
