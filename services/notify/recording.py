"""The records behind the events: notify keeps an event's record as read from the topic.

A dead message dead-letters the record of the event that sent it, so that `damrong dlq
replay` can feed it back; that record must carry the original signature, which only the
consumer sees (handlers get the decoded event).  ``RecordingConsumer`` lends each batch's
records to the handlers through a context variable, and ``NotifyRuntime`` builds it
instead of the plain consumer.  Outside a consumer (a test calling the handler), the
record is the event's encoding, unsigned.
"""

from __future__ import annotations

import contextvars
import uuid

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from services.notify.store import SourceRecord
from shared.consumer import EventConsumer
from shared.envelope_codec import to_record
from shared.events import Envelope
from shared.runtime import Runtime

_RECORDS: contextvars.ContextVar[dict[uuid.UUID, ConsumerRecord]] = contextvars.ContextVar(
    "notify_records"
)


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


class RecordingConsumer(EventConsumer):
    """An EventConsumer whose handlers can see the records of the batch they apply."""

    async def _process(
        self,
        tp: TopicPartition,
        records: list[ConsumerRecord],
        decoded: list[tuple[ConsumerRecord, Envelope]],
        undecodable: list[tuple[ConsumerRecord, str]],
    ) -> None:
        token = _RECORDS.set({env.event_id: rec for rec, env in decoded})
        try:
            await super()._process(tp, records, decoded, undecodable)
        finally:
            _RECORDS.reset(token)


class NotifyRuntime(Runtime):
    """The shared Runtime, consuming with a ``RecordingConsumer``."""

    def _new_consumer(self) -> EventConsumer:
        assert self.pool is not None and self.producer is not None
        assert self._group is not None and self._handler is not None
        return RecordingConsumer(
            self.pool,
            self.producer,
            self.settings,
            self._group,
            self._handler,
            batch_handler=self._batch_handler,
        )
