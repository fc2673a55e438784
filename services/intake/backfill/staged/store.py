"""The ``import_jobs`` table: staged imports, their claim by one replica, progress, result.

Which replica files a confirmed job is decided by one conditional UPDATE (``claim``): the
first to move it from ``staged`` wins; the others see it running.  A job whose task
stopped beating may be claimed again (its replica died).  Expired jobs are deleted, with
their sealed file; so are the parts of an upload that never became a job.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from services.intake.backfill.staged.domain import STAGED_TTL, STALE_AFTER
from shared.db import connection_lost

_FIELDS = (
    "job_id, staged_by, district_code, status, created_at, expires_at, confirmed_by, "
    "confirmed_at, heartbeat_at, finished_at, rows_total, rows_done, filed, preview, result, "
    "error, queued_since"
)


@dataclass(frozen=True, slots=True)
class JobRow:
    job_id: uuid.UUID
    staged_by: str
    district_code: str | None
    status: str
    created_at: dt.datetime
    expires_at: dt.datetime
    confirmed_by: str | None
    confirmed_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    finished_at: dt.datetime | None
    rows_total: int
    rows_done: int
    filed: int
    preview: dict[str, Any] | None  # None: a direct import's, whose rows are checked as filed
    result: dict[str, Any] | None
    error: str | None
    queued_since: dt.datetime | None  # set while a running job waits for its turn

    @classmethod
    def of(cls, row: asyncpg.Record | None) -> JobRow | None:
        if row is None:
            return None
        values = dict(row)
        for name in ("preview", "result"):  # text, unless the pool decodes jsonb itself
            if isinstance(values[name], str | bytes):
                values[name] = orjson.loads(values[name])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class SealedParts:
    key_id: str
    wrapped_key: bytes
    sealed: bytes


@dataclass(frozen=True, slots=True)
class SealedFile:
    """Where a job's file is: ``parts`` sealed parts (each read by ``JobStore.part``),
    or, for a job staged before parts, whole in ``whole``."""

    key_id: str
    wrapped_key: bytes
    parts: int | None
    whole: bytes | None


def _lock_key(job_id: uuid.UUID) -> int:
    """The advisory lock key of a job: its first 8 bytes as a signed bigint."""
    return int.from_bytes(job_id.bytes[:8], "big", signed=True)


class JobStore:
    """``import_jobs`` over intake's pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        # The running jobs' advisory locks, all held on one pooled connection (see
        # running_lock); the guard keeps its statements one at a time.
        self._locks: Any = None  # the connection, while any lock is held
        self._held: set[int] = set()
        self._guard = asyncio.Lock()

    async def purge(self, now: dt.datetime) -> int:
        """Delete the expired jobs (never one whose task is alive) with their files, and
        the parts of uploads that never became a job (older than a staged job lives);
        how many jobs."""
        gone = await self.pool.fetchval(
            """
            WITH gone AS (
                DELETE FROM import_jobs WHERE expires_at < $1
                   AND NOT (status = 'running' AND heartbeat_at >= $2)
                RETURNING job_id),
            parts AS (
                DELETE FROM import_job_parts AS p
                 WHERE p.job_id IN (SELECT job_id FROM gone)
                    OR (p.created_at < $3
                        AND NOT EXISTS (SELECT 1 FROM import_jobs AS j
                                         WHERE j.job_id = p.job_id)))
            SELECT count(*) FROM gone""",
            now,
            now - STALE_AFTER,
            now - STAGED_TTL,
        )
        return int(gone)

    async def add_part(
        self, job_id: uuid.UUID, index: int, sealed: bytes, now: dt.datetime
    ) -> None:
        await self.pool.execute(
            "INSERT INTO import_job_parts (job_id, part, created_at, sealed) "
            "VALUES ($1, $2, $3, $4)",
            job_id,
            index,
            now,
            sealed,
        )

    async def drop_parts(self, job_id: uuid.UUID) -> None:
        """An upload's parts, when it does not become a job."""
        await self.pool.execute("DELETE FROM import_job_parts WHERE job_id = $1", job_id)

    async def part(self, job_id: uuid.UUID, index: int) -> bytes | None:
        sealed = await self.pool.fetchval(
            "SELECT sealed FROM import_job_parts WHERE job_id = $1 AND part = $2", job_id, index
        )
        return None if sealed is None else bytes(sealed)

    async def sealed_file(self, job_id: uuid.UUID) -> SealedFile | None:
        row = await self.pool.fetchrow(
            "SELECT key_id, wrapped_key, file_parts, "
            "CASE WHEN file_parts IS NULL THEN sealed_file END AS whole "
            "FROM import_jobs WHERE job_id = $1",
            job_id,
        )
        if row is None:
            return None
        whole = row["whole"]
        return SealedFile(
            row["key_id"],
            bytes(row["wrapped_key"]),
            row["file_parts"],
            None if whole is None else bytes(whole),
        )

    async def insert(
        self,
        job_id: uuid.UUID,
        *,
        staged_by: str,
        district_code: str | None,
        now: dt.datetime,
        expires_at: dt.datetime,
        key_id: str,
        wrapped_key: bytes,
        file_parts: int,
        sealed_sample: bytes,
        rows: int,
        preview: dict[str, Any] | None,
    ) -> JobRow:
        """The staged job of a file whose ``file_parts`` parts are stored (``preview``
        None: its rows were not checked, ``rows`` is counted by line ends)."""
        row = await self.pool.fetchrow(
            "INSERT INTO import_jobs (job_id, staged_by, district_code, status, created_at, "
            "expires_at, key_id, wrapped_key, file_parts, sealed_sample, rows_total, preview) "
            "VALUES ($1, $2, $3, 'staged', $4, $5, $6, $7, $8, $9, $10, $11::text::jsonb) "
            f"RETURNING {_FIELDS}",
            job_id,
            staged_by,
            district_code,
            now,
            expires_at,
            key_id,
            wrapped_key,
            file_parts,
            sealed_sample,
            rows,
            None if preview is None else orjson.dumps(preview).decode(),
        )
        job = JobRow.of(row)
        assert job is not None
        return job

    async def get(self, job_id: uuid.UUID, now: dt.datetime) -> JobRow | None:
        """The job, unless there is none or it has expired."""
        return JobRow.of(
            await self.pool.fetchrow(
                f"SELECT {_FIELDS} FROM import_jobs WHERE job_id = $1 AND expires_at >= $2",
                job_id,
                now,
            )
        )

    async def sealed_sample(self, job_id: uuid.UUID) -> SealedParts | None:
        row = await self.pool.fetchrow(
            "SELECT key_id, wrapped_key, sealed_sample FROM import_jobs WHERE job_id = $1",
            job_id,
        )
        if row is None:
            return None
        return SealedParts(row["key_id"], bytes(row["wrapped_key"]), bytes(row["sealed_sample"]))

    async def claim(self, job_id: uuid.UUID, by: str, now: dt.datetime) -> bool:
        """Move a staged (or stalled) job to running for this replica; False when another
        claim won, it is finished, or it expired."""
        claimed = await self.pool.fetchval(
            "UPDATE import_jobs SET status = 'running', confirmed_by = $2, "
            "confirmed_at = coalesce(confirmed_at, $3), heartbeat_at = $3, "
            "queued_since = NULL "
            "WHERE job_id = $1 AND expires_at >= $3 AND (status = 'staged' OR "
            "(status = 'running' AND heartbeat_at < $4)) RETURNING true",
            job_id,
            by,
            now,
            now - STALE_AFTER,
        )
        return bool(claimed)

    @contextlib.asynccontextmanager
    async def running_lock(self, job_id: uuid.UUID) -> AsyncIterator[bool]:
        """Hold the job's session advisory lock while the body runs (yields False, holding
        nothing, when another session has it or another task of this replica).  The lock
        lives as long as the connection: a replica killed mid-import loses it at once, so
        its job can be resumed without waiting for the heartbeat to go stale, and never by
        two replicas at a time.

        Every lock this replica holds is on one pooled connection, taken with the first and
        given back with the last.  A connection per job, held while the job waits for its
        turn to file, let a few waiting jobs take every connection of the pool, and the
        filing one could then get none: every job and every request waited for ever."""
        key = _lock_key(job_id)
        async with self._guard:
            held = False
            if key not in self._held:  # the same session would be granted it again
                if self._locks is None:
                    self._locks = await self.pool.acquire()
                try:
                    held = bool(await self._locks.fetchval("SELECT pg_try_advisory_lock($1)", key))
                except Exception:
                    if connection_lost(self._locks):  # its locks went with it: start afresh
                        self._held.clear()
                        await self._give_back_if_unused()
                    raise
                if held:
                    self._held.add(key)
                await self._give_back_if_unused()
        try:
            yield held
        finally:
            if held:
                async with self._guard:
                    self._held.discard(key)
                    with contextlib.suppress(Exception):  # a closed connection released it
                        await self._locks.execute("SELECT pg_advisory_unlock($1)", key)
                    await self._give_back_if_unused()

    async def _give_back_if_unused(self) -> None:
        if self._held or self._locks is None:
            return
        connection, self._locks = self._locks, None
        with contextlib.suppress(Exception):  # a broken one is the pool's to replace
            await self.pool.release(connection)

    async def running_ids(self, now: dt.datetime) -> list[uuid.UUID]:
        """The jobs left running (alive or not), oldest first."""
        rows = await self.pool.fetch(
            "SELECT job_id FROM import_jobs WHERE status = 'running' AND expires_at >= $1 "
            "ORDER BY confirmed_at",
            now,
        )
        return [r["job_id"] for r in rows]

    async def resume_claim(self, job_id: uuid.UUID, now: dt.datetime) -> JobRow | None:
        """Take over a running job whose lock this session holds (its runner is gone);
        None when it finished in between."""
        return JobRow.of(
            await self.pool.fetchrow(
                "UPDATE import_jobs SET heartbeat_at = $2, queued_since = NULL "
                f"WHERE job_id = $1 AND status = 'running' RETURNING {_FIELDS}",
                job_id,
                now,
            )
        )

    async def beat(self, job_id: uuid.UUID, now: dt.datetime) -> None:
        await self.pool.execute(
            "UPDATE import_jobs SET heartbeat_at = $2 WHERE job_id = $1 AND status = 'running'",
            job_id,
            now,
        )

    async def queued(self, job_id: uuid.UUID, waiting: bool, now: dt.datetime) -> None:
        """The job waits for its turn to file (``waiting``), or has it now."""
        await self.pool.execute(
            "UPDATE import_jobs SET queued_since = CASE WHEN $2::boolean THEN $3::timestamptz END, "
            "heartbeat_at = $3 "
            "WHERE job_id = $1 AND status = 'running'",
            job_id,
            waiting,
            now,
        )

    async def progress(self, job_id: uuid.UUID, done: int, filed: int, now: dt.datetime) -> None:
        """Rows gone through and filed so far.  A resumed job goes through its file again
        from the start: what its officer sees holds where the crash left it until the
        new run passes it, rather than going back to zero."""
        await self.pool.execute(
            "UPDATE import_jobs SET rows_done = greatest(rows_done, $2), "
            "filed = greatest(filed, $3), heartbeat_at = $4 "
            "WHERE job_id = $1 AND status = 'running'",
            job_id,
            done,
            filed,
            now,
        )

    async def finish(
        self,
        job_id: uuid.UUID,
        *,
        result: dict[str, Any] | None,
        error: str | None,
        now: dt.datetime,
        expires_at: dt.datetime,
    ) -> None:
        """Record the outcome (``result``, or ``error`` for a failed job) and keep the job,
        with its sealed file for the rejected rows, until ``expires_at``.  A done job's
        rows are the rows its filing read (a direct import's were counted by line ends)."""
        await self.pool.execute(
            "UPDATE import_jobs SET status = $2, result = $3::text::jsonb, error = $4, "
            "finished_at = $5, heartbeat_at = $5, expires_at = greatest(expires_at, $6), "
            "rows_total = coalesce(($3::text::jsonb ->> 'rows')::int, rows_total), "
            "rows_done = coalesce(($3::text::jsonb ->> 'rows')::int, rows_done), "
            "filed = coalesce(($3::text::jsonb ->> 'filed')::int, filed) "
            "WHERE job_id = $1",
            job_id,
            "failed" if result is None else "done",
            None if result is None else orjson.dumps(result).decode(),
            error,
            now,
            expires_at,
        )
