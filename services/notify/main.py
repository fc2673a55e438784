"""Build and run the notify service (port ``NOTIFY_PORT``, 8005).

``create_app`` only wires things: the Runtime (pool, migrations, a consumer of every case
event in group ``<prefix>-notify``; no outbox relay, notify publishes no event) and the
sender (``usecases.Sender``, a supervised task) start in the lifespan.  A channel whose
provider is not configured is disabled with a log line; without NOTIFY_SERVICE_TOKEN
messages are recorded but not sent (nobody may ask intake whom to tell).
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import partial
from pathlib import Path

import structlog
from fastapi import FastAPI

from services.notify.channels.setup import configured_channels
from services.notify.config import NotifySettings, get_notify_settings, secret
from services.notify.consumer import handle
from services.notify.contacts import IntakeContacts
from services.notify.domain.retry import RetryPolicy
from services.notify.messages import load_templates
from services.notify.recording import lend_records
from services.notify.usecases import LinkMaker, Sender, no_link
from shared import feedback_links
from shared.config import Settings, get_settings
from shared.runtime import Runtime
from shared.service import build_app, serve

MIGRATIONS = Path(__file__).parent / "migrations"
log = structlog.get_logger()


def enabled_channels(n: NotifySettings) -> list[str]:
    """The channels whose provider is configured (as ``configured_channels`` builds them)."""
    given = {
        "line": secret(n.line_channel_access_token) is not None,
        "email": bool(n.notify_smtp_host),
        "sms": bool(n.notify_sms_url),
    }
    return [name for name, on in given.items() if on]


def feedback_link(n: NotifySettings) -> LinkMaker | None:
    """The closure message's satisfaction link, or None without FEEDBACK_LINK_SECRET."""
    key = secret(n.feedback_link_secret)
    if key is None:
        return None
    if len(key.encode()) < feedback_links.MIN_SECRET_BYTES:
        log.error("notify.no_feedback_link", reason="FEEDBACK_LINK_SECRET is too short")
        return None
    base = n.console_public_url.rstrip("/")

    def make(complaint_id: uuid.UUID, closed_version: int, now: dt.datetime) -> str:
        token = feedback_links.issue(complaint_id, closed_version, key, now)
        return f"{base}/feedback/{token}"

    return make


def create_app(settings: Settings | None = None, notify: NotifySettings | None = None) -> FastAPI:
    """The notify service as an ASGI app; settings default to the environment's."""
    settings = settings or get_settings()
    n = notify or get_notify_settings()
    templates = load_templates()
    runtime = Runtime(
        settings,
        "notify",
        MIGRATIONS,
        consumer_group=settings.consumer_group("notify"),
        handler=partial(
            handle,
            channels=tuple(enabled_channels(n)),
            max_age=dt.timedelta(hours=n.notify_max_age_hours),
        ),
        # The handler keeps an event's record as read, signature included (``recording``).
        around_batch=lend_records,
        relay=False,
    )

    async def start_sender(app: FastAPI) -> None:
        app.state.sender = None
        if not n.notify_sender_enabled:
            log.warning("notify.sender_disabled", reason="NOTIFY_SENDER_ENABLED is false")
            return
        token = secret(n.notify_service_token)
        if token is None:
            log.warning("notify.sender_disabled", reason="NOTIFY_SERVICE_TOKEN is not set")
            return
        assert runtime.pool is not None and runtime.producer is not None
        link = feedback_link(n)
        if secret(n.feedback_link_secret) is None:
            log.warning("notify.no_feedback_link", reason="FEEDBACK_LINK_SECRET is not set")
        sender = app.state.sender = Sender(
            pool=runtime.pool,
            producer=runtime.producer,
            channels=configured_channels(n),
            contacts=IntakeContacts(n.intake_url, token, n.notify_http_timeout_s),
            templates=templates,
            policy=RetryPolicy(n.notify_max_attempts, n.notify_retry_first_s, n.notify_retry_cap_s),
            dlq_topic=settings.dlq_topic,
            group=settings.consumer_group("notify"),
            # A round sends its batch one by one: the lease outlasts the slowest round, so
            # a second sender never takes a message the first is still working on.
            lease=dt.timedelta(
                seconds=max(n.notify_lease_s, 2 * n.notify_batch * n.notify_http_timeout_s)
            ),
            batch=n.notify_batch,
            poll_s=n.notify_poll_s,
            link=link or no_link,
        )
        # Runs until the runtime stops (cancels) it; a send cut short is sent again later.
        runtime.supervise("sender", lambda _attempt: sender.run())

    return build_app("notify", runtime, [], on_start=start_sender)


def main() -> None:
    serve("notify", create_app, lambda _s: get_notify_settings().notify_port)


if __name__ == "__main__":
    main()
