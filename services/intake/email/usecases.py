"""The e-mail channel's use case: read a received message, file it once, say what happened.

Load, decide, commit: ``domain.reading`` decides what the message is; a filing goes through
intake's own ``parse_complaint`` and ``file_complaint`` (personal data only into the
encrypted store), exactly once per Message-ID (``channel_ref``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from concurrent.futures import Executor
from dataclasses import dataclass

from services.intake.domain.validation import InvalidComplaint, parse_complaint
from services.intake.email.domain.outcomes import Decision, Filing, Ignore, Limits, Refuse
from services.intake.email.domain.reading import read_message
from services.intake.pii.domain.keys import PiiKeys
from services.intake.store import IntakeStore
from services.intake.usecases import Filed, IdempotencyConflict, file_complaint
from shared.config import Settings

FILED_BY = "smtp:email"
"""``filed_by`` of complaints the receiver files (no person's token is involved)."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """Filed now, or ``filed.replayed`` when the same Message-ID was filed before."""

    filed: Filed
    district_code: str
    category: str
    attachments: int


Outcome = Accepted | Ignore | Refuse


@dataclass(frozen=True, slots=True)
class Mailroom:
    """What receiving needs: intake's store, settings, PII keys, the message limits and the
    threads that read messages (their number bounds how many are read at once)."""

    store: IntakeStore
    settings: Settings
    keys: PiiKeys
    limits: Limits
    readers: Executor


async def receive_message(
    room: Mailroom, raw: bytes, *, mail_from: str, rcpt_tos: list[str], now: dt.datetime
) -> Outcome:
    """File ``raw`` if it is a citizen's message to a centre; else say why not.

    Raises only what the store raises (a database fault: the caller answers 451 and the
    sender's server retries)."""
    # Reading a large message takes a while (half a second for 6 MB with an attachment):
    # in the receiver's own threads, so that intake's HTTP requests on this loop are not
    # held up meanwhile, and the shared default executor is not filled with mail.
    read = functools.partial(
        read_message, raw, mail_from=mail_from, rcpt_tos=rcpt_tos, limits=room.limits, now=now
    )
    decision: Decision = await asyncio.get_running_loop().run_in_executor(room.readers, read)
    if not isinstance(decision, Filing):
        return decision
    try:
        cmd = parse_complaint(decision.body, now)
    except InvalidComplaint as exc:
        # The messages name fields and rules, never the values.
        text = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
        return Refuse(554, "5.6.0", "invalid", text)
    try:
        filed = await file_complaint(
            room.store, room.settings, cmd, now, keys=room.keys, filed_by=FILED_BY
        )
    except IdempotencyConflict:
        # The same Message-ID was filed with other content: keep the first, file nothing.
        return Ignore("message_id_reused")
    return Accepted(filed, cmd.district_code, cmd.category.value, decision.attachments)
