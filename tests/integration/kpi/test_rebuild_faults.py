"""``kpi rebuild``'s careful path under faults that pass: deadlocks, serialization
failures, lock and statement timeouts, an administrator's shutdown, too many connections,
a full disk, a lost connection, and its connections terminated mid-batch.  Each failed
batch is retried on a fresh connection, nothing is skipped, and the tables end exactly as
a rebuild without faults left them."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import asyncpg
import pytest

from services.kpi.rebuild.usecases import rebuild
from shared.config import Settings
from tests.integration.kpi.test_rebuild_fast import _arrivals, _publish, _tables
from tests.waiting import eventually

GATE = 7002
APPS = r"damrong-kpi\_rebuild\_%"  # the rebuild's pool (shared.db names it by schema)

# Every ``events`` table a rebuild creates gets a trigger that counts the rows offered to
# it (a sequence: a rolled-back transaction does not rewind it) and, at the counts planned
# in ``rebuild_faults``, raises that SQLSTATE, or waits for the advisory lock GATE.
FAULTS = rf"""
CREATE SEQUENCE public.rebuild_inserts;
CREATE TABLE public.rebuild_faults (nth bigint PRIMARY KEY, sqlstate text);
CREATE FUNCTION public.rebuild_inject() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint := nextval('public.rebuild_inserts');
  f public.rebuild_faults;
BEGIN
  SELECT * INTO f FROM public.rebuild_faults WHERE nth = n;
  IF FOUND AND f.sqlstate IS NULL THEN
    PERFORM pg_advisory_xact_lock({GATE});
  ELSIF FOUND THEN
    RAISE EXCEPTION 'injected fault %', f.sqlstate USING ERRCODE = f.sqlstate;
  END IF;
  RETURN NEW;
END $$;
CREATE FUNCTION public.rebuild_arm() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT object_identity FROM pg_event_trigger_ddl_commands()
           WHERE command_tag = 'CREATE TABLE'
             AND object_identity LIKE 'kpi\_rebuild\_%.events' LOOP
    EXECUTE format('CREATE TRIGGER inject BEFORE INSERT ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION public.rebuild_inject()', r.object_identity);
  END LOOP;
END $$;
CREATE EVENT TRIGGER rebuild_arm ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
  EXECUTE FUNCTION public.rebuild_arm();
"""

# Each twice in a row: the batch that meets it fails, and so does its first retry.
RAISED = ["40P01", "40001", "55P03", "57014", "57P01", "53300", "53100", "08006"]


async def test_careful_rebuild_retries_transient_faults_and_skips_nothing(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    records, distinct = _arrivals(random.Random(5))
    await _publish(settings, records)
    # One applier: the rows come in one order, so the planned counts land where planned.
    clean = await rebuild(settings, appliers=1, batch=5, fast=False)
    want = await _tables(settings)

    admin = await asyncpg.connect(settings.database_url)
    try:
        await admin.execute(FAULTS)
        # The gate first, then the faults, all well within the rows a rebuild offers.
        gate_at = 4
        plan = {8 * i + k: code for i, code in enumerate(RAISED, start=1) for k in (0, 1)}
        await admin.executemany(
            "INSERT INTO public.rebuild_faults VALUES ($1, $2)", [*plan.items(), (gate_at, None)]
        )
        await admin.execute("SELECT pg_advisory_lock($1)", GATE)
        try:
            running = asyncio.create_task(rebuild(settings, appliers=1, batch=5, fast=False))
            await eventually(
                lambda: admin.fetchval(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                    "WHERE NOT l.granted AND l.locktype = 'advisory' "
                    "AND a.application_name LIKE $1",
                    APPS,
                ),
                lambda n: n == 1 or running.done(),
            )
            killed = await admin.fetchval(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name LIKE $1 AND datname = current_database()) AS t",
                APPS,
            )
            assert killed >= 1
        finally:
            await admin.execute("SELECT pg_advisory_unlock($1)", GATE)
        faulty = await asyncio.wait_for(running, 120)
        offered = await admin.fetchval("SELECT last_value FROM public.rebuild_inserts")
    finally:
        await admin.close()

    assert offered > max(plan)  # every planned fault was met, and the rebuild went past it
    assert (
        (faulty.events, faulty.undecodable, faulty.refused)
        == (clean.events, clean.undecodable, clean.refused)
        == (len(records) - 5, 4, 1)
    )
    got = await _tables(settings)
    assert len(got[0]) == distinct
    for name, w, g in zip(("events", "cases", "case_intervals"), want, got, strict=True):
        assert len(g) == len(w), name
        for i, (wr, gr) in enumerate(zip(w, g, strict=True)):
            assert gr == wr, (name, i)


async def test_careful_rebuild_fails_on_anything_else_and_switches_nothing(
    make_settings: Callable[..., Settings],
) -> None:
    """A fault that does not pass (here an internal error, twice: the batch that meets it
    and the event-by-event retry) fails the rebuild, promptly: the fresh tables are
    dropped, nothing is switched and no event is skipped for it."""
    settings = make_settings()
    records, _distinct = _arrivals(random.Random(6))
    await _publish(settings, records)
    admin = await asyncpg.connect(settings.database_url)
    try:
        await admin.execute(FAULTS)
        await admin.executemany(
            "INSERT INTO public.rebuild_faults VALUES ($1, $2)", [(12, "XX000"), (13, "XX000")]
        )
        with pytest.raises(asyncpg.InternalServerError, match="injected fault XX000"):
            await asyncio.wait_for(rebuild(settings, appliers=2, batch=5, fast=False), 60)
        schemas = await admin.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'kpi%'"
        )
    finally:
        await admin.close()
    assert schemas == 0
