"""Build and run the console (port ``CONSOLE_PORT``, 8004).

``create_app`` only wires things: the HTTP clients to the services open in the lifespan.
The console has no database: a session lives in its encrypted cookie, and every page is
made from the services' answers to the signed-in user's own token.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from services.console import problems
from services.console.auth import api as auth_api
from services.console.auth.oidc import make_client as make_oidc_client
from services.console.backends import Backends
from services.console.cases import api as cases_api
from services.console.compare import api as compare_api
from services.console.config import ConsoleSettings, get_settings
from services.console.dashboard import api as dashboard_api
from services.console.deps import page_gate
from services.console.domain.navigation import nav_items
from services.console.feedback import api as feedback_api
from services.console.filing import api as filing_api
from services.console.home import api as home_api
from services.console.imports import api as imports_api
from services.console.links import UsedLinks
from services.console.provinces import api as provinces_api
from services.console.security import SecurityHeaders
from services.console.sessions import SessionCodec
from services.console.templating import STATIC, load_catalogue, make_templates
from services.console.tracking import api as tracking_api
from services.console.worklists import api as worklists_api
from shared import logs, metrics
from shared.http import CorrelationId
from shared.service import leaf_routes

# One router per area of the console, each in its own package (ARCHITECTURE.md, console).
ROUTERS = (
    auth_api.router,
    home_api.router,
    filing_api.router,
    imports_api.router,
    worklists_api.router,
    cases_api.router,
    dashboard_api.router,
    provinces_api.router,
    compare_api.router,
    tracking_api.router,
    feedback_api.router,
)


class ConsoleNotConfigured(RuntimeError):
    pass


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.console_session_key is None:
        raise ConsoleNotConfigured(
            "CONSOLE_SESSION_KEY is not set (a Fernet key: urlsafe base64 of 32 bytes); "
            "`damrong up` generates one in its data dir"
        )
    backends = Backends(
        {"intake": settings.intake_url, "status": settings.status_url, "kpi": settings.kpi_url},
        settings.backend_timeout_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await backends.start()
        try:
            yield
        finally:
            await backends.stop()

    app = FastAPI(
        title="damrong console",
        version="1",
        lifespan=lifespan,
        dependencies=[Depends(page_gate)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.backends = backends
    app.state.sessions = SessionCodec(
        settings.console_session_key.get_secret_value(),
        secure=settings.secure_cookies,
        max_age_s=int(settings.console_session_hours * 3600),
    )
    state_dir = settings.console_state_dir
    app.state.used_links = UsedLinks(state_dir / "used-links" if state_dir else None)
    app.state.oidc = make_oidc_client(settings)  # None unless OIDC_ISSUER is set
    app.state.catalogue = load_catalogue()
    app.state.templates = templates = make_templates()
    templates.env.globals["nav_items"] = nav_items

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "console"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    problems.install(app)
    # HTTP requests and latency by route, like every service (the console has no events).
    metrics.install(app, "console", None, lambda: list(leaf_routes(app.routes)))
    app.add_middleware(SecurityHeaders)
    app.add_middleware(CorrelationId)
    return app


def main() -> None:
    settings = get_settings()
    logs.configure("console", settings.log_level)
    try:
        app = create_app(settings)
    except ConsoleNotConfigured as exc:
        sys.exit(f"damrong console cannot start: {exc}")
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.console_port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
