"""Rate limits against guessing tracking proofs, with ``limits`` (moving windows).

Every attempt counts against its client and, when the number is well formed, against the
tracking number, before anything is looked up: a refused attempt learns nothing, and a
burst of concurrent guesses cannot slip past a check made before the count.

The storage is in-process memory by default, so with several replicas each keeps its own
windows (a client gets up to N times the allowance); ``TRACKING_RATE_LIMIT_STORAGE``
names a shared one (``async+redis://...``) to make them one (``config``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from services.intake.tracking.config import TrackingSettings

Scope = Literal["client", "number"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Too many attempts in ``scope``; the next is admitted after ``retry_after`` s."""

    scope: Scope
    retry_after: int


class TrackingLimiter:
    def __init__(self, client_limit: RateLimitItem, number_limit: RateLimitItem, storage: Storage):
        self._limits = {"client": client_limit, "number": number_limit}
        self._limiter = MovingWindowRateLimiter(storage)

    @classmethod
    def from_settings(cls, settings: TrackingSettings) -> TrackingLimiter:
        storage = storage_from_string(settings.rate_limit_storage)
        if not isinstance(storage, Storage):  # a sync storage URI: unusable here
            raise ValueError("TRACKING_RATE_LIMIT_STORAGE must be an async+ storage URI")
        return cls(parse(settings.client_limit), parse(settings.number_limit), storage)

    async def admit(self, scope: Scope, key: str) -> Refusal | None:
        """Count one attempt of ``key`` in ``scope``; a Refusal (not counted) when its
        window is full."""
        item = self._limits[scope]
        if await self._limiter.hit(item, scope, key):
            return None
        stats = await self._limiter.get_window_stats(item, scope, key)
        return Refusal(scope, max(1, math.ceil(stats.reset_time - time.time())))
