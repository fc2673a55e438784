"""``POST /channels/line/webhook``: LINE's deliveries, signed with the channel secret.

The ``X-Line-Signature`` (base64 HMAC-SHA-256 of the raw body) is checked first, by
line-bot-sdk's validator: a missing or wrong one is 400 and nothing is stored.  A signed
delivery's events are stored (one insert) and the answer is 200 at once; the worker
does the rest after the answer.  With the channel not configured the answer is 503.

``start`` builds the channel (its store, LINE client and worker) when
``LINE_CHANNEL_SECRET`` and ``LINE_CHANNEL_ACCESS_TOKEN`` are set; ``stop`` ends it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from linebot.v3.webhook import SignatureValidator  # type: ignore[import-untyped]

from services.intake.line import usecases
from services.intake.line.config import LineSettings
from services.intake.line.domain.delivery import BadDelivery
from services.intake.line.messenger import Messenger
from services.intake.line.store import LineStore
from services.intake.line.worker import Worker
from shared.http import Problem, problem_type

log = structlog.get_logger()
router = APIRouter()

SIGNATURE_HEADER = "x-line-signature"
SIGNATURE_MAX = 200  # a base64 SHA-256 is 44 characters
# Above the service's default: a delivery may batch several 5,000-character Thai messages
# (3 bytes a character), and a delivery refused for its size would be redelivered in vain.
WEBHOOK_MAX_BYTES = 2 * 1024 * 1024


@dataclass
class LineChannel:
    """The running channel, on ``app.state.line`` (None when not configured)."""

    validator: SignatureValidator
    store: LineStore
    messenger: Messenger
    worker: Worker | None  # None: this instance only receives

    def signed(self, body: bytes, signature: str | None) -> bool:
        if not signature or len(signature) > SIGNATURE_MAX or not signature.isascii():
            return False
        try:
            text = body.decode("utf-8")  # LINE signs UTF-8 JSON; other bytes are not LINE's
        except UnicodeDecodeError:
            return False
        return bool(self.validator.validate(text, signature))


def _bad_signature() -> Problem:
    return Problem(
        400,
        "Bad signature",
        "the X-Line-Signature header is missing or does not sign this body",
        type_=problem_type("bad-signature"),
        field=SIGNATURE_HEADER,
    )


@router.post(
    "/channels/line/webhook",
    tags=["channels"],
    max_body_size=WEBHOOK_MAX_BYTES,
    # Only LINE calls it, in the shape LINE's Messaging API documents (a body signed with
    # the channel secret): not part of damrong's own API document.
    include_in_schema=False,
    responses={
        200: {"description": "the delivery is stored; its events are worked after the answer"},
        400: {"description": "missing or wrong signature, or a body that is not a delivery"},
        413: {"description": "body larger than WEBHOOK_MAX_BYTES"},
        503: {"description": "the LINE channel is not configured"},
    },
)
async def webhook(request: Request) -> Response:
    channel: LineChannel | None = getattr(request.app.state, "line", None)
    if channel is None:
        raise Problem(
            503,
            "LINE channel not configured",
            "set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN",
            type_=problem_type("channel-not-configured"),
        )
    body = await request.body()
    if not channel.signed(body, request.headers.get(SIGNATURE_HEADER)):
        log.warning("line.bad_signature", bytes=len(body))
        raise _bad_signature()
    now = dt.datetime.now(dt.UTC)
    try:
        stored = await usecases.receive(channel.store, request.app.state.pii_keys, body, now)
    except BadDelivery as exc:
        log.warning("line.bad_delivery", reason=str(exc))
        raise Problem(
            400, "Not a LINE delivery", str(exc), type_=problem_type("bad-delivery"), field="body"
        ) from None
    if stored and channel.worker is not None:
        channel.worker.wake()
    log.info("line.delivery_stored", events=stored)
    return Response(status_code=200)


async def start(app: FastAPI, runtime: Any) -> None:
    """Build the channel when configured (``app.state.line_settings`` may be set before
    the app starts; otherwise the environment is read)."""
    settings: LineSettings = getattr(app.state, "line_settings", None) or LineSettings()
    app.state.line = None
    if not settings.configured:
        log.info("line.not_configured")
        return
    assert settings.line_channel_secret is not None and runtime.pool is not None
    store = LineStore(runtime.pool)
    messenger = Messenger(settings)
    worker = None
    if settings.line_worker_enabled:
        ttl = dt.timedelta(hours=settings.line_conversation_hours)
        filer = usecases.Filer(app.state.store, runtime.settings, app.state.pii_keys, ttl)
        worker = Worker(settings, store, filer, messenger)
        worker.start()
        worker.wake()  # events stored before a stop or a crash are worked at once
    validator = SignatureValidator(settings.line_channel_secret.get_secret_value())
    app.state.line = LineChannel(validator, store, messenger, worker)


async def stop(app: FastAPI) -> None:
    channel: LineChannel | None = getattr(app.state, "line", None)
    if channel is None:
        return
    if channel.worker is not None:
        await channel.worker.stop()
    await channel.messenger.close()
    app.state.line = None
