"""The channels this deployment can send through: each one whose provider is configured.

A channel without its provider is disabled, said once in the log at start-up; its
messages are not recorded, so turning it on later sends only what happens from then on.
"""

from __future__ import annotations

import structlog

from services.notify.channels import Channel
from services.notify.channels.email import SmtpMail
from services.notify.channels.line import LinePush
from services.notify.channels.sms import SmsGateway
from services.notify.config import NotifySettings, secret

log = structlog.get_logger()


def configured_channels(s: NotifySettings) -> dict[str, Channel]:
    """name -> channel, for every channel whose provider the settings name."""
    out: dict[str, Channel] = {}
    timeout = s.notify_http_timeout_s
    line_token = secret(s.line_channel_access_token)
    if line_token is not None:
        out["line"] = LinePush(s.line_api_base_url, line_token, timeout)
    if s.notify_smtp_host:
        out["email"] = SmtpMail(
            s.notify_smtp_host,
            s.notify_smtp_port,
            s.notify_smtp_from,
            starttls=s.notify_smtp_starttls,
            user=s.notify_smtp_user,
            password=secret(s.notify_smtp_password),
            timeout_s=timeout,
        )
    if s.notify_sms_url:
        out["sms"] = SmsGateway(
            s.notify_sms_url,
            secret(s.notify_sms_token),
            s.notify_sms_sender,
            timeout,
        )
    why = {
        "line": "LINE_CHANNEL_ACCESS_TOKEN is not set",
        "email": "NOTIFY_SMTP_HOST is not set",
        "sms": "NOTIFY_SMS_URL is not set",
    }
    for name, reason in why.items():
        if name not in out:
            log.warning("notify.channel_disabled", channel=name, reason=reason)
    return out
