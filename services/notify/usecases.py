"""The sender: the outbox of messages, claimed, sent and marked.

Each round claims due messages (``store.claim``: ``FOR UPDATE SKIP LOCKED``, a lease
against a second sender), asks intake once per case whom to tell and how, renders each
message from its event's stored record, sends it and marks it sent, skipped (no consent,
erased, channel off), to be retried (back-off with jitter, ``domain.retry``) or dead.
A dead message's record goes to the dead-letter topic (``domain.dead_letter``), published
after the row is marked, again until it is acknowledged.

A send and its mark are not one transaction: a sender that dies between them sends that
message again once the lease ends (at least once, never lost).  LINE drops such a repeat
by its retry key.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from services.notify import store
from services.notify.channels import Channel, SendFailed, Transient
from services.notify.contacts import Consent, ContactGone, IntakeContacts
from services.notify.domain import decisions
from services.notify.domain.dead_letter import dead_letter_headers, dlq_error
from services.notify.domain.rendering import Message, Template, render
from services.notify.domain.retry import Dead, RetryPolicy, after_failure
from shared.envelope_codec import DecodeError, from_record

log = structlog.get_logger()

LinkMaker = Callable[[uuid.UUID, int, dt.datetime], "str | None"]


def no_link(_cid: uuid.UUID, _version: int, _now: dt.datetime) -> str | None:
    """No satisfaction link (FEEDBACK_LINK_SECRET unset): the closure is told without one."""
    return None


@dataclass
class Sender:
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    channels: Mapping[str, Channel]
    contacts: IntakeContacts
    templates: Mapping[str, Template]
    policy: RetryPolicy
    dlq_topic: str
    group: str
    lease: dt.timedelta = dt.timedelta(minutes=2)
    batch: int = 50
    poll_s: float = 1.0
    link: LinkMaker = no_link
    jitter: Callable[[], float] = random.random
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    sent: int = 0

    async def run(self) -> None:
        """Send until cancelled: a round, then a pause when it found nothing to do."""
        while True:
            if await self.round() == 0:
                await asyncio.sleep(self.poll_s)

    async def round(self) -> int:
        """One round; returns how many messages it claimed."""
        now = self.clock()
        claimed = await store.claim(self.pool, now, self.lease, self.batch)
        consents: dict[uuid.UUID, Consent | Exception] = {}
        for message in claimed:
            await self._one(message, consents)
        await self.publish_dead()
        return len(claimed)

    async def _consent(
        self, cid: uuid.UUID, cache: dict[uuid.UUID, Consent | Exception]
    ) -> Consent:
        if cid not in cache:
            try:
                cache[cid] = await self.contacts.consent(cid)
            except (ContactGone, Transient) as exc:
                cache[cid] = exc
        got = cache[cid]
        if isinstance(got, Exception):
            raise got
        return got

    async def _one(self, m: store.Claimed, cache: dict[uuid.UUID, Consent | Exception]) -> None:
        bound = log.bind(complaint_id=str(m.complaint_id), version=m.version, channel=m.channel)
        channel = self.channels.get(m.channel)
        if channel is None or m.tracking_no is None:
            why = "channel disabled" if channel is None else "case unknown"
            await store.mark_skipped(self.pool, m.notification_id, why)
            bound.info("notify.skipped", reason=why)
            return
        try:
            consent = await self._consent(m.complaint_id, cache)
        except ContactGone as exc:
            await store.mark_skipped(self.pool, m.notification_id, str(exc))
            bound.info("notify.skipped", reason=str(exc))
            return
        except Transient as exc:
            await self._failed(m, exc, permanent=False)
            return
        if m.channel not in consent.notify:
            await store.mark_skipped(self.pool, m.notification_id, "no consent")
            bound.info("notify.skipped", reason="no consent")
            return
        now = self.clock()
        text = await self._render(m, now)
        try:
            await channel.send(text, consent.contact, m.key)
        except SendFailed as exc:
            await self._failed(m, exc, permanent=not isinstance(exc, Transient))
            return
        await store.mark_sent(self.pool, m.notification_id, self.clock())
        self.sent += 1
        bound.info("notify.sent", template=text.template, attempts=m.attempts)

    async def _render(self, m: store.Claimed, now: dt.datetime) -> Message:
        record = await store.source(self.pool, m.complaint_id, m.version)
        if record is None:
            raise LookupError(f"no record of {m.complaint_id} v{m.version}")  # a bug
        try:
            env = from_record(record.headers, record.value)
        except DecodeError as exc:  # it was decoded once: a bug
            raise LookupError(f"record of {m.complaint_id} v{m.version}: {exc}") from exc
        assert m.tracking_no is not None
        params = decisions.params_of(env, m.tracking_no)
        link = self.link(m.complaint_id, m.version, now) if m.template == "closed" else None
        return render(self.templates, m.template, params, link)

    async def _failed(self, m: store.Claimed, exc: SendFailed, *, permanent: bool) -> None:
        now = self.clock()
        outcome = after_failure(m.attempts, permanent, str(exc), self.policy, now, self.jitter())
        bound = log.bind(complaint_id=str(m.complaint_id), version=m.version, channel=m.channel)
        if isinstance(outcome, Dead):
            await store.mark_dead(self.pool, m.notification_id, now, outcome.reason)
            bound.error("notify.dead", reason=outcome.reason, attempts=m.attempts)
            return
        await store.mark_retry(self.pool, m.notification_id, outcome.at, str(exc))
        bound.warning(
            "notify.retry", error=str(exc), attempts=m.attempts, retry_at=outcome.at.isoformat()
        )

    async def publish_dead(self) -> int:
        """Put the record of every dead message not yet there on the dead-letter topic."""
        done = 0
        for dead in await store.dead_unpublished(self.pool, self.batch):
            record = await store.source(self.pool, dead.complaint_id, dead.version)
            if record is None:
                raise LookupError(f"no record of {dead.complaint_id} v{dead.version}")  # a bug
            error = dlq_error(dead.channel, dead.error_class)
            headers = dead_letter_headers(record.headers, error, self.group, record.origin)
            await self.producer.send_and_wait(
                self.dlq_topic, record.value, key=record.key, headers=headers
            )
            await store.mark_published(self.pool, dead.notification_id)
            log.warning(
                "notify.dead_lettered",
                complaint_id=str(dead.complaint_id),
                version=dead.version,
                channel=dead.channel,
            )
            done += 1
        return done
