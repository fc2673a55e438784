"""The event handler: an event that tells the complainant something becomes one pending
message per enabled channel, in the consumer's transaction (with the offset).

Runs inside the EventConsumer's per-batch transaction, so a crash before the commit
records nothing and the event is read again; a re-read or re-fed event finds its
``(complaint_id, version, channel)`` rows and adds nothing (a dead one becomes pending
again: see ``store.record_messages``); an event read before its case's filing is held
until the filing is read, then told as if read after it.  The record is kept as read,
signature included, for rendering at send time and for the dead-letter topic
(``recording``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from services.notify import store
from services.notify.domain import decisions
from services.notify.domain.decisions import CaseFacts
from services.notify.recording import record_of
from services.notify.store import SourceRecord
from shared.dbtypes import Conn
from shared.envelope_codec import from_record
from shared.events import ComplaintFiled, Envelope


async def handle(
    conn: Conn, env: Envelope, *, channels: Collection[str], max_age: dt.timedelta
) -> None:
    """Record what ``env`` tells its complainant through ``channels`` (maybe nothing).
    Never raises for a kind it does not know: such an event tells nothing."""
    if isinstance(env.data, ComplaintFiled):
        await store.record_case(
            conn, env.complaint_id, decisions.case_facts(env.data), env.recorded_at
        )
    if not channels or decisions.template_for(env.kind) is None:
        return
    case = await store.load_case(conn, env.complaint_id)
    now = dt.datetime.now(dt.UTC)
    if case is None:
        # Read before its filing (a re-feed can publish status's events before intake's
        # filing): held, with its record, until the filing is read.
        await store.record_source(conn, env.complaint_id, env.version, record_of(env))
        await store.hold_early(
            conn, env.complaint_id, env.version, env.recorded_at, stale_before=now - max_age
        )
        return
    await _tell(conn, env, case, record_of(env), channels, max_age, now)
    if isinstance(env.data, ComplaintFiled):
        for held in await store.release_early(conn, env.complaint_id):
            early = from_record(held.headers, held.value)  # read and checked before
            await _tell(conn, early, case, held, channels, max_age, now)


async def _tell(
    conn: Conn,
    env: Envelope,
    case: CaseFacts,
    record: SourceRecord,
    channels: Collection[str],
    max_age: dt.timedelta,
    now: dt.datetime,
) -> None:
    template = decisions.to_notify(env, case)
    if template is None:
        return
    if decisions.stale(env, now, max_age):
        # Too old to tell anyone of for the first time; a message of it that died is
        # tried again (a replay of its dead letter, however late).
        await store.revive_dead(conn, env.complaint_id, env.version, now)
        return
    await store.record_source(conn, env.complaint_id, env.version, record)
    await store.record_messages(conn, env.complaint_id, env.version, template, channels, now)
