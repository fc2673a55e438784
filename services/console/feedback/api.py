"""``/feedback/{token}``: the page a complainant reaches from the link sent when their
case closed.  No sign-in: the token in the link is the credential, checked by status.

The page asks status what the link stands for (``GET /v1/feedback/{token}``), offers a
1-5 score (labelled radio buttons) and "the problem was not actually solved" (a checkbox)
for what the closure does not have yet, and posts the answer to status (``POST
/v1/feedback``), which records it on the case.  A used, expired or outdated link gets a
page saying so.  The form carries a CSRF token of its own (a random value in a cookie
scoped to /feedback and in the form, which must match: there is no session to bind it
to), as the public tracking page does.  The token is never logged.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.backends import BackendError, BackendUnavailable
from services.console.deps import Page, lang_of, translator
from services.console.feedback.form import SCORES, FeedbackForm, parse_form, plausible_token
from services.console.problems import error_page
from shared.codes import CLOSURE_REASON_LABELS, ClosureReason

router = APIRouter()
log = structlog.get_logger()

COOKIE = "damrong_feedback_csrf"
FIELD = "csrf_token"
# Status's answers about a link that cannot be used, by problem type: the page to show.
_GONE = {
    "feedback-link-invalid": ("invalid", 404),
    "feedback-link-expired": ("expired", 410),
    "feedback-link-superseded": ("superseded", 410),
    "feedback-already-given": ("already", 409),
}


def _csrf(request: Request) -> str:
    offered = request.cookies.get(COOKIE)
    return offered if offered and len(offered) <= 64 else secrets.token_urlsafe(32)


async def _status(request: Request, method: str, path: str, **kw: Any) -> httpx.Response:
    client = request.app.state.backends.client("status")
    headers = {}
    correlation = structlog.contextvars.get_contextvars().get("correlation_id")
    if correlation:
        headers["X-Correlation-Id"] = correlation
    try:
        answer: httpx.Response = await client.request(method, path, headers=headers, **kw)
    except httpx.TransportError as exc:
        log.warning("backend unreachable", backend="status", error_type=type(exc).__name__)
        raise BackendUnavailable("status", type(exc).__name__) from None
    return answer


def _problem(answer: httpx.Response) -> dict[str, Any]:
    if "json" not in answer.headers.get("content-type", ""):
        return {}
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _gone_page(page: Page, answer: httpx.Response) -> HTMLResponse:
    """The page for a link status will not take; BackendError for any other answer."""
    problem = _problem(answer)
    slug = str(problem.get("type", "")).rsplit("/", 1)[-1]
    if answer.status_code in (400, 401, 404, 409, 410, 422) and slug in _GONE:
        kind, status = _GONE[slug]
        return page("feedback/gone.html", {"kind": kind}, status_code=status)
    raise BackendError("status", answer.status_code, problem)


def _closure(link: dict[str, Any], lang: str) -> dict[str, Any]:
    reason = link.get("closure_reason")
    label = None
    if isinstance(reason, str) and reason in {r.value for r in ClosureReason}:
        th, en = CLOSURE_REASON_LABELS[ClosureReason(reason)]
        label = th if lang == "th" else en
    closed = link.get("closed_at")
    return {
        **link,
        "reason_label": label,
        "closed_at": dt.datetime.fromisoformat(closed) if closed else None,
    }


def _form_page(
    request: Request,
    page: Page,
    token: str,
    link: dict[str, Any],
    form: FeedbackForm,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    csrf = _csrf(request)
    response = page(
        "feedback/form.html",
        {
            "token": token,
            "link": _closure(link, lang_of(request)),
            "form": form,
            "scores": SCORES,
            "feedback_csrf": csrf,
        },
        status_code=status_code,
    )
    response.set_cookie(
        COOKIE,
        csrf,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path="/feedback",
    )
    return response


async def _link(request: Request, page: Page, token: str) -> dict[str, Any] | HTMLResponse:
    """What status says the link stands for, or the page saying why it cannot be used."""
    if not plausible_token(token):
        return page("feedback/gone.html", {"kind": "invalid"}, status_code=404)
    answer = await _status(request, "GET", f"/v1/feedback/{token}")
    if answer.status_code != 200:
        return _gone_page(page, answer)
    link: dict[str, Any] = answer.json()
    if link["rated"] and link["reopen_requested"]:
        return page("feedback/gone.html", {"kind": "already"}, status_code=409)
    return link


@router.get("/feedback/{token}", response_class=HTMLResponse)
async def feedback_form(request: Request, page: Page, token: str) -> HTMLResponse:
    link = await _link(request, page, token)
    if isinstance(link, HTMLResponse):
        return link
    return _form_page(request, page, token, link, FeedbackForm())


@router.post("/feedback/{token}", response_class=HTMLResponse)
async def give_feedback(request: Request, page: Page, token: str) -> Response:
    submitted = await request.form()
    offered, expected = submitted.get(FIELD), request.cookies.get(COOKIE)
    if not (
        isinstance(offered, str)
        and expected
        and hmac.compare_digest(offered.encode(), expected.encode())
    ):
        # Answered here rather than by raising CsrfRefused, whose handler logs the path:
        # this path holds the link's token.
        log.warning("feedback form refused without its CSRF token")
        return error_page(request, 403, "error.forbidden", translator(request)("error.csrf"))
    link = await _link(request, page, token)
    if isinstance(link, HTMLResponse):
        return link
    form = parse_form(submitted, rated=link["rated"], disputed=link["reopen_requested"])
    if form.errors:
        return _form_page(request, page, token, link, form, status_code=422)
    answer = await _status(request, "POST", "/v1/feedback", json=form.body(token))
    if answer.status_code != 201:
        return _gone_page(page, answer)
    log.info("console.feedback_given", parts=answer.json().get("recorded"))
    return page(
        "feedback/done.html",
        {"form": form, "tracking_no": link["tracking_no"]},
    )
