"""The records behind the events: notify keeps an event's record as read from the topic.

A dead message dead-letters the record of the event that sent it, so that `damrong dlq
replay` can feed it back; that record must carry the original signature, which only the
consumer sees (handlers get the decoded event).  ``lend_records``, the consumer's
``around_batch`` hook, lends each batch's records to the handlers through a context
variable.  Outside a consumer (a test calling the handler), the record is the event's
encoding, unsigned.
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import AsyncIterator, Sequence

from aiokafka.structs import ConsumerRecord

from services.notify.store import SourceRecord
from shared.consumer import Received
from shared.dbtypes import Conn
from shared.envelope_codec import to_record
from shared.events import Envelope

_RECORDS: contextvars.ContextVar[dict[uuid.UUID, ConsumerRecord]] = contextvars.ContextVar(
    "notify_records"
)


@contextlib.asynccontextmanager
async def lend_records(_conn: Conn, received: Sequence[Received]) -> AsyncIterator[None]:
    """While the batch ``received`` is applied, ``record_of`` finds its events' records
    (``shared.consumer.AroundBatch``)."""
    token = _RECORDS.set({env.event_id: rec for rec, env in received})
    try:
        yield
    finally:
        _RECORDS.reset(token)


def record_of(env: Envelope) -> SourceRecord:
    """The record ``env`` was read from (see the module docstring)."""
    rec = _RECORDS.get({}).get(env.event_id)
    if rec is None:
        key, headers, value = to_record(env)
        return SourceRecord(None, key, value, headers)
    return SourceRecord(
        f"{rec.topic}/{rec.partition}/{rec.offset}",
        rec.key,
        rec.value or b"",
        [(k, bytes(v)) for k, v in rec.headers or ()],
    )
