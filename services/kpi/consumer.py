"""The kpi event handler: every event of the topic into ``events`` and ``cases``.

Runs inside the EventConsumer's per-batch transaction (which also stores the offset),
so a replay or duplicate finds its ``(complaint_id, version)`` already stored and
changes nothing.  In-order events cost one statement; an event that closes a gap left
by out-of-order arrival (a broker re-feed from two publishers) also folds the waiting
later versions in.

Both keep the case's history (``case_intervals``, see ``history``) in step with
``cases``.

``handle_batch`` is the consumer's fast path: a whole partition batch in a few
statements (store all, read the touched cases, write back the changed ones, replace
their history), with the same effect as ``handle`` on each event in turn.  When it cannot
it raises ``RefuseBatch`` (or ``PoisonEvent``) and the consumer, or ``kpi rebuild``, then
redoes the batch event by event with ``handle`` (``shared.batches``).
"""

from __future__ import annotations

import uuid

from services.kpi import history, store
from services.kpi.domain import cases as domain
from shared.batches import PoisonEvent, RefuseBatch
from shared.dbtypes import Conn
from shared.events import Envelope


async def handle(conn: Conn, env: Envelope) -> None:
    """Store ``env`` and apply it to its case when (and once) it is the next version.

    Raises PoisonEvent, before writing anything, for an event that could never apply.
    """
    fact = domain.Fact.of(env)
    try:
        domain.check(fact)
    except domain.InvalidEvent as exc:
        raise PoisonEvent(str(exc)) from exc
    if await store.record(conn, fact):
        await store.catch_up(conn, fact.complaint_id)
    # The history follows the applied version; rebuilding when it did not move is a
    # harmless no-op, and this is the rare path (the batch one is the common one).
    await history.rebuild(conn, fact.complaint_id)


async def handle_batch(conn: Conn, envs: list[Envelope]) -> None:
    """``handle`` on each of ``envs`` in turn, in a few statements whatever their number.

    Raises, before writing anything, PoisonEvent if any event could never apply, and
    RefuseBatch for a timestamp the batch statements cannot carry exactly; the consumer
    then redoes the batch per event, which dead-letters just the poison.
    """
    facts: dict[store.Key, domain.Fact] = {}
    for env in envs:
        fact = domain.Fact.of(env)
        try:
            domain.check(fact)
        except domain.InvalidEvent as exc:
            raise PoisonEvent(f"{fact.complaint_id} v{fact.version}: {exc}") from exc
        if not store.batchable(fact):
            raise RefuseBatch(f"{fact.complaint_id} v{fact.version}: needs the per-event path")
        facts.setdefault((fact.complaint_id, fact.version), fact)  # the first one counts
    if not facts:
        return
    stored, waiting = await store.store_events(conn, list(facts.values()))
    for key in stored:  # already stored before this batch: changes nothing
        del facts[key]
    arrived: dict[uuid.UUID, list[domain.Fact]] = {}
    for fact in facts.values():  # in arrival order
        arrived.setdefault(fact.complaint_id, []).append(fact)
    if not arrived:
        return
    before = await store.load_cases(conn, list(arrived))
    changed = []
    for cid, facts_of_case in arrived.items():
        old = before.get(cid)
        case = domain.receive(old, waiting.get(cid, ()), facts_of_case)
        if case is not None and case != old:
            changed.append(case)
    await store.save_cases(conn, changed)
    # A new case's events are all at hand (this batch and the ones that waited); a case
    # that moved on needs its earlier events read back (one statement).
    new = {c.complaint_id for c in changed if c.complaint_id not in before}
    steps = (
        await history.load_steps(
            conn, [c.complaint_id for c in changed if c.complaint_id not in new]
        )
        if (len(new) < len(changed))
        else {}
    )
    for cid in new:
        steps[cid] = [history.step(f) for f in (*waiting.get(cid, ()), *arrived[cid])]
    await history.replace(conn, changed, steps, new=new)
