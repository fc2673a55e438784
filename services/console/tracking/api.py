"""``/track``: a citizen follows a complaint with its number and the last four digits of
the phone given when filing (or, for an anonymous complaint, the secret on the receipt).

No sign-in: the console asks intake's public ``/v1/track`` without a token, passing the
citizen's address as ``X-Forwarded-For`` so that intake's per-client limit counts the
citizen, not the console (intake trusts it only from FORWARDED_ALLOW_IPS).  The form posts
(the proof never enters a URL, history or log) with a CSRF token of its own: a random
value in a cookie and in the form, which must match (there is no session to bind it to).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any
from urllib.parse import quote

import httpx
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.console.backends import BackendError, BackendUnavailable
from services.console.deps import Page
from services.console.security import CsrfRefused
from services.console.tracking.form import TrackForm, parse_form, wait_minutes

router = APIRouter()
log = structlog.get_logger()

COOKIE = "damrong_track_csrf"
FIELD = "csrf_token"


def _token(request: Request) -> str:
    offered = request.cookies.get(COOKIE)
    return offered if offered and len(offered) <= 64 else secrets.token_urlsafe(32)


def _form_page(
    request: Request,
    page: Page,
    form: TrackForm,
    *,
    status_code: int = 200,
    notice: str | None = None,
    notice_values: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    token = _token(request)
    response = page(
        "tracking/form.html",
        {
            "form": form,
            "track_csrf": token,
            "notice": notice,
            "notice_values": notice_values or {},
        },
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path="/track",
    )
    return response


@router.get("/track", response_class=HTMLResponse)
async def track_form(request: Request, page: Page) -> HTMLResponse:
    return _form_page(request, page, TrackForm())


async def _ask_intake(request: Request, form: TrackForm) -> httpx.Response:
    client = request.app.state.backends.client("intake")
    headers = {"X-Forwarded-For": request.client.host if request.client else "unknown"}
    correlation = structlog.contextvars.get_contextvars().get("correlation_id")
    if correlation:
        headers["X-Correlation-Id"] = correlation
    try:
        response: httpx.Response = await client.get(
            f"/v1/track/{quote(form.tracking_no, safe='')}", params=form.query, headers=headers
        )
    except httpx.TransportError as exc:
        log.warning("backend unreachable", backend="intake", error_type=type(exc).__name__)
        raise BackendUnavailable("intake", type(exc).__name__) from None
    return response


def _with_times(case: dict[str, Any]) -> dict[str, Any]:
    """Intake's answer with its ISO times as datetimes (shown in Bangkok time, BE)."""

    def moment(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text)

    return {
        **case,
        "received_at": moment(case["received_at"]),
        "updated_at": moment(case["updated_at"]),
        "history": [{**step, "at": moment(step["at"])} for step in case["history"]],
    }


@router.post("/track", response_class=HTMLResponse)
async def track(request: Request, page: Page) -> HTMLResponse:
    submitted = await request.form()
    offered, expected = submitted.get(FIELD), request.cookies.get(COOKIE)
    if not (
        isinstance(offered, str)
        and expected
        and hmac.compare_digest(offered.encode(), expected.encode())
    ):
        raise CsrfRefused()
    form = parse_form(submitted)
    if form.errors:
        return _form_page(request, page, form, status_code=422)
    answer = await _ask_intake(request, form)
    shown = TrackForm(tracking_no=form.tracking_no)  # never echo the proof back
    if answer.status_code == 200:
        return page("tracking/result.html", {"case": _with_times(answer.json())})
    if answer.status_code == 404:
        return _form_page(request, page, shown, status_code=404, notice="tracking.not_found")
    if answer.status_code == 429:
        minutes = wait_minutes(answer.headers.get("retry-after"))
        return _form_page(
            request,
            page,
            shown,
            status_code=429,
            notice="tracking.too_many",
            notice_values={"minutes": minutes},
            headers={"Retry-After": answer.headers.get("retry-after", "60")},
        )
    if answer.status_code == 422:
        return _form_page(
            request,
            page,
            shown,
            status_code=422,
            notice="tracking.error.rejected",
        )
    body = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
    raise BackendError("intake", answer.status_code, body if isinstance(body, dict) else {})
