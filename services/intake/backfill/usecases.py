"""Backfill import use case: a register file -> filed complaints, duplicates, rejections.

The rows go in chunks of ``CHUNK`` (or the setting ``import_chunk_rows``).  Parsing,
validation and encoding each chunk's events are pure and CPU-bound, so they run in worker
processes for large files (a thread for small ones) while this task writes the chunks
before them, each chunk one statement (complaints and their outbox rows together,
``ON CONFLICT DO NOTHING``).  Duplicates inside the file are decided here, in row order,
since only here the whole file is seen, by the first row of each identity that the store
keeps for the run (``Identities``).  A row that collides with a complaint filed by an
earlier import (same row identity) is a duplicate, never a second filing.  Bad rows never
stop the good ones.  The rows are read as the chunks are cut: the file as text or as rows
is never held whole, only the chunks under way (and its bytes, when it is given whole).

A job resumed after its replica died runs the file again from the start: ``ours`` tells
which of the colliding rows that job itself filed before the crash, so that they count as
filed, not as already imported, and the summary is the one an uninterrupted run gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import itertools
import multiprocessing
import os
import uuid
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import structlog

from services.intake.backfill.domain.plan import (
    Duplicate,
    Rejected,
    check_columns,
    firsts,
    identity_digest,
    split_repeats,
)
from services.intake.backfill.domain.prepare import Encoded, PreparedChunk, prepare_chunk
from services.intake.backfill.domain.reader import (
    Source,
    head_of,
    is_xlsx,
    parts_of,
    stream_table,
)
from services.intake.backfill.store import Identities
from services.intake.pii.domain.keys import PiiKeys
from services.intake.store import IntakeStore
from shared.config import Settings

CHUNK = 4000  # rows parsed per task and written per statement
PARALLEL_MIN = 20_000
MAX_WORKERS = 4
log = structlog.get_logger()


@dataclass(slots=True)
class ImportResult:
    import_id: uuid.UUID
    rows: int
    filed: int = 0
    duplicates: list[Duplicate] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {
            "import_id": str(self.import_id),
            "rows": self.rows,
            "filed": self.filed,
            "duplicates": len(self.duplicates),
            "rejected": [{"row": r.row, "reasons": r.reasons} for r in self.rejected],
            "duplicate_rows": [
                {"row": d.row, "of_row": d.of_row, "reason": d.reason} for d in self.duplicates
            ],
            "ignored_columns": self.ignored_columns,
        }


def default_workers(rows: int) -> int:
    """Worker processes for an import of ``rows`` rows: none for small files (starting one
    costs about a second), else one per core."""
    return 0 if rows < PARALLEL_MIN else min(os.cpu_count() or 1, MAX_WORKERS)


async def import_file(
    store: IntakeStore,
    settings: Settings,
    source: Source,
    now: dt.datetime,
    *,
    rows: int | None = None,
    workers: int | None = None,
    district: str | None = None,
    filed_by: str | None = None,
    progress: Callable[[int, int], Awaitable[None]] | None = None,
    filed: Callable[[int], None] | None = None,
    ours: Callable[[list[str]], Awaitable[set[str]]] | None = None,
    queued: Callable[[bool], Awaitable[None]] | None = None,
) -> ImportResult:
    """Import one register file (its bytes, or its parts: ``reader.Source``) at ``now``;
    every row is filed, a duplicate or rejected (also, with ``district``, every row of
    another district).  ``rows``: how many the file holds, if known (to pick ``workers``).

    ``workers`` processes parse and encode chunks (default ``default_workers``; 0: one
    thread) while this task writes the chunks before them, one statement per chunk.
    ``progress`` is awaited after each chunk is written with the rows done and filed so far;
    ``filed`` is told how many rows each write filed (the metrics' counter); ``ours``
    (a resumed job) answers which of the given row identities the same job already filed.
    At most ``settings.import_filings_at_once`` imports file at once in this process; the
    others wait their turn here: ``queued(True)`` is awaited when one must wait, and
    ``queued(False)`` when its turn comes.
    """
    slots = _filing_slots(settings.import_filings_at_once)
    waits = slots.locked()  # nothing runs between this and the wait: no await
    if waits:
        log.info("import.waiting", filings_at_once=settings.import_filings_at_once)
        if queued is not None:
            await queued(True)
    async with slots:
        if waits and queued is not None:
            await queued(False)
        if workers is None:
            about = rows if rows is not None else await asyncio.to_thread(_rows_about, source)
            workers = default_workers(about)
        return await _import(
            store, settings, source, now, workers, district, filed_by, progress, filed, ours
        )


# Per event loop (an asyncio primitive belongs to the loop it first waits in) and size (a
# service has one; tests run several in one loop).
_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def _filing_slots(size: int) -> asyncio.Semaphore:
    by_size = _SLOTS.setdefault(asyncio.get_running_loop(), {})
    if size not in by_size:
        by_size[size] = asyncio.Semaphore(size)
    return by_size[size]


async def _import(
    store: IntakeStore,
    settings: Settings,
    source: Source,
    now: dt.datetime,
    workers: int,
    district: str | None,
    filed_by: str | None,
    progress: Callable[[int, int], Awaitable[None]] | None,
    filed: Callable[[int], None] | None,
    ours: Callable[[list[str]], Awaitable[set[str]]] | None,
) -> ImportResult:
    now = now.astimezone(dt.UTC)
    table = await asyncio.to_thread(stream_table, source)
    check_columns(table)
    result = ImportResult(
        uuid.uuid4(), 0, ignored_columns=table.columns.ignored + table.columns.repeated
    )
    prepare = functools.partial(
        prepare_chunk,
        table.columns.columns,
        now=now,
        topic=settings.events_topic,
        keys=PiiKeys.from_settings(settings),
        correlation_id=structlog.contextvars.get_contextvars().get("correlation_id"),
        district=district,
        filed_by=filed_by,
    )
    size = settings.import_chunk_rows or CHUNK

    async def cut() -> list[Any]:
        """The next chunk of rows, read off the event loop ([] at the end)."""
        return await asyncio.to_thread(list, itertools.islice(table.rows, size))

    executor = (
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        if workers
        else None
    )
    loop = asyncio.get_running_loop()

    async def submit(chunk: list[Any]) -> asyncio.Future[PreparedChunk]:
        serials = await store.take_serials(len(chunk))
        if executor is None:
            return asyncio.ensure_future(asyncio.to_thread(prepare, chunk, serials))
        return loop.run_in_executor(executor, functools.partial(prepare, chunk, serials))

    identities = Identities(store.pool)
    pending: deque[asyncio.Future[PreparedChunk]] = deque()
    writing: asyncio.Task[None] | None = None
    done = 0
    try:
        for _ in range(max(workers, 1) + 1):
            if not (chunk := await cut()):
                break
            pending.append(await submit(chunk))
        while pending:
            prepared = await pending.popleft()
            if following := await cut():
                pending.append(await submit(following))
            result.rejected.extend(prepared.rejected)
            # Repeats inside the file, told by the first row of each identity: the store
            # keeps them for the run (a million would take some 150 MB here).
            items = [(item.row, identity_digest(item.identity)) for item in prepared.accepted]
            earlier = await identities.first_rows(result.import_id, firsts(items))
            kept, repeats = split_repeats(items, earlier)
            result.duplicates.extend(repeats)
            fresh = [prepared.accepted[i] for i in kept]
            if writing is not None:
                await writing  # one statement at a time: parsing is what runs alongside
                if progress is not None:
                    await progress(done, result.filed)
            done += len(prepared.accepted) + len(prepared.rejected)
            writing = asyncio.create_task(_write(store, fresh, result, filed, ours))
        if writing is not None:
            await writing
            if progress is not None:
                await progress(done, result.filed)
    finally:
        for future in pending:
            future.cancel()
        if writing is not None and not writing.done():
            writing.cancel()
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, True, cancel_futures=True)
        with contextlib.suppress(Exception):  # else a later run deletes them a day on
            await identities.forget_run(result.import_id)
    result.rows = done
    result.rejected.sort(key=lambda r: r.row)
    result.duplicates.sort(key=lambda d: d.row)
    log.info(
        "import.done",
        import_id=str(result.import_id),
        rows=result.rows,
        filed=result.filed,
        duplicates=len(result.duplicates),
        rejected=len(result.rejected),
        workers=workers,
    )
    return result


def _rows_about(source: Source) -> int:
    """About how many rows a file holds, without parsing them: a CSV's line ends (a
    description may span lines: a little over), an .xlsx's bytes at 100 a row."""
    parts = parts_of(source)
    if is_xlsx(head_of(parts, 4)):
        return sum(len(part) for part in parts()) // 100
    return sum(part.count(b"\n") for part in parts())


async def _write(
    store: IntakeStore,
    rows: list[Encoded],
    result: ImportResult,
    filed: Callable[[int], None] | None,
    ours: Callable[[list[str]], Awaitable[set[str]]] | None,
) -> None:
    inserted = await store.insert_encoded([item.record for item in rows])
    result.filed += len(inserted)
    if filed is not None:
        filed(len(inserted))  # not the rows of a resumed job's own: counted when filed
    collided = [item for item in rows if item.complaint_id not in inserted]
    mine = await ours([item.identity for item in collided]) if ours and collided else set()
    result.filed += sum(1 for item in collided if item.identity in mine)
    # Not inserted: a complaint with the same row identity was filed by an earlier import.
    result.duplicates.extend(
        Duplicate(item.row, None) for item in collided if item.identity not in mine
    )
