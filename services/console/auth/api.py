"""Signing in and out, and the language toggle.

Embedded default: a one-time link (``/auth/link?t=...``) signs its principal in; the
console then mints that user's token for the services with the platform's secret.  With
an identity provider, ``services.console.auth.oidc`` does the same from its claims.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console.auth.oidc import CALLBACK_PATH, SIGNED_OUT_PATH, OidcFailed
from services.console.deps import Page, now, translator
from services.console.domain.i18n import language
from services.console.domain.links import LinkRefused
from services.console.domain.session import new_session
from services.console.links import read_link
from services.console.problems import error_page
from services.console.security import csrf_protect
from services.console.sessions import LANG_COOKIE
from shared.auth.tokens import issue_token

log = structlog.get_logger()
router = APIRouter(dependencies=[Depends(csrf_protect)])


def local_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/``: no open redirects."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/signin", response_class=HTMLResponse)
async def signin(
    request: Request,
    page: Page,
    next: Annotated[str, Query(max_length=2000)] = "/",
    expired: bool = False,
    reason: str | None = None,
) -> HTMLResponse:
    settings = request.app.state.settings
    return page(
        "signin.html",
        {
            "next": local_path(next),
            "expired": expired,
            "reason": reason if reason in _REASONS else None,
            "oidc": request.app.state.oidc is not None,
            "links": bool(settings.auth_jwt_secret),
        },
        status_code=200,
    )


_REASONS = frozenset({"link.invalid", "link.expired", "link.used", "link.disabled"})


@router.get("/auth/link")
async def sign_in_by_link(
    request: Request, t: Annotated[str, Query(max_length=4000)] = "", next: str = "/"
) -> Response:
    settings = request.app.state.settings
    if settings.auth_jwt_secret is None:
        return _refused("link.disabled")
    secret = settings.auth_jwt_secret.get_secret_value()
    moment = now()
    try:
        grant = read_link(t, secret=secret, now=moment)
        request.app.state.used_links.consume(grant, moment)
    except LinkRefused as exc:
        log.info("sign-in link refused", reason=exc.reason)
        return _refused(exc.reason)
    ttl = dt.timedelta(hours=settings.console_session_hours)
    token = issue_token(
        grant.principal,
        secret=secret,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        ttl=ttl,
        now=moment,
    )
    session = new_session(grant.principal, token, now=moment, ttl=ttl, via="link")
    log.info("signed in", via="link", user=grant.principal.subject, role=grant.principal.role)
    response = RedirectResponse(local_path(next), status_code=303)
    request.app.state.sessions.set(response, session)
    return response


def _refused(reason: str) -> RedirectResponse:
    return RedirectResponse(f"/signin?reason={quote(reason)}", status_code=303)


# -- OpenID Connect (services.console.auth.oidc) ------------------------------------------
@router.get("/auth/oidc/start")
async def oidc_start(
    request: Request, next: Annotated[str, Query(max_length=2000)] = "/"
) -> Response:
    oidc = request.app.state.oidc
    if oidc is None:
        return _oidc_refused(request, OidcFailed("oidc.reason.off", 404))
    try:
        response: Response = await oidc.start(local_path(next))
    except OidcFailed as exc:
        return _oidc_refused(request, exc)
    return response


@router.get(CALLBACK_PATH)
async def oidc_callback(
    request: Request,
    state: Annotated[str, Query(max_length=500)] = "",
    code: Annotated[str, Query(max_length=4000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    oidc = request.app.state.oidc
    if oidc is None:
        return _oidc_refused(request, OidcFailed("oidc.reason.off", 404))
    flow = oidc.read_flow(request)
    try:
        if flow is None:
            raise OidcFailed("oidc.reason.state")
        if error:
            # The user declined (or the provider refused).  Said plainly even when the
            # provider leaves out the state (some do): an error signs nobody in.
            raise OidcFailed("oidc.reason.denied")
        session = await oidc.finish(flow, state, code, now())
    except OidcFailed as exc:
        response = _oidc_refused(request, exc)
        if flow is not None and secrets.compare_digest(state.encode(), str(flow["s"]).encode()):
            oidc.forget_flow(response)  # one answer per flow; a forged one leaves it
        return response
    response = RedirectResponse(local_path(flow.get("next")), status_code=303)
    oidc.forget_flow(response)
    request.app.state.sessions.set(response, session)
    return response


@router.get(SIGNED_OUT_PATH, response_class=HTMLResponse)
async def oidc_signed_out(
    request: Request, page: Page, t: Annotated[str, Query(max_length=8000)] = ""
) -> Response:
    """Signed out of the console; the page moves on to the provider's sign-out."""
    oidc = request.app.state.oidc
    end = await oidc.provider_sign_out(t) if oidc is not None else None
    if end is None:
        return RedirectResponse("/signin", status_code=303)
    return page("oidc/signed_out.html", {"end": end}, status_code=200)


def _oidc_refused(request: Request, exc: OidcFailed) -> Response:
    t = translator(request)
    return error_page(request, exc.status, "oidc.refused", t(exc.reason))


@router.post("/signout")
async def signout(request: Request) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    request.app.state.sessions.clear(response)
    oidc = request.app.state.oidc
    session = getattr(request.state, "session", None)
    if oidc is not None and session is not None and session.via == "oidc":
        end = await oidc.end_session_url(session)
        if end:
            response.headers["location"] = end
    log.info("signed out")
    return response


@router.get("/lang")
async def set_language(to: str = "th", next: str = "/") -> Response:
    response = RedirectResponse(local_path(next), status_code=303)
    response.set_cookie(
        LANG_COOKIE, language(to), max_age=365 * 24 * 3600, samesite="lax", httponly=True
    )
    return response
