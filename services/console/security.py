"""What every response carries and every form must prove.

Headers: a Content-Security-Policy that allows only the console's own scripts, styles,
fonts and images (no inline script, no framing), ``nosniff``, a strict referrer policy and
no caching of pages (they hold personal data and per-user numbers).

Forms: every state-changing request carries the session's CSRF token, as the form field
``csrf_token`` or the ``X-CSRF-Token`` header (htmx sends it, see base.html); without it
the answer is 403 and nothing is done.
"""

from __future__ import annotations

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.console.domain.session import csrf_matches

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SecurityHeaders:
    """Pure ASGI: adds HEADERS to every response, and ``Cache-Control: no-store`` to every
    one but the static files (which are versioned and may be cached)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *HEADERS]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CsrfRefused(Exception):
    """A state-changing request without the session's CSRF token (answered 403)."""


async def csrf_protect(request: Request) -> None:
    """Router dependency: refuse an unsafe request whose token is not the session's; one
    without a session is sent to sign in."""
    if request.method in SAFE_METHODS:
        return
    offered = request.headers.get(CSRF_HEADER)
    if not offered:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # cached on the request: the route reads it again
            value = form.get(CSRF_FIELD)
            offered = value if isinstance(value, str) else None
    from services.console.deps import read_session, signed_session  # not a cycle at import

    session = read_session(request)
    if session is None:
        # A form sent after the session ended: sign in again (console.js kept the form),
        # rather than a 403 that would read as "you may not".
        signed_session(request)
    if not csrf_matches(session, offered):
        raise CsrfRefused()
