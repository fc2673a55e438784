"""Which failures pass by themselves: the one split every worker of the platform applies.

``is_transient(exc)`` is true for a failure that says nothing about the work being done
and that the same work, retried later on a fresh connection, can get past:

* the connection is gone or unusable: ``OSError`` (refused, reset, timed out), SQLSTATE
  class 08, an administrator or crash shutdown or a server not yet accepting connections
  (57P01, 57P02, 57P03), a session ended for idling (25P03, 57P05), and asyncpg's own
  ``InterfaceError`` / ``InternalClientError`` (a connection closed or left mid-operation);
* the transaction lost a race: serialization failure (40001), deadlock (40P01), outcome
  unknown (40003), a lock not granted in time (55P03), a statement cancelled by
  ``statement_timeout`` (57014), a cached plan invalidated by a schema change (0A000 from
  asyncpg's ``InvalidCachedStatementError``);
* the server is short of something: class 53 (disk full, out of memory, too many
  connections);
* the broker did not answer in time or its leadership moved: aiokafka's timeouts and every
  error it marks ``retriable``;
* a group of exceptions (``ExceptionGroup``) all of which are transient.

Everything else is not: a bug, a constraint a valid event should never break, a value the
code passed badly (asyncpg's ``DataError`` is an ``InterfaceError`` but no retry fixes it).
What cannot ever succeed (a record that is not an event, a forgery, an impossible event)
is for the caller to recognise before it asks here.

Pure: it inspects the exception and nothing else.
"""

from __future__ import annotations

import asyncpg
from aiokafka.errors import KafkaError, KafkaTimeoutError

# SQLSTATEs that pass by themselves, besides the classes below.
TRANSIENT_SQLSTATES = frozenset(
    {
        "25P03",  # idle_in_transaction_session_timeout: the server ended the session
        "40001",  # serialization_failure
        "40003",  # statement_completion_unknown
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout, NOWAIT)
        "57014",  # query_canceled (statement_timeout)
        "57P01",  # admin_shutdown (pg_terminate_backend, a fast shutdown, a failover)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, in recovery)
        "57P05",  # idle_session_timeout
    }
)
TRANSIENT_SQLSTATE_CLASSES = frozenset(
    {
        "08",  # connection exception
        "53",  # insufficient resources: disk full, out of memory, too many connections
    }
)

# InterfaceErrors that describe the caller's mistake, not the connection's state.
_CALLER_MISTAKES = (
    asyncpg.exceptions.DataError,
    asyncpg.exceptions.ClientConfigurationError,
    asyncpg.exceptions.UnsupportedClientFeatureError,
    asyncpg.exceptions.UnsupportedServerFeatureError,
)


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same work later, on a fresh connection, may succeed (see the
    module docstring).  Cancellation and exits (not ``Exception``) are never transient."""
    if isinstance(exc, BaseExceptionGroup):
        return all(is_transient(e) for e in exc.exceptions)
    if isinstance(exc, asyncpg.exceptions.InvalidCachedStatementError):
        return True  # asyncpg's advice: retry the transaction, the plan is made again
    if isinstance(exc, asyncpg.PostgresError):
        return sqlstate_is_transient(getattr(exc, "sqlstate", None))
    if isinstance(exc, asyncpg.InterfaceError):
        return not isinstance(exc, _CALLER_MISTAKES)
    if isinstance(exc, (asyncpg.exceptions.InternalClientError, OSError, KafkaTimeoutError)):
        return True  # OSError includes TimeoutError (and so asyncio's)
    if isinstance(exc, KafkaError):
        return bool(exc.retriable)
    return False


def sqlstate_is_transient(sqlstate: str | None) -> bool:
    """Whether a PostgreSQL error code names a failure that passes by itself."""
    if not sqlstate:
        return False
    return sqlstate in TRANSIENT_SQLSTATES or sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES


class Backoff:
    """Delays between retries: ``first`` seconds, doubling up to ``cap``; ``reset`` after a
    success.  Deterministic, so that tests and logs can say exactly what happens."""

    def __init__(self, first: float = 0.1, cap: float = 5.0) -> None:
        self.first, self.cap = first, cap
        self._next = first

    def next(self) -> float:
        delay, self._next = self._next, min(self._next * 2, self.cap)
        return delay

    def reset(self) -> None:
        self._next = self.first
