"""`damrong dlq`: the dead-letter topic, read and re-driven.

A consumer sends each record it cannot apply to the dead-letter topic
(``shared.consumer``): the original key, value and headers, plus ``dlq_error`` (why),
``dlq_group`` (the consumer group that refused it) and ``dlq_origin``
(``topic/partition/offset`` it was read from).  Every group that refuses a record
dead-letters a copy of its own.

``replay`` re-publishes the original bytes of chosen dead letters (key, value, and the
headers without the ``dlq_*`` ones) to the events topic, once per distinct record: the
copies of one record, from several groups or from an earlier replay, go out once.
Repeating it is safe because every consumer skips versions it has already applied.
Records that are still not genuine events (unsigned, forged, undecodable) are replayed as
they are and dead-lettered again; they are counted beforehand, checked as a consumer
checks them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from shared.config import Settings
from shared.envelope_codec import DecodeError, from_link, link_from_record
from shared.events import TYPE_PREFIX
from shared.kafka import make_producer
from shared.signed_records import RecordVerifier, SigningNotConfigured, verifier_from_settings
from shared.thai_calendar import BANGKOK, aware
from shared.topic_reader import TopicMissing, read_topic

DLQ_HEADERS = frozenset({"dlq_error", "dlq_group", "dlq_origin"})
Headers = tuple[tuple[str, bytes], ...]


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record of the dead-letter topic, as it is there."""

    partition: int
    offset: int
    at: dt.datetime  # the record's timestamp: when it was dead-lettered
    key: bytes | None
    value: bytes | None
    headers: Headers

    @classmethod
    def of(cls, rec: ConsumerRecord) -> DeadLetter:
        return cls(
            rec.partition,
            rec.offset,
            dt.datetime.fromtimestamp(rec.timestamp / 1000, dt.UTC),
            rec.key,
            rec.value,
            tuple((k, bytes(v)) for k, v in rec.headers or ()),
        )

    @property
    def position(self) -> str:
        return f"{self.partition}/{self.offset}"

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (any case), as text."""
        return next((_text(v) for k, v in self.headers if k.lower() == name), None)

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        """The headers the record had before it was dead-lettered."""
        return [(k, v) for k, v in self.headers if k.lower() not in DLQ_HEADERS]

    @property
    def case(self) -> str | None:
        return self.header("ce_subject") or _text(self.key)

    def payload(self) -> Any:
        """The value as JSON; ValueError if it is not JSON."""
        return json.loads(self.value or b"")

    def summary(self) -> dict[str, Any]:
        """What `dlq list --json` prints for it."""
        return {
            "kind": "dead_letter",
            "position": self.position,
            "partition": self.partition,
            "offset": self.offset,
            "time": self.at.astimezone(BANGKOK).isoformat(timespec="milliseconds"),
            "group": self.header("dlq_group"),
            "origin": self.header("dlq_origin"),
            "complaint_id": self.case,
            "type": self.header("ce_type"),
            "version": self.header("ce_version"),
            "error": self.header("dlq_error"),
        }

    def details(self) -> dict[str, Any]:
        """Everything about it (what `dlq show --json` prints): the summary, key, every
        header, and the payload as JSON (or, if it is not JSON, as text)."""
        try:
            payload, text = self.payload(), None
        except ValueError:
            payload, text = None, _text(self.value)
        return {
            **self.summary(),
            "key": _text(self.key),
            "headers": [[k, _text(v)] for k, v in self.headers],
            "payload": payload,
            "value_text": text,
        }


def short_type(ce_type: str | None) -> str | None:
    """``case.accepted.v1`` for ``th.go.dopa.damrong.case.accepted.v1``."""
    prefix = TYPE_PREFIX + "."
    return ce_type[len(prefix) :] if ce_type and ce_type.startswith(prefix) else ce_type


# -- choosing ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Position:
    """``P/O``, or an offset in whichever partition holds it (``partition`` None)."""

    partition: int | None
    offset: int

    @classmethod
    def parse(cls, text: str) -> Position:
        part, _, off = text.strip().rpartition("/")
        try:
            position = cls(int(part) if part else None, int(off))
        except ValueError:
            raise ValueError(
                f"{text!r} is not an offset (17, or 3/17: partition 3, offset 17)"
            ) from None
        if position.offset < 0 or (position.partition or 0) < 0:
            raise ValueError(f"{text!r}: offsets and partitions are not negative")
        return position

    def holds(self, dl: DeadLetter) -> bool:
        return dl.offset == self.offset and self.partition in (None, dl.partition)


def parse_moment(text: str, *, end: bool = False) -> dt.datetime:
    """An ISO date or time; without a zone, Bangkok time.  A date alone is its first
    moment, or with ``end`` its last."""
    try:
        if len(text.strip()) == 10:
            day = dt.date.fromisoformat(text.strip())
            moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
        else:
            moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date or time (2026-01-05, 2026-01-05T14:30, 2026-01-05T07:30Z)"
        ) from None
    return aware(moment)


@dataclass(frozen=True, slots=True)
class Filters:
    """Which dead letters a command is about; every filter given must hold."""

    error: str | None = None  # a part of the error text, in any case
    case: uuid.UUID | None = None
    group: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    positions: tuple[Position, ...] = ()

    def admits(self, dl: DeadLetter) -> bool:
        return (
            (
                self.error is None
                or self.error.casefold() in (dl.header("dlq_error") or "").casefold()
            )
            and (self.case is None or _uuid(dl.case) == self.case)
            and (self.group is None or dl.header("dlq_group") == self.group)
            and (self.since is None or dl.at >= self.since)
            and (self.until is None or dl.at <= self.until)
            and (not self.positions or any(p.holds(dl) for p in self.positions))
        )


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


async def dead_letters(settings: Settings, filters: Filters) -> list[DeadLetter]:
    """The dead letters ``filters`` admits, oldest first (TopicMissing without the topic)."""
    dlq = settings.model_copy(update={"events_topic": settings.dlq_topic})
    found = [
        dl for dl in map(DeadLetter.of, [r async for r in read_topic(dlq)]) if filters.admits(dl)
    ]
    return sorted(found, key=lambda dl: (dl.at, dl.partition, dl.offset))


# -- replaying --------------------------------------------------------------------------


@dataclass(slots=True)
class Replayed:
    """One distinct record to re-publish: its first dead letter, and every copy's."""

    letter: DeadLetter
    copies: list[DeadLetter] = field(default_factory=list)
    problem: str | None = None  # why consumers will refuse it again (None: a genuine event)


@dataclass(slots=True)
class Replay:
    topic: str
    records: list[Replayed]
    selected: int  # dead letters chosen
    signatures_checked: bool  # False without EVENT_PUBLIC_KEYS: only decoding was checked
    published: int = 0

    @property
    def refused(self) -> int:
        return sum(r.problem is not None for r in self.records)


def plan(letters: list[DeadLetter], verifier: RecordVerifier | None) -> list[Replayed]:
    """One entry per distinct (key, value, original headers), in the order of ``letters``,
    each checked the way a consumer checks it."""
    distinct: dict[tuple[Any, ...], Replayed] = {}
    for dl in letters:
        identity = (dl.key, dl.value, tuple(dl.original_headers))
        entry = distinct.setdefault(identity, Replayed(dl))
        entry.copies.append(dl)
    for entry in distinct.values():
        headers, value = entry.letter.original_headers, entry.letter.value
        try:
            link = (
                verifier.check(headers, value)
                if verifier is not None
                else link_from_record(headers, value)
            )
            from_link(link)
        except DecodeError as exc:
            entry.problem = str(exc)
    return list(distinct.values())


async def replay(settings: Settings, letters: list[DeadLetter], *, dry_run: bool) -> Replay:
    """Re-publish ``letters`` (see the module's docstring) unless ``dry_run``, in their
    order (``dead_letters``: as they were dead-lettered, so each case's events keep
    theirs); TopicMissing if the events topic does not exist (publishing would create it
    with the wrong partition count)."""
    try:
        verifier: RecordVerifier | None = verifier_from_settings(settings)
    except SigningNotConfigured:
        verifier = None
    result = Replay(
        settings.events_topic, plan(letters, verifier), len(letters), verifier is not None
    )
    await _require_topic(settings)
    if dry_run or not result.records:
        return result
    producer = make_producer(settings)
    await producer.start()
    try:
        # Sent in order, awaited together: each case's records keep their order.
        sent = [
            await producer.send(
                settings.events_topic,
                r.letter.value,
                key=r.letter.key,
                headers=r.letter.original_headers,
            )
            for r in result.records
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    result.published = len(sent)
    return result


async def _require_topic(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        if settings.events_topic not in set(await admin.list_topics()):
            raise TopicMissing(
                f"topic {settings.events_topic!r} does not exist on "
                f"{settings.kafka_bootstrap_servers}"
            )
    finally:
        await admin.close()
