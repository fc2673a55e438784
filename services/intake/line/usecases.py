"""The LINE channel's use cases: store a delivery, work one stored event, send replies.

Working an event is one transaction: the event is claimed (locked), the conversation read,
the pure ``conversation.step`` decides, a filing is made (exactly once per confirming
message: its id is the ``channel_ref``), and the new conversation, the replies to send
and the event's "done" commit together.  Replies are sent after the commit; a reply that
cannot be sent by its token (expired after a crash or an outage) is pushed instead.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from linebot.v3.webhooks import (  # type: ignore[import-untyped]
    Event,
    FollowEvent,
    LocationMessageContent,
    MessageEvent,
    TextMessageContent,
    UnfollowEvent,
)

from services.intake.contacts.domain.consent import LINE_USER_ID
from services.intake.domain.validation import (
    COMPLAINANT_FIELDS,
    InvalidComplaint,
    parse_complaint,
)
from services.intake.line.domain import conversation as talk
from services.intake.line.domain.complaint import complaint_body
from services.intake.line.domain.delivery import read_delivery
from services.intake.line.domain.secrets import seal, unseal, user_hash
from services.intake.line.messenger import Messenger, SendFailed
from services.intake.line.store import Claimed, LineStore, NewEvent, PendingReply, StoredEvent
from services.intake.pii.domain.envelope import Unreadable
from services.intake.pii.domain.keys import PiiKeys
from services.intake.store import IntakeStore
from services.intake.usecases import IdempotencyConflict, file_complaint
from shared.config import Settings
from shared.faults import is_transient

log = structlog.get_logger()

FILED_BY = "line-webhook"
# Filing takes the complainant's consent to be told (notify, line_user_id) once intake's
# validation knows those fields; until then a named complaint is filed without it.
CONSENT_ACCEPTED = {"notify", "line_user_id"} <= COMPLAINANT_FIELDS
# LINE's timestamps further off than this are not believed as the moment of receipt.
_CLOCK_WINDOW = dt.timedelta(days=7)
# How long a sender holds the replies it took (two LINE calls of at most their timeout).
REPLY_LEASE = dt.timedelta(seconds=60)
_RETRY_NAMESPACE = uuid.UUID("6f1d8a52-4a57-4a5e-9d0c-2f3b5d1c7a10")


@dataclass(frozen=True, slots=True)
class Filer:
    """What working an event needs: intake's own store, settings and personal-data keys
    (to file), and how long an unfinished conversation is kept going."""

    store: IntakeStore
    settings: Settings
    keys: PiiKeys
    conversation_ttl: dt.timedelta = dt.timedelta(hours=24)


async def receive(store: LineStore, keys: PiiKeys, body: bytes, now: dt.datetime) -> int:
    """Store the events of a signed delivery (one insert); BadDelivery if it is not one.
    Returns how many events were new (a redelivery adds none)."""
    rows = []
    for incoming in read_delivery(body):
        kid, sealed = seal(keys, "event", incoming.webhook_event_id.encode(), incoming.raw)
        who = None if incoming.user_id is None else user_hash(keys, incoming.user_id)
        rows.append(NewEvent(incoming.webhook_event_id, who, incoming.redelivery, kid, sealed))
    return await store.insert_events(rows, now)


@dataclass(frozen=True, slots=True)
class _Read:
    said: talk.Said | None  # None: nothing the conversation acts on
    user_id: str | None
    reply_token: str | None
    timestamp: int | None
    unfollowed: bool = False


def read_event(raw: bytes) -> _Read:
    """A stored event read with line-bot-sdk's models; an unknown or malformed event
    reads as nothing to act on."""
    try:
        event = Event.from_dict(orjson.loads(raw))
    except (ValueError, TypeError, KeyError, RecursionError):
        return _Read(None, None, None, None)
    source = getattr(event, "source", None)
    user_id = getattr(source, "user_id", None) if getattr(source, "type", None) == "user" else None
    said: talk.Said | None = None
    if isinstance(event, UnfollowEvent):
        return _Read(None, user_id, None, event.timestamp, unfollowed=True)
    if isinstance(event, FollowEvent):
        said = talk.Followed()
    elif isinstance(event, MessageEvent):
        message = event.message
        if isinstance(message, TextMessageContent):
            said = talk.Text(message.text, message.id)
        elif isinstance(message, LocationMessageContent):
            said = talk.Location(message.address or "", message.id)
        else:
            said = talk.OtherMessage()
    return _Read(said, user_id, getattr(event, "reply_token", None), event.timestamp)


async def work_next(store: LineStore, filer: Filer, now: dt.datetime, max_attempts: int) -> bool:
    """Work the next stored event; False when none waits.

    A transient fault (the database) is raised for the caller to wait and retry; any other
    failure is counted against the event, retried later (growing pauses) and given up
    after ``max_attempts``, so that one bad event does not hold its user's queue for ever.
    """
    event: StoredEvent | None = None
    try:
        async with store.claim(now) as claimed:
            if claimed is None:
                return False
            event = claimed.event
            await _work(claimed, filer, now)
            return True
    except Exception as exc:
        if event is None or is_transient(exc):
            raise
        failure = exc
    attempts = event.attempts + 1
    retry_at = None if attempts >= max_attempts else now + _pause(attempts)
    log.error(
        "line.event_failed",
        webhook_event_id=event.webhook_event_id,
        error=type(failure).__name__,
        attempts=attempts,
        gave_up=retry_at is None,
    )
    await store.failed(event, type(failure).__name__, now, retry_at)
    return True


async def _work(claimed: Claimed, filer: Filer, now: dt.datetime) -> None:
    keys, event = filer.keys, claimed.event
    try:
        raw = unseal(keys, event.key_id, "event", event.webhook_event_id.encode(), event.sealed)
    except Unreadable:
        log.warning("line.event_unreadable", webhook_event_id=event.webhook_event_id)
        await claimed.done(now, "unreadable")
        return
    read = read_event(raw)
    if read.unfollowed and event.user_hash is not None:  # blocked: forget them
        await claimed.forget(event.user_hash)
        await claimed.done(now)
        return
    if read.said is None or read.user_id is None or event.user_hash is None:
        await claimed.done(now, None if read.said is not None else "ignored")
        return
    who = event.user_hash
    stored = await claimed.conversation(who)
    state = talk.State()
    if stored is not None and now - stored.updated_at <= filer.conversation_ttl:
        try:
            draft = unseal(keys, stored.key_id, "draft", who, stored.sealed_draft)
            state = talk.State(talk.Step(stored.step), talk.Draft.from_dict(orjson.loads(draft)))
        except Unreadable:  # its key was retired and dropped: start afresh
            log.warning("line.conversation_unreadable", webhook_event_id=event.webhook_event_id)
    outcome = talk.step(state, read.said)
    replies = outcome.replies
    if outcome.filing is not None:
        tracking = await _file(filer, outcome.filing, read.timestamp, read.user_id, now)
        if tracking is None:
            outcome = talk.not_filed(state)
            replies = outcome.replies
        else:
            replies = (*replies, *talk.after_filing(tracking))
    kid, sealed_user = seal(keys, "user", who, read.user_id.encode())
    draft_bytes = orjson.dumps(outcome.state.draft.as_dict())
    _, sealed_draft = seal(keys, "draft", who, draft_bytes)
    await claimed.save_conversation(
        who, outcome.state.step.value, kid, sealed_user, sealed_draft, now
    )
    if replies:
        body = orjson.dumps([r.as_dict() for r in replies])
        _, sealed_replies = seal(keys, "replies", event.webhook_event_id.encode(), body)
        await claimed.add_reply(who, read.reply_token, kid, sealed_replies, now)
    await claimed.done(now)
    log.info("line.event_worked", webhook_event_id=event.webhook_event_id, step=outcome.state.step)


async def _file(
    filer: Filer, filing: talk.Filing, timestamp: int | None, user_id: str, now: dt.datetime
) -> str | None:
    """The tracking number of the complaint filed (or filed before) for ``filing``; None
    when it is refused."""
    received_at = _received_at(timestamp, now)
    consenting = user_id if CONSENT_ACCEPTED and LINE_USER_ID.match(user_id) else None
    body: dict[str, Any] = complaint_body(filing, received_at or now, consenting)
    if received_at is None:
        del body["received_at"]  # then the same on every retry: filing time is used
    try:
        cmd = parse_complaint(body, now)
        filed = await file_complaint(
            filer.store, filer.settings, cmd, now, keys=filer.keys, filed_by=FILED_BY
        )
    except InvalidComplaint as exc:
        log.warning("line.filing_refused", fields=[e.field for e in exc.errors])
        return None
    except IdempotencyConflict:
        # Filed before from this very message (LINE's ids are unique), with another
        # receipt time: a retry on either side of the clock window.  It stands.
        existing = await filer.store.find_duplicate(None, "line", filing.channel_ref)
        log.warning("line.filing_conflict", found=existing is not None)
        return None if existing is None else existing.tracking_no
    log.info("line.filed", complaint_id=str(filed.complaint_id), replayed=filed.replayed)
    return filed.tracking_no


def _pause(attempts: int) -> dt.timedelta:
    """1, 2, 4... seconds after the first, second, third... failure; at most 5 minutes."""
    return dt.timedelta(seconds=min(2 ** (attempts - 1), 300))


def _received_at(timestamp: int | None, now: dt.datetime) -> dt.datetime | None:
    if timestamp is None:
        return None
    try:
        moment = dt.datetime.fromtimestamp(timestamp / 1000, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    if not now - _CLOCK_WINDOW <= moment <= now:
        return None
    return moment


async def deliver(
    store: LineStore, messenger: Messenger, keys: PiiKeys, now: dt.datetime, max_attempts: int
) -> int:
    """Send the replies waiting; returns how many were sent."""
    sent = 0
    for pending in await store.take_replies(50, now, REPLY_LEASE):
        try:
            via = await _send(store, messenger, keys, pending)
        except (SendFailed, Unreadable) as exc:
            attempts = pending.attempts + 1
            give_up = isinstance(exc, Unreadable) or attempts >= max_attempts
            log.warning(
                "line.reply_failed",
                webhook_event_id=pending.webhook_event_id,
                error=str(exc)[:200],
                gave_up=give_up,
            )
            retry_at = None if give_up else now + _pause(attempts)
            await store.reply_failed(pending.webhook_event_id, now, retry_at)
            continue
        await store.reply_sent(pending.webhook_event_id, via, now)
        sent += 1
    return sent


async def _send(store: LineStore, messenger: Messenger, keys: PiiKeys, p: PendingReply) -> str:
    clear = unseal(keys, p.key_id, "replies", p.webhook_event_id.encode(), p.sealed_messages)
    replies = [talk.Reply.from_dict(r) for r in orjson.loads(clear)]
    if p.reply_token:
        try:
            await messenger.reply(p.reply_token, replies)
            return "reply"
        except SendFailed as exc:
            if exc.status != 400:  # 400: the token expired or was used; push instead
                raise
    user = await store.sealed_user(p.user_hash)
    if user is None:
        raise SendFailed(None, "no conversation to push to")
    user_id = unseal(keys, user[0], "user", p.user_hash, user[1]).decode()
    retry_key = str(uuid.uuid5(_RETRY_NAMESPACE, p.webhook_event_id))
    await messenger.push(user_id, replies, retry_key)
    return "push"
