"""Many new cases, each with the events that bring it to its backfilled outcome, in one statement.

The consumer's batch path for a backfill import (most rows carry an outcome): per case the
filing (version 1), the later events (versions 2..n), the case row at its final state and
the outbox rows of the later events, all written by one statement and only for the cases it
newly creates, so a redelivered batch changes nothing and queues nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from services.status.domain import CaseState
from services.status.store import (
    _CASE_COLUMNS,
    _CASE_ONLY,
    _CASE_TYPES,
    _EVENT_TYPES,
    case_arrays,
    event_arrays,
)
from shared.dbtypes import Conn
from shared.envelope_codec import encode
from shared.events import Envelope
from shared.outbox import NOTIFY_CHANNEL

# (the filing, the case's final state, its later events in version order)
Opening = tuple[Envelope, CaseState, list[Envelope]]


def _sql() -> str:
    ev_cols = ", ".join(_EVENT_TYPES)
    ev_values = ", ".join(f"{c}::jsonb" if c == "data" else c for c in _EVENT_TYPES)
    ev_arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(_EVENT_TYPES.values(), start=1))
    n = len(_EVENT_TYPES)
    case_ids = f"${n + 1}::uuid[]"
    case_arrays_ = ", ".join(
        f"${i}::{_CASE_TYPES[c]}[]" for i, c in enumerate(_CASE_ONLY, start=n + 2)
    )
    n += 1 + len(_CASE_ONLY)
    case_cols = ", ".join(_CASE_COLUMNS)
    return (
        f"WITH t AS ("
        f" SELECT * FROM unnest({ev_arrays}) AS t({ev_cols})"
        f"), ev AS ("  # the filings: a case is new exactly when its version 1 goes in
        f" INSERT INTO events ({ev_cols}) SELECT {ev_values} FROM t WHERE version = 1"
        f" ON CONFLICT DO NOTHING RETURNING complaint_id"
        f"), cs AS ("
        f" INSERT INTO cases ({case_cols})"
        f" SELECT {case_cols} FROM unnest({case_ids}, {case_arrays_}) AS c({case_cols})"
        f" WHERE complaint_id IN (SELECT complaint_id FROM ev)"
        f" ON CONFLICT (complaint_id) DO NOTHING"
        f"), later AS ("  # no ON CONFLICT: a clash is a concurrent writer, refuse the batch
        f" INSERT INTO events ({ev_cols}) SELECT {ev_values} FROM t"
        f" WHERE version > 1 AND complaint_id IN (SELECT complaint_id FROM ev)"
        f"), ob AS ("
        # ORDER BY ord: ids are drawn in input order (volatile defaults are computed after
        # the sort), and outbox id order is publish order.
        f" INSERT INTO outbox (topic, key, headers, value)"
        f" SELECT ${n + 1}::text, key, headers::jsonb, value"
        f" FROM unnest(${n + 2}::uuid[], ${n + 3}::bytea[], ${n + 4}::text[], ${n + 5}::bytea[])"
        f" WITH ORDINALITY AS o(complaint_id, key, headers, value, ord)"
        f" WHERE complaint_id IN (SELECT complaint_id FROM ev) ORDER BY ord RETURNING 1"
        f") SELECT ARRAY(SELECT complaint_id FROM ev),"
        f" (SELECT count(*) FROM (SELECT pg_notify('{NOTIFY_CHANNEL}', '')"
        f"  FROM (SELECT 1 FROM ob LIMIT 1) AS any_row) AS woken)"
    )


_SQL = _sql()


async def open_cases(conn: Conn, openings: list[Opening], topic: str) -> set[uuid.UUID]:
    """Store each opening whose case is new; return the complaint ids of the new cases.

    Each is stored exactly when ``create_case`` would store its filing (neither its case nor
    its event id is stored yet), and then with its later events, its case row at the final
    state and an outbox row per later event on ``topic``, queued in the order of
    ``openings`` and, per case, of versions (and the relay woken).  The openings must have
    pairwise distinct complaint ids and event ids; run inside a transaction.  Raises
    asyncpg's UniqueViolationError if a later event's key is already taken.
    """
    if not openings:
        return set()
    envs: list[Envelope] = []
    ob_case: list[uuid.UUID] = []
    ob_key: list[bytes] = []
    ob_headers: list[str] = []
    ob_value: list[bytes] = []
    for filing, _state, later in openings:
        envs.append(filing)
        envs += later
        for env in later:
            rec = encode(env)
            ob_case.append(env.complaint_id)
            ob_key.append(rec.key)
            ob_headers.append(orjson.dumps(rec.headers).decode())
            ob_value.append(rec.value)
    args: list[Any] = event_arrays(envs)
    args.append([filing.complaint_id for filing, _s, _l in openings])
    args += case_arrays([state for _f, state, _l in openings])
    args += [topic, ob_case, ob_key, ob_headers, ob_value]
    row = await conn.fetchrow(_SQL, *args)
    assert row is not None  # a SELECT without FROM answers exactly one row
    created, _woken = row
    return set(created)
