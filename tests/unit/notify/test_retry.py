"""The back-off schedule: doubling from the first delay up to the cap, jittered within
[half, whole], and dead on a permanent failure or at the last attempt."""

from __future__ import annotations

import datetime as dt

import pytest

from services.notify.domain.retry import Dead, Retry, RetryPolicy, after_failure, delay_s

POLICY = RetryPolicy(max_attempts=5, first_s=30.0, cap_s=600.0)
NOW = dt.datetime(2026, 3, 2, 4, tzinfo=dt.UTC)


def test_delays_double_up_to_the_cap() -> None:
    assert [delay_s(n, POLICY, 1.0) for n in range(1, 7)] == [30, 60, 120, 240, 480, 600]


def test_jitter_takes_between_half_and_the_whole_delay() -> None:
    assert delay_s(3, POLICY, 0.0) == 60.0
    assert delay_s(3, POLICY, 0.5) == 90.0
    assert delay_s(3, POLICY, 1.0) == 120.0


def test_huge_failure_counts_stay_at_the_cap() -> None:
    assert delay_s(10_000, POLICY, 1.0) == 600.0


@pytest.mark.parametrize(("failures", "jitter"), [(0, 0.5), (1, -0.1), (1, 1.5)])
def test_nonsense_arguments_are_refused(failures: int, jitter: float) -> None:
    with pytest.raises(ValueError):
        delay_s(failures, POLICY, jitter)


def test_a_transient_failure_is_retried_until_the_last_attempt() -> None:
    first = after_failure(1, False, "http 503", POLICY, NOW, 1.0)
    assert first == Retry(NOW + dt.timedelta(seconds=30))
    fourth = after_failure(4, False, "http 503", POLICY, NOW, 0.0)
    assert fourth == Retry(NOW + dt.timedelta(seconds=120))
    last = after_failure(5, False, "http 503", POLICY, NOW, 0.0)
    assert last == Dead("gave up after 5 attempts: http 503")


def test_a_permanent_failure_is_dead_at_once() -> None:
    assert after_failure(1, True, "http 400", POLICY, NOW, 0.3) == Dead("permanent: http 400")
