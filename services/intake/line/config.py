"""The LINE channel's settings (environment).  Without the channel secret and access
token the channel is off: its webhook answers 503 and intake runs as before."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    # From the LINE Developers console: the channel secret signs webhook deliveries,
    # the long-lived channel access token authorises replies and pushes.
    line_channel_secret: SecretStr | None = None
    line_channel_access_token: SecretStr | None = None
    line_api_base_url: str = "https://api.line.me"
    # An instance may only receive (store) deliveries and leave the work to others.
    line_worker_enabled: bool = True
    # The worker also wakes this often without a delivery (replies to retry, events
    # another instance stored).
    line_poll_s: float = Field(default=5.0, gt=0)
    # An event or a reply that keeps failing is given up after this many attempts.
    line_max_attempts: int = Field(default=8, ge=1)
    # At most 25: a sender's lease on a reply (60 s) covers two calls.
    line_api_timeout_s: float = Field(default=10.0, gt=0, le=25)
    # An unfinished conversation this old starts over at its next message.
    line_conversation_hours: float = Field(default=24.0, gt=0)
    # Worked events and their replies are deleted after this many days (LINE redelivers
    # within hours; the filing itself is kept once by its channel_ref for ever).
    line_retention_days: float = Field(default=30.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.line_channel_secret and self.line_channel_access_token)
