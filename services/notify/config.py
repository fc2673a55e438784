"""The notify service's own settings (environment, validated at start-up).

Besides the shared Settings (database, broker, topics, event keys, tokens), notify needs
where intake is and its own service token (role ``notifier``), how often to retry, and
each channel's provider.  A channel whose provider is not configured is disabled (said
once in the log at start-up), never a reason not to start.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    notify_port: int = 8005
    intake_url: str = "http://127.0.0.1:8001"
    # A bearer token for the role ``notifier``: the only caller intake gives contacts to.
    notify_service_token: SecretStr | None = None
    # Retries: the n-th failure waits first * 2**(n-1) seconds (at most cap), times a
    # random factor in [0.5, 1]; the max_attempts-th failure makes the message dead.
    notify_max_attempts: int = Field(default=8, ge=1, le=100)
    notify_retry_first_s: float = Field(default=30.0, gt=0)
    notify_retry_cap_s: float = Field(default=3600.0, gt=0)
    # How long a claimed message is left to its sender before another may take it.
    notify_lease_s: float = Field(default=120.0, gt=0)
    notify_batch: int = Field(default=50, ge=1, le=1000)
    notify_poll_s: float = Field(default=1.0, gt=0)
    notify_http_timeout_s: float = Field(default=10.0, gt=0)
    # An event recorded this long before notify reads it tells nobody (a new deployment
    # reading the topic from its beginning must not message every complainant of the past).
    notify_max_age_hours: float = Field(default=72.0, gt=0)
    # False: record what is to be sent, send nothing (maintenance; tests of the outbox).
    notify_sender_enabled: bool = True
    # --- LINE push (off while LINE_CHANNEL_ACCESS_TOKEN is unset)
    line_api_base_url: str = "https://api.line.me"
    line_channel_access_token: SecretStr | None = None
    # --- e-mail over SMTP (off while NOTIFY_SMTP_HOST is unset)
    notify_smtp_host: str | None = None
    notify_smtp_port: int = 25
    notify_smtp_from: str = "no-reply@damrongtham.go.th"
    notify_smtp_starttls: bool = False
    notify_smtp_user: str | None = None
    notify_smtp_password: SecretStr | None = None
    # --- SMS through a JSON gateway (off while NOTIFY_SMS_URL is unset)
    notify_sms_url: str | None = None
    notify_sms_token: SecretStr | None = None
    notify_sms_sender: str = "DAMRONG"
    # --- the satisfaction link in the closure message (left out while the secret is unset)
    console_public_url: str = "http://127.0.0.1:8004"
    feedback_link_secret: SecretStr | None = None


def secret(value: SecretStr | None) -> str | None:
    """A secret's text, None when unset or empty (compose passes ``${X:-}`` as "")."""
    text = value.get_secret_value() if value is not None else ""
    return text or None


@lru_cache
def get_notify_settings() -> NotifySettings:
    return NotifySettings()
