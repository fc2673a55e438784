"""After a failed send: try again later, or give up (the message is dead).

The n-th failure waits ``first * 2**(n-1)`` seconds, at most ``cap``, times a factor in
[0.5, 1] drawn by the caller (jitter: the messages that failed together do not all come
back together).  A permanent failure, or the ``max_attempts``-th failure, is the end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    first_s: float
    cap_s: float


@dataclass(frozen=True, slots=True)
class Retry:
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Dead:
    reason: str


def delay_s(failures: int, policy: RetryPolicy, jitter: float) -> float:
    """Seconds to wait after the ``failures``-th failure (1, 2, ...); ``jitter`` in [0, 1]."""
    if failures < 1 or not 0.0 <= jitter <= 1.0:
        raise ValueError("failures counts from 1 and jitter lies in [0, 1]")
    base = min(policy.cap_s, policy.first_s * 2.0 ** min(failures - 1, 60))
    return base * (0.5 + 0.5 * jitter)


def after_failure(
    failures: int,
    permanent: bool,
    error: str,
    policy: RetryPolicy,
    now: dt.datetime,
    jitter: float,
) -> Retry | Dead:
    """What follows the ``failures``-th failed attempt of a message."""
    if permanent:
        return Dead(f"permanent: {error}")
    if failures >= policy.max_attempts:
        return Dead(f"gave up after {failures} attempts: {error}")
    return Retry(now + dt.timedelta(seconds=delay_s(failures, policy, jitter)))
