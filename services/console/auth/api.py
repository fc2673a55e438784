"""Signing in and out, and the language toggle.

Embedded default: a one-time link (``/auth/link?t=...``) signs its principal in; the
console then mints that user's token for the services with the platform's secret.  With
an identity provider, ``services.console.auth.oidc`` does the same from its claims.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console.deps import Page, now
from services.console.domain.i18n import language
from services.console.domain.links import LinkRefused
from services.console.domain.session import new_session
from services.console.links import read_link
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
