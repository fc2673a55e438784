"""Staged imports: stage (seal, read, check, preview: nothing filed), confirm (claim the job
and file it in the background), read its progress and result, and its rejected rows.

Staging seals the upload a part at a time as it streams in and stores each part, then
reads the stored file back for the preview, a chunk of rows at a time: an intake holds a
part and a chunk, never the register.  A CSV imported directly (``POST /v1/imports``) has
no preview: only its header is read before the 202, and its rows are checked as filed.
Every later reading (the filing, the rejected rows) opens the stored parts one at a time in
the same way.

The filing itself is ``services.intake.backfill.usecases.import_file``, the one every import
runs, fed the stored file; the task beats a heartbeat into the job so that a job whose
replica died shows as stalled and may be confirmed again.

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
import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from services.intake.backfill.domain.plan import check_columns
from services.intake.backfill.domain.reader import (
    EncodingCheck,
    Parts,
    UnreadableFile,
    is_xlsx,
    stream_table,
)
from services.intake.backfill.staged.domain import (
    HEARTBEAT_S,
    KEPT_AFTER,
    STAGED_TTL,
    Checked,
    JobKey,
    PreviewCheck,
    job_key,
    new_job_key,
    rejected_table,
    seal,
    seal_file_part,
    unique_keys,
    unseal,
    unseal_file_part,
)
from services.intake.backfill.staged.store import JobRow, JobStore
from services.intake.backfill.store import Identities
from services.intake.backfill.usecases import CHUNK, import_file
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


# An .xlsx workbook is read whole (a zip archive is read by seeking), so its size is
# capped apart; a CSV is read a part at a time, whatever its size.
XLSX_MAX_BYTES = 50 * 1024 * 1024


class TooLarge(ValueError):
    """The upload is larger than its kind may be (the message says how to send it)."""


class NotChecked(LookupError):
    """A direct import's rows are not checked until they are filed."""


@dataclass(frozen=True, slots=True)
class Staged:
    job: JobRow
    sample: list[dict[str, Any]]


async def stage(
    jobs: JobStore,
    keys: PiiKeys,
    upload: AsyncIterator[bytes],
    now: dt.datetime,
    *,
    staged_by: str,
    district: str | None,
    check_rows: bool = True,
) -> Staged:
    """Seal and store ``upload`` (the file's bytes in parts) as it comes, then read and
    check it as the import would and keep it as a staged job; nothing is filed.
    UnreadableFile (MissingColumns) for a file no row of which can be, TooLarge for an
    .xlsx over ``XLSX_MAX_BYTES``.  An upload that does not become a job leaves nothing.

    ``check_rows`` False (a direct import, filed at once): a CSV's rows are left to the
    filing, which checks each as strictly; only its header is read here, and its rows are
    counted by line ends.  Checking every row before the filing read them again took a
    third of a national import's time.  An .xlsx (at most 50 MiB) is still checked."""
    await jobs.purge(now)
    job_id = uuid.uuid4()
    key = new_job_key(keys, job_id)
    try:
        stored = await _store_upload(jobs, key, job_id, upload, now)
        source = stored_file(asyncio.get_running_loop(), jobs, key, job_id, stored.parts)
        # A CSV's encoding was told as it streamed in, so the reading below starts at its
        # first row instead of reading the whole file once more to tell it.
        encoding = None if stored.xlsx else stored.encoding.encoding()
        if check_rows or stored.xlsx:
            check = await _preview(jobs, source, encoding, now, keys.hash_key, district)
            preview = check.done().body()
            sample, rows = check.sample, check.preview.rows
        else:
            assert encoding is not None  # a CSV
            await asyncio.to_thread(_check_header, source, encoding)
            preview, sample, rows = None, [], stored.rows_about
        job = await jobs.insert(
            job_id,
            staged_by=staged_by,
            district_code=district,
            now=now,
            expires_at=now + STAGED_TTL,
            key_id=key.key_id,
            wrapped_key=key.wrapped_key,
            file_parts=stored.parts,
            sealed_sample=seal(key, job_id, "sample", orjson.dumps(sample)),
            rows=rows,
            preview=preview,
        )
    except BaseException:
        with contextlib.suppress(Exception):  # else purge deletes them a day later
            await asyncio.shield(jobs.drop_parts(job_id))
        raise
    log.info(
        "import.staged",
        job_id=str(job_id),
        bytes=stored.size,
        parts=stored.parts,
        rows=rows,
        rows_checked=preview is not None,
        to_file=None if preview is None else preview["to_file"],
        rejected=None if preview is None else len(preview["rejected"]),
    )
    return Staged(job, sample)


def _check_header(source: Parts, encoding: str) -> None:
    """UnreadableFile (MissingColumns) when no row of the file can be filed."""
    check_columns(stream_table(source, encoding))


@dataclass(frozen=True, slots=True)
class _Stored:
    parts: int
    size: int
    xlsx: bool
    rows_about: int  # a CSV's line ends less the header's: over when a cell spans lines
    encoding: EncodingCheck  # a CSV's, fed every part (an .xlsx's is left unfed)


async def _store_upload(
    jobs: JobStore,
    key: JobKey,
    job_id: uuid.UUID,
    upload: AsyncIterator[bytes],
    now: dt.datetime,
) -> _Stored:
    """Seal and store each part of ``upload``.  A part is stored once the next one
    arrives, since the last is sealed as the last."""
    held: bytes | None = None
    xlsx = False
    count = size = line_ends = 0
    encoding = EncodingCheck()
    async for clear in upload:
        if held is None and is_xlsx(clear[:4]):
            xlsx = True
        if xlsx and size + len(clear) > XLSX_MAX_BYTES:
            raise TooLarge(
                f"an .xlsx register may be at most {XLSX_MAX_BYTES // (1024 * 1024)} MiB (it "
                "is read whole); save a larger one as CSV (UTF-8), which has no such limit"
            )
        if held is not None:
            await jobs.add_part(job_id, count, seal_file_part(key, job_id, count, held, False), now)
            count += 1
        held = clear
        size += len(clear)
        if not xlsx:
            line_ends += clear.count(b"\n")
            encoding.feed(clear)
    if held is None:
        raise UnreadableFile("is empty")  # as the console knows it
    await jobs.add_part(job_id, count, seal_file_part(key, job_id, count, held, True), now)
    encoding.feed(b"", final=True)
    last_line = 0 if held.endswith(b"\n") else 1
    return _Stored(count + 1, size, xlsx, max(0, line_ends + last_line - 1), encoding)


def stored_file(
    loop: asyncio.AbstractEventLoop, jobs: JobStore, key: JobKey, job_id: uuid.UUID, count: int
) -> Parts:
    """The stored parts of a job's file, opened one at a time as the reader takes them.

    The reader is synchronous and runs off the event loop (in a thread): each part is
    fetched on ``loop`` and waited for there.  Taken on the loop itself it would wait for
    itself, so that is refused."""

    def parts() -> Iterator[bytes]:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # none in this thread: the reader's thread
            running = None
        if running is loop:
            raise RuntimeError("a stored file is read off its event loop (in a thread)")
        for index in range(count):
            fetched = asyncio.run_coroutine_threadsafe(jobs.part(job_id, index), loop)
            sealed = fetched.result()
            if sealed is None:
                raise LookupError("the staged file is gone")
            yield unseal_file_part(key, job_id, index, sealed, index == count - 1)

    return parts


async def _preview(
    jobs: JobStore,
    source: Parts,
    encoding: str | None,
    now: dt.datetime,
    hash_key: bytes,
    district: str | None,
) -> PreviewCheck:
    """Every row of the stored file (a CSV's ``encoding`` known) checked, a chunk at a
    time: repeats inside the file told by the store (a run of its own), and the rows an
    earlier import filed looked up per chunk."""
    table = await asyncio.to_thread(stream_table, source, encoding)
    check = PreviewCheck(table, now, hash_key=hash_key, district=district)
    identities, run_id = Identities(jobs.pool), uuid.uuid4()

    def next_chunk() -> tuple[bool, Checked]:
        rows = list(itertools.islice(table.rows, CHUNK))
        return bool(rows), check.check(rows)

    try:
        while True:
            read, checked = await asyncio.to_thread(next_chunk)
            if not read:
                break
            earlier = await identities.first_rows(run_id, checked.first)
            accepted = check.repeats(checked, earlier)
            if not accepted:
                continue
            filed_keys, refs = unique_keys(accepted)
            found = await jobs.pool.fetch(
                _ALREADY_FILED, filed_keys, [c for c, _ in refs], [r for _, r in refs]
            )
            check.settle(
                accepted,
                {r["idempotency_key"] for r in found if r["idempotency_key"]},
                {(r["channel"], r["channel_ref"]) for r in found if r["channel_ref"]},
            )
    finally:
        with contextlib.suppress(Exception):  # else a later run deletes them a day on
            await identities.forget_run(run_id)
    return check


async def sample(jobs: JobStore, keys: PiiKeys, job: JobRow) -> list[dict[str, Any]]:
    parts = await jobs.sealed_sample(job.job_id)
    if parts is None:
        return []
    key = job_key(keys, job.job_id, parts.key_id, parts.wrapped_key)
    rows: list[dict[str, Any]] = orjson.loads(unseal(key, job.job_id, "sample", parts.sealed))
    return rows


async def job_file(jobs: JobStore, keys: PiiKeys, job_id: uuid.UUID) -> Parts | bytes | None:
    """A job's stored file, as parts (or whole, for a job staged before parts); None when
    it is gone."""
    stored = await jobs.sealed_file(job_id)
    if stored is None:
        return None
    key = job_key(keys, job_id, stored.key_id, stored.wrapped_key)
    if stored.parts is None:
        assert stored.whole is not None
        return unseal(key, job_id, "file", stored.whole)
    return stored_file(asyncio.get_running_loop(), jobs, key, job_id, stored.parts)


async def rejected_rows(
    jobs: JobStore, keys: PiiKeys, job: JobRow
) -> tuple[list[str], list[dict[str, Any]]]:
    """The rejected rows with their original cells: the result's once filed, else the
    preview's.  NotChecked for a direct import being filed (it has no preview)."""
    checked = job.result or job.preview
    if checked is None:
        raise NotChecked(
            "its rows are checked as they are filed: its rejected rows are known once it is done"
        )
    rejected = checked["rejected"]
    source = await job_file(jobs, keys, job.job_id)
    if source is None:
        return ["row", "reasons"], []
    table = await asyncio.to_thread(stream_table, source)
    return await asyncio.to_thread(rejected_table, table, rejected)


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
        source = await job_file(jobs, keys, job_id)
        if source is None:
            raise LookupError("the staged file is gone")
        outcome = await import_file(
            store,
            settings,
            source,
            started,
            rows=job.rows_total,
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
