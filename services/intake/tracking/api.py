"""Public tracking on intake: ``GET /v1/track/{tracking_no}`` (no credential).

The caller proves it is the complainant with ``phone_last4`` (the last four digits of the
phone given when filing) or, for an anonymous complaint, ``secret`` (printed on its
receipt).  An unknown number, a wrong proof and a case without keys answer the same 404.
Every attempt counts against the client and the number (``ratelimit``); past either
limit the answer is 429 with ``Retry-After``.

``start`` builds the limiter and gives phone keys to complaints filed before tracking
existed (``usecases.key_earlier_complaints``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from services.intake.tracking import usecases
from services.intake.tracking.config import get_tracking_settings
from services.intake.tracking.domain.keys import (
    MAX_PROOF_CHARS,
    Proof,
    normalise_last4,
    well_formed_tracking_no,
)
from services.intake.tracking.problems import bad_proof, not_tracked, too_many
from services.intake.tracking.ratelimit import TrackingLimiter
from services.intake.tracking.schemas import TrackOut

router = APIRouter()

# The answer proves who asked: never kept by a shared cache or the browser.
_NO_STORE = {"Cache-Control": "no-store"}


def _proof(phone_last4: str | None, secret: str | None) -> tuple[Proof, str]:
    if secret is not None:
        if phone_last4 is not None:
            raise bad_proof("secret", "give either phone_last4 or secret, not both")
        if not 0 < len(secret) <= MAX_PROOF_CHARS:
            raise bad_proof("secret", f"must be 1 to {MAX_PROOF_CHARS} characters")
        return "secret", secret
    if phone_last4 is None:
        raise bad_proof("phone_last4", "give phone_last4 (or secret for an anonymous complaint)")
    if normalise_last4(phone_last4) is None:
        raise bad_proof("phone_last4", "must be exactly four digits 0-9")
    return "phone", phone_last4


@router.get(
    "/v1/track/{tracking_no}",
    response_model=TrackOut,
    tags=["tracking"],
    responses={
        404: {"description": "unknown number, wrong proof, or a case that cannot be tracked"},
        422: {"description": "phone_last4 or secret missing or malformed"},
        429: {"description": "too many attempts from this client or on this number"},
    },
)
async def track(
    tracking_no: str,
    request: Request,
    phone_last4: str | None = None,
    secret: str | None = None,
) -> Any:
    """A case as its complainant may follow it: status, received and last-updated times,
    closure reason and agency, and the public history (kind, status, time)."""
    limiter: TrackingLimiter = request.app.state.tracking_limiter
    client = request.client.host if request.client else "unknown"
    if (refused := await limiter.admit("client", client)) is not None:
        raise too_many(refused)
    proof, given = _proof(phone_last4, secret)
    if not well_formed_tracking_no(tracking_no):
        raise not_tracked()
    if (refused := await limiter.admit("number", tracking_no)) is not None:
        raise too_many(refused)
    tracked = await usecases.track(
        request.app.state.store.pool, request.app.state.pii_keys.hash_key, tracking_no, proof, given
    )
    if tracked is None:
        raise not_tracked()
    return JSONResponse(TrackOut.of(tracked).model_dump(mode="json"), headers=_NO_STORE)


async def start(app: FastAPI, runtime: Any) -> None:
    app.state.tracking_limiter = TrackingLimiter.from_settings(get_tracking_settings())
    assert runtime.pool is not None
    await usecases.key_earlier_complaints(
        runtime.pool, app.state.pii_keys.hash_key, dt.datetime.now(dt.UTC)
    )
