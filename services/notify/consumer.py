"""The event handler: an event that tells the complainant something becomes one pending
message per enabled channel, in the consumer's transaction (with the offset).

Runs inside the EventConsumer's per-batch transaction, so a crash before the commit
records nothing and the event is read again; a re-read or re-fed event finds its
``(complaint_id, version, channel)`` rows and adds nothing (a dead one becomes pending
again: see ``store.record_messages``).  The record is kept as read, signature included,
for rendering at send time and for the dead-letter topic (``recording``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from services.notify import store
from services.notify.domain import decisions
from services.notify.recording import record_of
from shared.dbtypes import Conn
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
    template = decisions.to_notify(env, await store.load_case(conn, env.complaint_id))
    if template is None:
        return
    now = dt.datetime.now(dt.UTC)
    if decisions.stale(env, now, max_age):
        # Too old to tell anyone of for the first time; a message of it that died is
        # tried again (a replay of its dead letter, however late).
        await store.revive_dead(conn, env.complaint_id, env.version, now)
        return
    await store.record_source(conn, env.complaint_id, env.version, record_of(env))
    await store.record_messages(conn, env.complaint_id, env.version, template, channels, now)
