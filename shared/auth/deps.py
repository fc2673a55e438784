"""FastAPI edges of authentication and authorisation, used by every router.

``Caller`` is the authenticated principal of a request (401 otherwise, with
``WWW-Authenticate: Bearer``); ``require``, ``check`` and ``confined`` turn the pure
policy's refusals into problems, answered as problem+json in ``shared.http``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from shared.auth.credentials import Authenticator, Unauthenticated
from shared.auth.policy import Area, Decision, Operation, OutOfScope, confine, decide
from shared.auth.principal import Principal
from shared.auth.tokens import AuthNotConfigured
from shared.config import Settings
from shared.http import Problem, problem_type

API_KEY_HEADER = "x-api-key"


def install(app: FastAPI, settings: Settings) -> None:
    """Put the app's Authenticator on ``app.state.auth``.  Without key material the error
    is kept and raised when the app starts (``startup_check``): no service runs open."""
    try:
        app.state.auth = Authenticator.from_settings(settings)
        app.state.auth_error = None
    except AuthNotConfigured as exc:
        app.state.auth, app.state.auth_error = None, exc


def startup_check(app: FastAPI) -> None:
    if app.state.auth_error is not None:
        raise app.state.auth_error


def unauthorized(exc: Unauthenticated) -> Problem:
    challenge = 'Bearer realm="damrong"'
    if exc.invalid:
        challenge += ', error="invalid_token"'
    return Problem(
        401,
        "Unauthorized",
        str(exc),
        type_=problem_type("unauthorized"),
        headers={"WWW-Authenticate": challenge},
    )


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail, type_=problem_type("forbidden"))


def authenticate(request: Request) -> Principal:
    """The request's principal; Problem 401 if it has no valid credential.  Called directly
    by the raw hot-path route, through ``Caller`` everywhere else."""
    auth: Authenticator | None = request.app.state.auth
    if auth is None:  # an app used without its lifespan and without key material
        raise RuntimeError("authentication is not configured")
    headers = request.headers
    try:
        return auth.authenticate(headers.get("authorization"), headers.get(API_KEY_HEADER))
    except Unauthenticated as exc:
        raise unauthorized(exc) from None


# Declared for the OpenAPI document (the "Authorize" button of /docs); the headers
# themselves are read by ``authenticate``.
_bearer = HTTPBearer(
    auto_error=False, description="a JWT from the identity provider, or from `damrong token`"
)
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="a channel system's API key"
)


def _caller(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    return authenticate(request)


Caller = Annotated[Principal, Depends(_caller)]
# For the documentation of a route that calls ``authenticate`` itself (the raw hot path):
# it names the same security schemes as every route taking a ``Caller``.
AUTHENTICATED = Depends(_caller)


def require(p: Principal, op: Operation) -> None:
    """403 unless ``p``'s role may perform ``op`` at all."""
    if decide(p, op) is not Decision.allow:
        raise forbidden(f"a {p.role} may not {op.value.replace('_', ' ')}")


def check(p: Principal, op: Operation, area: Area, not_found: Problem | None = None) -> None:
    """Allow ``op`` on a resource of ``area``, or refuse: 403, or for a read out of
    jurisdiction ``not_found``, the very answer a missing resource gets."""
    decision = decide(p, op, area)
    if decision is Decision.not_found:
        assert not_found is not None, "a read needs its not-found answer"
        raise not_found
    if decision is Decision.forbidden:
        require(p, op)  # the role's refusal names the operation
        raise forbidden("outside your jurisdiction")


def confined(
    p: Principal, op: Operation, province_code: str | None, district_code: str | None
) -> tuple[str | None, str | None]:
    """``require`` plus the list/KPI filters confined to ``p``'s jurisdiction (403 for
    a filter naming another area)."""
    require(p, op)
    try:
        return confine(p, province_code, district_code)
    except OutOfScope as exc:
        raise forbidden(str(exc)) from None
