"""Public tracking's settings (environment, read once)."""

from __future__ import annotations

from functools import lru_cache

from limits import parse
from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class TrackingSettings(BaseSettings):
    """How hard guessing is made.  Limits use the ``limits`` notation ("10 per hour").

    Each process keeps its own moving windows in memory: with N replicas behind a load
    balancer a client gets up to N times the allowance.  To share the windows, point
    ``TRACKING_RATE_LIMIT_STORAGE`` at a shared store in ``limits``' URI notation, e.g.
    ``async+redis://redis:6379/0`` (needs the ``redis`` package, not installed today).
    """

    model_config = SettingsConfigDict(env_prefix="TRACKING_", extra="ignore", case_sensitive=False)

    # Every attempt from one client (IP as uvicorn reports it: behind a proxy listed in
    # FORWARDED_ALLOW_IPS, the X-Forwarded-For client), whatever the number.
    client_limit: str = "30 per 10 minutes"
    # Every attempt on one tracking number, from anywhere: 10,000 phone endings at 10 an
    # hour take months to exhaust.  Counted before the answer is known, so concurrent
    # guesses cannot overrun it.
    number_limit: str = "10 per hour"
    rate_limit_storage: str = "async+memory://"

    @field_validator("client_limit", "number_limit")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse(value)  # ValueError: refuse to start with a limit that means nothing
        return value


@lru_cache
def get_tracking_settings() -> TrackingSettings:
    return TrackingSettings()
