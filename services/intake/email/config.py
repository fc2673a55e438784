"""The e-mail channel's settings (environment, validated at start-up).

The receiver is off while ``EMAIL_SMTP_PORT`` is unset.  Limits bound what one message
may cost: its size (announced with the SMTP SIZE extension and checked again on the
bytes), its MIME parts and nesting (MIME bombs), and its hops (mail loops).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EmailSettings(BaseSettings):
    # An empty variable is unset (compose passes ``${EMAIL_SMTP_PORT:-}`` as ""): off.
    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", case_sensitive=False, env_parse_none_str=""
    )

    # Port of the SMTP receiver; None: no receiver.
    email_smtp_port: int | None = Field(default=None, ge=0, le=65535)
    # The address to listen on ("0.0.0.0" behind the ministry's MX in production).
    email_smtp_host: str = "127.0.0.1"
    # The domain of the centres' addresses (d5001@, p50@); mail to others is refused.
    email_domain: str = Field(default="damrongtham.go.th", min_length=3)
    # The host name the receiver greets with (default: the domain).
    email_hostname: str | None = None
    email_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    email_max_parts: int = Field(default=50, ge=1)
    email_max_depth: int = Field(default=5, ge=1)
    email_max_recipients: int = Field(default=10, ge=1)
    # More Received headers than this: a loop (Postfix bounces at 50, we stop earlier).
    email_max_hops: int = Field(default=30, ge=1)
    # An idle or slow client is dropped after this many seconds.
    email_timeout_s: float = Field(default=60.0, gt=0)

    @property
    def enabled(self) -> bool:
        return self.email_smtp_port is not None
