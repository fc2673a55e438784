"""Import a register: upload -> preview (nothing filed) -> confirm -> progress -> result.

Intake stages the file, checks every row and keeps it sealed (``/v1/imports/jobs``); the
console shows the preview, sends the confirmation and polls the job (htmx, every second,
or a plain refresh without script) until it is filed.  The rejected rows download is
intake's CSV of them, with the file's own columns, to correct and import again.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.console.backends import BackendError
from services.console.deps import Api, Page, signed_session
from services.console.domain import imports as im
from services.console.security import csrf_protect

# Signed in first: an upload sent after the session ended goes to sign in, not to a 403.
router = APIRouter(dependencies=[Depends(signed_session), Depends(csrf_protect)])


def _job(job_id: str) -> uuid.UUID:
    """The job id in the path; anything else is a page not found, not a 422."""
    try:
        return uuid.UUID(job_id)
    except ValueError:
        raise HTTPException(404) from None


def _upload_page(page: Page, problem: tuple[str, dict[str, str]] | None = None) -> Response:
    return page(
        "imports/new.html",
        {"problem": problem, "accept": im.ACCEPTED_TYPES, "fields": im.FIELDS},
        status_code=422 if problem else 200,
    )


@router.get("/imports/new")
async def new_import(page: Page) -> Response:
    return _upload_page(page)


@router.post("/imports/new")
async def upload(request: Request, page: Page, api: Api) -> Response:
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile):
        return _upload_page(page, ("imports.error.no_file", {}))
    refused = im.upload_refused(file.filename, file.size)
    if refused is not None:
        return _upload_page(page, refused)
    data = await file.read()
    if not data:
        return _upload_page(page, ("imports.error.empty", {}))
    try:
        answer = await api.request(
            "intake",
            "POST",
            "/v1/imports/jobs",
            files={"file": (file.filename, data, file.content_type or "application/octet-stream")},
            ok=(201,),
        )
    except BackendError as exc:
        if exc.status in (413, 422):
            return _upload_page(page, im.upload_problem(exc.problem, exc.status))
        raise
    return RedirectResponse(f"/imports/{answer.json()['job_id']}", status_code=303)


@router.get("/imports/{job_id}")
async def job_page(page: Page, api: Api, job_id: str) -> Response:
    """The step the job is at: its preview, its progress or its result."""
    job = await api.get("intake", f"/v1/imports/jobs/{_job(job_id)}", sample="true")
    return page("imports/job.html", {"job": im.job_view(job)})


@router.get("/imports/{job_id}/progress")
async def progress(page: Page, api: Api, job_id: str) -> Response:
    """The progress fragment htmx polls; once the job is finished the page reloads to
    show the result."""
    view = im.job_view(await api.get("intake", f"/v1/imports/jobs/{_job(job_id)}"))
    headers = {"HX-Refresh": "true"} if view.finished else None
    return page("imports/progress.html", {"job": view}, headers=headers)


@router.post("/imports/{job_id}/confirm")
async def confirm(api: Api, job_id: str) -> Response:
    try:
        await api.request("intake", "POST", f"/v1/imports/jobs/{_job(job_id)}/confirm", ok=(202,))
    except BackendError as exc:
        if exc.status != 409:  # 409: already filed (a second click): show its result
            raise
    return RedirectResponse(f"/imports/{job_id}", status_code=303)


@router.get("/imports/{job_id}/rejected.csv")
async def rejected_csv(api: Api, job_id: str) -> Response:
    answer = await api.request("intake", "GET", f"/v1/imports/jobs/{_job(job_id)}/rejected")
    return Response(
        answer.content,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="rejected-{job_id}.csv"'},
    )
