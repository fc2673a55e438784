"""The transient / not transient split, on the exceptions asyncpg and aiokafka raise."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from aiokafka import errors as kafka_errors

from shared.faults import Backoff, is_transient, sqlstate_is_transient


def pg(sqlstate: str) -> asyncpg.PostgresError:
    """The exception asyncpg raises for an ErrorResponse with this code (as from the wire)."""
    exc = asyncpg.PostgresError.new({"C": sqlstate, "M": f"fault {sqlstate}", "S": "ERROR"})
    assert exc.sqlstate == sqlstate
    return exc


TRANSIENT_CODES = [
    "08000",
    "08003",
    "08006",
    "08P01",
    "57P01",
    "57P02",
    "57P03",
    "57P05",
    "25P03",
    "40001",
    "40003",
    "40P01",
    "55P03",
    "57014",
    "53000",
    "53100",
    "53200",
    "53300",
    "53400",
]
# Bugs or refusals no retry changes: a constraint, a type, a missing table or column, a
# syntax error, an integrity violation at commit, a raised exception, a division by zero.
PERMANENT_CODES = [
    "23505",
    "23503",
    "23514",
    "22001",
    "22P02",
    "42P01",
    "42703",
    "42601",
    "40002",
    "P0001",
    "22012",
    "XX000",
    "0A000",
]


@pytest.mark.parametrize("code", TRANSIENT_CODES)
def test_transient_sqlstates(code: str) -> None:
    assert is_transient(pg(code))
    assert sqlstate_is_transient(code)


@pytest.mark.parametrize("code", PERMANENT_CODES)
def test_permanent_sqlstates(code: str) -> None:
    assert not is_transient(pg(code))
    assert not sqlstate_is_transient(code)


def test_asyncpg_named_classes() -> None:
    exc = asyncpg.exceptions
    assert is_transient(exc.DeadlockDetectedError("d"))
    assert is_transient(exc.SerializationError("s"))
    assert is_transient(exc.LockNotAvailableError("l"))
    assert is_transient(exc.QueryCanceledError("q"))
    assert is_transient(exc.AdminShutdownError("a"))
    assert is_transient(exc.TooManyConnectionsError("t"))
    assert is_transient(exc.DiskFullError("f"))
    assert is_transient(exc.ConnectionDoesNotExistError("gone"))
    assert is_transient(
        exc.InterfaceError("cannot perform operation: another operation is in progress")
    )
    assert is_transient(
        exc.InternalClientError("cannot switch to state 15; another operation (2) is in progress")
    )
    assert is_transient(exc.OutdatedSchemaCacheError("stale"))
    # A cached plan invalidated by a schema change: asyncpg says retry the transaction.
    assert is_transient(exc.InvalidCachedStatementError("cached plan must not change"))
    assert not is_transient(exc.UniqueViolationError("dup"))
    assert not is_transient(exc.RaiseError("raised"))


def test_caller_mistakes_among_interface_errors_are_not_transient() -> None:
    assert not is_transient(asyncpg.exceptions.DataError("invalid input for query argument"))
    assert not is_transient(asyncpg.exceptions.ClientConfigurationError("bad dsn"))


def test_os_and_timeouts() -> None:
    assert is_transient(ConnectionRefusedError(111, "refused"))
    assert is_transient(ConnectionResetError())
    assert is_transient(OSError("network unreachable"))
    assert is_transient(TimeoutError())  # also asyncio.TimeoutError, the same class since 3.11


def test_broker_errors() -> None:
    assert is_transient(kafka_errors.KafkaConnectionError("down"))
    assert is_transient(kafka_errors.KafkaTimeoutError())
    assert is_transient(kafka_errors.RequestTimedOutError())
    assert is_transient(kafka_errors.NotLeaderForPartitionError())
    assert not is_transient(kafka_errors.MessageSizeTooLargeError())
    assert not is_transient(kafka_errors.KafkaError("unknown"))


def test_bugs_are_not_transient() -> None:
    for exc in (
        KeyError("k"),
        ValueError("v"),
        TypeError("t"),
        AssertionError(),
        RuntimeError("r"),
        ZeroDivisionError(),
    ):
        assert not is_transient(exc)


def test_cancellation_is_not_transient() -> None:
    assert not is_transient(asyncio.CancelledError())
    assert not is_transient(KeyboardInterrupt())


def test_groups_are_transient_only_when_all_members_are() -> None:
    assert is_transient(ExceptionGroup("g", [pg("40P01"), ConnectionResetError()]))
    assert not is_transient(ExceptionGroup("g", [pg("40P01"), KeyError("k")]))


def test_backoff_doubles_to_its_cap_and_resets() -> None:
    b = Backoff(first=0.1, cap=0.5)
    assert [b.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    b.reset()
    assert b.next() == 0.1
