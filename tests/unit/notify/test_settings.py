"""What notify makes of its settings: the channels a deployment enables, and the closure's
satisfaction link (a token the public page verifies), left out without a usable secret."""

from __future__ import annotations

import datetime as dt
import uuid

from services.notify.config import NotifySettings
from services.notify.main import enabled_channels, feedback_link
from shared import feedback_links

NOW = dt.datetime(2026, 3, 2, 4, tzinfo=dt.UTC)
SECRET = "s" * 40


def settings(**values: object) -> NotifySettings:
    return NotifySettings(**values)  # type: ignore[arg-type]


def test_a_channel_is_enabled_by_its_provider_only() -> None:
    assert enabled_channels(settings()) == []
    assert enabled_channels(settings(notify_sms_url="http://sms.test/send")) == ["sms"]
    both = settings(notify_smtp_host="smtp.test", line_channel_access_token="t")
    assert enabled_channels(both) == ["line", "email"]
    # Compose passes an unset ${X:-} as an empty value: still off.
    empty = settings(notify_smtp_host="", line_channel_access_token="", notify_sms_url="")
    assert enabled_channels(empty) == []


def test_the_link_carries_a_token_for_the_closure() -> None:
    make = feedback_link(
        settings(feedback_link_secret=SECRET, console_public_url="https://c.test/")
    )
    assert make is not None
    cid = uuid.uuid4()
    link = make(cid, 5, NOW)
    assert link is not None and link.startswith("https://c.test/feedback/")
    verified = feedback_links.verify(link.rsplit("/", 1)[1], SECRET, NOW)
    assert (verified.complaint_id, verified.closed_version) == (cid, 5)


def test_no_link_without_a_usable_secret() -> None:
    assert feedback_link(settings()) is None
    assert feedback_link(settings(feedback_link_secret="short")) is None
    assert feedback_link(settings(feedback_link_secret="")) is None
