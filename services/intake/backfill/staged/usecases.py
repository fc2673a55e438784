"""Staged imports: stage (read, check, seal, preview: nothing filed), confirm (claim the job
and file it in the background), read its progress and result, and its rejected rows.

The filing itself is ``services.intake.backfill.usecases.import_file``, the one every import
runs, fed the sealed file once it is opened; the task beats a heartbeat into the job so that
a job whose replica died shows as stalled and may be confirmed again.

The task holds the job's advisory lock (``JobStore.running_lock``) while it files: a job
left ``running`` whose lock is free lost its replica, and ``resume_orphans`` (run by every
replica at start and periodically) takes it over.  The resumed run files the rows at the
job's first ``now`` (its ``confirmed_at``), so the rows it filed before the crash are
recognised as its own (same identity, same ``recorded_at``, same filer): nothing is filed
twice and they count as filed in the summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from services.intake.backfill.domain.reader import Table, read_table
from services.intake.backfill.staged.domain import (
    HEARTBEAT_S,
    KEPT_AFTER,
    STAGED_TTL,
    finish_preview,
    open_part,
    plan_preview,
    rejected_table,
    sample_of,
    seal_job,
    unique_keys,
)
from services.intake.backfill.staged.store import JobRow, JobStore
from services.intake.backfill.usecases import import_file
from services.intake.pii.domain.keys import PiiKeys
from services.intake.store import IntakeStore
from shared.config import Settings

log = structlog.get_logger()

_FILED_BY_JOB = """
SELECT idempotency_key FROM complaints
WHERE idempotency_key = ANY($1::text[]) AND recorded_at = $2 AND filed_by IS NOT DISTINCT FROM $3
"""

_ALREADY_FILED = """
SELECT idempotency_key, channel, channel_ref FROM complaints
WHERE idempotency_key = ANY($1::text[])
   OR (channel, channel_ref) IN (SELECT * FROM unnest($2::text[], $3::text[]))
"""


@dataclass(frozen=True, slots=True)
class Staged:
    job: JobRow
    sample: list[dict[str, Any]]


async def stage(
    jobs: JobStore,
    keys: PiiKeys,
    data: bytes,
    now: dt.datetime,
    *,
    staged_by: str,
    district: str | None,
) -> Staged:
    """Read and check ``data`` as the import would, seal it and keep it as a staged job;
    nothing is filed.  UnreadableFile (MissingColumns) for a file no row of which can be."""
    await jobs.purge(now)
    table = await asyncio.to_thread(read_table, data)
    planned = await asyncio.to_thread(
        plan_preview, table, now, hash_key=keys.hash_key, district=district
    )
    filed_keys, refs = unique_keys(planned.accepted)
    found = await jobs.pool.fetch(
        _ALREADY_FILED, filed_keys, [c for c, _ in refs], [r for _, r in refs]
    )
    preview = finish_preview(
        planned,
        {r["idempotency_key"] for r in found if r["idempotency_key"]},
        {(r["channel"], r["channel_ref"]) for r in found if r["channel_ref"]},
    )
    sample = sample_of(table)
    job_id = uuid.uuid4()
    sealed = await asyncio.to_thread(seal_job, keys, job_id, data, sample)
    job = await jobs.insert(
        job_id,
        staged_by=staged_by,
        district_code=district,
        now=now,
        expires_at=now + STAGED_TTL,
        sealed=sealed,
        rows=len(table.rows),
        preview=preview.body(),
    )
    log.info(
        "import.staged",
        job_id=str(job_id),
        rows=preview.rows,
        to_file=preview.to_file,
        rejected=len(preview.rejected),
    )
    return Staged(job, sample)


async def sample(jobs: JobStore, keys: PiiKeys, job: JobRow) -> list[dict[str, Any]]:
    parts = await jobs.sealed(job.job_id, "sample")
    if parts is None:
        return []
    clear = open_part(keys, job.job_id, parts.key_id, parts.wrapped_key, "sample", parts.sealed)
    rows: list[dict[str, Any]] = orjson.loads(clear)
    return rows


async def _table(jobs: JobStore, keys: PiiKeys, job_id: uuid.UUID) -> Table | None:
    parts = await jobs.sealed(job_id, "file")
    if parts is None:
        return None
    data = open_part(keys, job_id, parts.key_id, parts.wrapped_key, "file", parts.sealed)
    return await asyncio.to_thread(read_table, data)


async def rejected_rows(
    jobs: JobStore, keys: PiiKeys, job: JobRow
) -> tuple[list[str], list[dict[str, Any]]]:
    """The rejected rows with their original cells: the result's once filed, else the
    preview's."""
    table = await _table(jobs, keys, job.job_id)
    rejected = (job.result or job.preview)["rejected"]
    if table is None:
        return ["row", "reasons"], []
    return rejected_table(table, rejected)


def confirm(
    running: set[asyncio.Task[None]],
    jobs: JobStore,
    store: IntakeStore,
    settings: Settings,
    keys: PiiKeys,
    job: JobRow,
    filed: Callable[[int], None] | None = None,
) -> None:
    """File the claimed ``job`` in a background task kept in ``running`` (``filed``: see
    ``import_file``)."""
    task = asyncio.create_task(_run(jobs, store, settings, keys, job, filed), name="import-job")
    running.add(task)
    task.add_done_callback(running.discard)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _beat(jobs: JobStore, job_id: uuid.UUID) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        with contextlib.suppress(Exception):  # a missed beat only risks a "stalled" label
            await jobs.beat(job_id, now_utc())


async def _run(
    jobs: JobStore,
    store: IntakeStore,
    settings: Settings,
    keys: PiiKeys,
    job: JobRow,
    filed: Callable[[int], None] | None,
) -> None:
    async with jobs.running_lock(job.job_id) as held:
        if not held:  # another replica resumed it first: it files, this task does not
            log.info("import.job_elsewhere", job_id=str(job.job_id))
            return
        current = await jobs.get(job.job_id, now_utc())
        if current is None or current.status != "running":  # finished before the lock
            return
        await _file(jobs, store, settings, keys, current, filed)


async def _file(
    jobs: JobStore,
    store: IntakeStore,
    settings: Settings,
    keys: PiiKeys,
    job: JobRow,
    filed: Callable[[int], None] | None,
) -> None:
    job_id = job.job_id
    beating = asyncio.create_task(_beat(jobs, job_id))
    started = job.confirmed_at or now_utc()

    async def ours(identities: list[str]) -> set[str]:
        rows = await jobs.pool.fetch(_FILED_BY_JOB, identities, started, job.staged_by)
        return {r["idempotency_key"] for r in rows}

    async def progress(done: int, filed: int) -> None:
        await jobs.progress(job_id, done, filed, now_utc())

    async def queued(waiting: bool) -> None:  # for its turn (import_file)
        await jobs.queued(job_id, waiting, now_utc())

    result: dict[str, Any] | None = None
    error: str | None = None
    try:
        parts = await jobs.sealed(job_id, "file")
        if parts is None:
            raise LookupError("the staged file is gone")
        data = open_part(keys, job_id, parts.key_id, parts.wrapped_key, "file", parts.sealed)
        outcome = await import_file(
            store,
            settings,
            data,
            started,
            district=job.district_code,
            filed_by=job.staged_by,
            progress=progress,
            filed=filed,
            ours=ours,
            queued=queued,
        )
        result = outcome.body()
    except asyncio.CancelledError:
        beating.cancel()
        raise  # the replica stops: the job stalls and may be confirmed again
    except Exception as exc:  # noqa: BLE001  # any fault ends the job as failed, not silent
        # The type only: a message could quote a cell, and logs hold no personal data.
        error = type(exc).__name__
        log.error("import.failed", job_id=str(job_id), error_type=error)
    finally:
        beating.cancel()
    now = now_utc()
    await jobs.finish(job_id, result=result, error=error, now=now, expires_at=now + KEPT_AFTER)
    log.info("import.job_done", job_id=str(job_id), failed=error is not None)


async def resume_orphans(
    running: set[asyncio.Task[None]],
    jobs: JobStore,
    store: IntakeStore,
    settings: Settings,
    keys: PiiKeys,
    filed: Callable[[int], None] | None = None,
) -> int:
    """Resume every job left running whose runner is gone (its advisory lock is free);
    how many.  Safe on any number of replicas at once: a job's lock admits one runner."""
    resumed = 0
    for job_id in await jobs.running_ids(now_utc()):
        async with jobs.running_lock(job_id) as free:
            if not free:
                continue  # its runner is alive
        job = await jobs.resume_claim(job_id, now_utc())
        if job is None:
            continue
        log.info("import.job_resumed", job_id=str(job_id))
        confirm(running, jobs, store, settings, keys, job, filed)
        resumed += 1
    return resumed
