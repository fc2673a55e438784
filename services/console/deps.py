"""Request-scoped pieces for the console's routes, as ``Annotated`` aliases.

``Signed`` is the signed-in session (else the user is sent to sign in, keeping where they
were); ``Api`` is the services as that user; ``Page`` renders a template with the user's
language, session and CSRF token.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

import structlog
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from services.console.backends import UserApi
from services.console.domain.i18n import Translator, language
from services.console.domain.navigation import gate
from services.console.domain.session import Session
from services.console.sessions import LANG_COOKIE
from shared.auth.policy import permits


class SignInRequired(Exception):
    """No valid session: answered by a redirect to the sign-in page with ``next``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def read_session(request: Request) -> Session | None:
    """The request's live session, or None (missing, tampered or expired)."""
    if "session" in request.state._state:  # read once per request
        cached: Session | None = request.state.session
        return cached
    codec = request.app.state.sessions
    session = codec.decode(request.cookies.get("damrong_session"))
    if session is not None and session.expired(now()):
        session = None
    request.state.session = session
    return session


def _here(request: Request) -> str:
    """Where to come back after signing in: this page (a GET), else the page the form was
    on (htmx tells it; a plain form's Referer is same-origin by our Referrer-Policy)."""
    if request.method == "GET" and not request.headers.get("hx-request"):
        path = request.url.path
        return path + (f"?{request.url.query}" if request.url.query else "")
    for header in ("hx-current-url", "referer"):
        value = request.headers.get(header)
        if value and value.startswith(str(request.base_url)):
            return "/" + value[len(str(request.base_url)) :]
    return "/"


def signed_session(request: Request) -> Session:
    session = read_session(request)
    if session is None:
        raise SignInRequired(_here(request))
    structlog.contextvars.bind_contextvars(user=session.principal.subject)
    return session


Signed = Annotated[Session, Depends(signed_session)]


class PageRefused(Exception):
    """The signed-in role may not use this page at all (answered 403)."""


def page_gate(request: Request) -> None:
    """App-wide dependency: a page of an area the role may not use is refused before its
    route runs; such a page first needs a session."""
    operation = gate(request.url.path)
    if operation is None:
        return
    if not permits(signed_session(request).principal, operation):
        raise PageRefused()


def user_api(request: Request, session: Signed) -> UserApi:
    return UserApi(
        request.app.state.backends,
        session.token,
        structlog.contextvars.get_contextvars().get("correlation_id"),
    )


Api = Annotated[UserApi, Depends(user_api)]


def lang_of(request: Request) -> str:
    return language(request.cookies.get(LANG_COOKIE))


def translator(request: Request) -> Translator:
    return Translator(request.app.state.catalogue, lang_of(request))


class Renderer:
    """Renders a page with what every template needs: ``t``, ``lang``, ``session``,
    ``csrf``, ``path`` and ``now``."""

    def __init__(self, request: Request) -> None:
        self.request = request

    def __call__(
        self,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        request = self.request
        session = read_session(request)
        lang = lang_of(request)
        base = {
            "request": request,
            "t": Translator(request.app.state.catalogue, lang),
            "lang": lang,
            "session": session,
            "user": session.principal if session else None,
            "csrf": session.csrf if session else "",
            "path": request.url.path,
            "here": quote(_here(request), safe="/?=&"),
            "now": now(),
        }
        return request.app.state.templates.TemplateResponse(
            request,
            template,
            {**base, **(context or {})},
            status_code=status_code,
            headers=headers,
        )


Page = Annotated[Renderer, Depends(Renderer)]
