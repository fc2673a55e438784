"""How the console answers what went wrong: a page in the user's language, never a trace.

A service's 403 and 404 become the same pages the console shows for its own; 401 means
the user's token ended, so they are sent to sign in again (keeping where they were); a
service that does not answer gives 503 naming it.  htmx requests get the redirect as
``HX-Redirect`` so the whole page moves, not a fragment.
"""

from __future__ import annotations

from urllib.parse import quote

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.console.backends import BackendError, BackendUnavailable
from services.console.deps import PageRefused, Renderer, SignInRequired, translator
from services.console.security import CsrfRefused

log = structlog.get_logger()


def _sign_in(request: Request, next_path: str) -> Response:
    target = f"/signin?expired=true&next={quote(next_path, safe='/')}"
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_page(request: Request, status: int, title_key: str, detail: str) -> Response:
    t = translator(request)
    return Renderer(request)(
        "error.html", {"title": t(title_key), "detail": detail}, status_code=status
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, exc: SignInRequired) -> Response:
        return _sign_in(request, exc.next_path)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        log.warning("form refused without its CSRF token", path=request.url.path)
        t = translator(request)
        return error_page(request, 403, "error.forbidden", t("error.csrf"))

    @app.exception_handler(PageRefused)
    async def _refused(request: Request, exc: PageRefused) -> Response:
        t = translator(request)
        return error_page(request, 403, "error.forbidden", t("error.forbidden_detail"))

    @app.exception_handler(BackendError)
    async def _backend(request: Request, exc: BackendError) -> Response:
        t = translator(request)
        if exc.status == 401:
            return _sign_in(request, request.url.path)
        if exc.status == 403:
            return error_page(request, 403, "error.forbidden", t("error.forbidden_detail"))
        if exc.status == 404:
            return error_page(request, 404, "error.not_found", t("error.not_found_detail"))
        detail = str(exc.problem.get("detail") or exc.problem.get("title") or exc.status)
        status = exc.status if exc.status >= 500 else 502
        return error_page(
            request,
            status,
            "error.failed",
            t("error.failed_detail", service=exc.service, detail=detail),
        )

    @app.exception_handler(BackendUnavailable)
    async def _unavailable(request: Request, exc: BackendUnavailable) -> Response:
        t = translator(request)
        response = error_page(
            request, 503, "error.unavailable", t("error.unavailable_detail", service=exc.service)
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        t = translator(request)
        if exc.status_code == 404:
            return error_page(request, 404, "error.not_found", t("error.not_found_detail"))
        response = error_page(request, exc.status_code, "error.failed", str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
