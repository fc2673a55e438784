"""Intake's PostgreSQL access: tracking serials, the filing statement, look-ups.

Filing costs at most one round trip: the complaint rows, their outbox rows and the relay
wake-up are one statement (one implicit transaction).  Filings that arrive while the
writers are busy ride along in the next statement (opportunistic batching: no timer, so
no added latency when idle; under load one commit and one NOTIFY serve many filings).
Duplicates are absorbed by the unique constraints with ``ON CONFLICT DO NOTHING``; the
caller then reads the winner.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from services.intake.domain.records import NewComplaint, row_dict
from shared.faults import Backoff, is_transient
from shared.outbox import NOTIFY_CHANNEL

SERIAL_BLOCK = 100
MAX_BATCH = 200
FILE_ATTEMPTS = 6

# The batch travels as ONE json parameter: asyncpg encodes 22 array parameters element by
# element in Python (measured ~60 isinstance checks per row), orjson encodes json in C.
_TABLE = (
    ("complaint_id", "uuid"),
    ("tracking_no", "text"),
    ("channel", "text"),
    ("channel_ref", "text"),
    ("idempotency_key", "text"),
    ("request_hash", "text"),
    ("category", "text"),
    ("province_code", "text"),
    ("district_code", "text"),
    ("subdistrict_code", "text"),
    ("subject", "text"),
    ("description", "text"),
    ("anonymous", "boolean"),
    ("complainant_ref", "uuid"),
    ("identity", "text"),
    ("complainant_masked", "jsonb"),
    ("received_at", "timestamptz"),
    ("recorded_at", "timestamptz"),
    ("backfilled", "boolean"),
    ("event_id", "uuid"),
    ("filed_by", "text"),
)
_INPUT = (
    *_TABLE,
    ("key_id", "text"),
    ("wrapped_key", "text"),
    ("topic", "text"),
    ("key", "text"),
    ("headers", "jsonb"),
    ("value", "text"),
    ("phone_hash", "text"),
    ("secret_hash", "text"),
)
_TABLE_COLUMNS = [name for name, _ in _TABLE]
_HEX = {"request_hash", "identity"}  # bytea columns, sent as hex text
_SELECT = ", ".join(f"decode({c}, 'hex')" if c in _HEX else c for c in _TABLE_COLUMNS)

_FILE_SQL = f"""
WITH i AS (
    SELECT * FROM json_to_recordset($1::text::json)
        AS t({", ".join(f"{name} {typ}" for name, typ in _INPUT)})
), c AS (
    INSERT INTO complaints ({", ".join(_TABLE_COLUMNS)})
    SELECT {_SELECT} FROM i
    ON CONFLICT DO NOTHING
    RETURNING complaint_id
), k AS (
    -- Only for complaints inserted: a duplicate filing leaves no key behind.
    INSERT INTO complainants (complainant_ref, complaint_id, key_id, wrapped_key, created_at)
    SELECT i.complainant_ref, i.complaint_id, i.key_id, decode(i.wrapped_key, 'hex'),
           i.recorded_at
    FROM i JOIN c USING (complaint_id) WHERE i.complainant_ref IS NOT NULL
), t AS (
    -- The public tracking keys, in the filing's own transaction: a filing stored is a
    -- filing its complainant can track, and a key that cannot be stored (a full disk)
    -- fails the filing, which the caller is told and may send again.
    INSERT INTO tracking_keys (complaint_id, phone_hash, secret_hash, created_at)
    SELECT i.complaint_id, decode(i.phone_hash, 'hex'), decode(i.secret_hash, 'hex'),
           i.recorded_at
    FROM i JOIN c USING (complaint_id)
    WHERE i.phone_hash IS NOT NULL OR i.secret_hash IS NOT NULL
    ON CONFLICT (complaint_id) DO NOTHING
), o AS (
    INSERT INTO outbox (topic, key, headers, value)
    SELECT i.topic, convert_to(i.key, 'UTF8'), i.headers, convert_to(i.value, 'UTF8')
    FROM i JOIN c USING (complaint_id)
    RETURNING 1
), woken AS (
    SELECT pg_notify('{NOTIFY_CHANNEL}', '') FROM (SELECT 1 FROM o LIMIT 1) AS any_row
)
SELECT coalesce((SELECT array_agg(complaint_id) FROM c), '{{}}') AS ids,
       (SELECT count(*) FROM woken) AS woken
"""

# Which complaints of a batch are stored: those its statement inserted, if it committed.
_FILED_SQL = """
SELECT array_agg(complaint_id) FROM complaints
WHERE complaint_id IN (SELECT complaint_id FROM json_to_recordset($1::text::json)
                                              AS t(complaint_id uuid))
"""

_COLUMNS = (
    "complaint_id, tracking_no, channel, channel_ref, idempotency_key, request_hash, category, "
    "province_code, district_code, subdistrict_code, subject, anonymous, complainant_ref, "
    "complainant_masked, received_at, recorded_at, backfilled, filed_by"
)


@dataclass(frozen=True, slots=True)
class StoredComplaint:
    """A filed complaint as intake keeps it: personal data only masked (the sealed identity
    is read apart, by ``pii.store``, for pii_readers)."""

    complaint_id: uuid.UUID
    tracking_no: str
    channel: str
    channel_ref: str | None
    idempotency_key: str | None
    request_hash: bytes
    category: str
    province_code: str
    district_code: str
    subdistrict_code: str | None
    subject: str
    anonymous: bool
    complainant_ref: uuid.UUID | None
    complainant_masked: dict[str, Any] | None
    received_at: dt.datetime
    recorded_at: dt.datetime
    backfilled: bool
    filed_by: str | None

    @classmethod
    def of(cls, row: asyncpg.Record | None) -> StoredComplaint | None:
        if row is None:
            return None
        return cls(**{**dict(row), "request_hash": bytes(row["request_hash"])})


def _batch_json(rows: list[NewComplaint]) -> str:
    """Rows -> the json array ``_FILE_SQL`` reads."""
    return orjson.dumps([row_dict(r) for r in rows]).decode()


def _lock_order(row: NewComplaint) -> tuple[str, str, str]:
    return (row.idempotency_key or "", row.channel, row.channel_ref or "")


class IntakeStore:
    """Intake's tables over a pool whose search_path is the ``intake`` schema."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        serial_block: int = SERIAL_BLOCK,
        max_batch: int = MAX_BATCH,
        writers: int | None = None,
    ) -> None:
        self.pool = pool
        self._block = serial_block
        self._serials: deque[int] = deque()
        self._refill = asyncio.Lock()
        self._max_batch = max_batch
        # Leave connections for reads, serial refills and the outbox relay.
        self._writers = writers or max(1, pool.get_max_size() - 3)
        self._queue: list[tuple[NewComplaint, asyncio.Future[bool]]] = []
        self._inflight: set[asyncio.Task[None]] = set()

    async def next_serial(self) -> int:
        """The next tracking serial from the global sequence, fetched ``serial_block`` at a
        time so that filing normally costs no extra round trip (gaps are fine)."""
        if not self._serials:
            async with self._refill:
                if not self._serials:  # another task may have refilled while we waited
                    rows = await self.pool.fetch(
                        "SELECT nextval('tracking_serial') AS n FROM generate_series(1, $1)",
                        self._block,
                    )
                    self._serials.extend(sorted(r["n"] for r in rows))
        return self._serials.popleft()

    async def insert(self, row: NewComplaint) -> bool:
        """Insert the complaint and its outbox row atomically; False if a unique key
        (idempotency key, channel + channel_ref) already names another complaint."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((row, fut))
        self._kick()
        return await fut

    def _kick(self) -> None:
        while self._queue and len(self._inflight) < self._writers:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            task = asyncio.create_task(self._flush(batch), name="intake-insert")
            self._inflight.add(task)
            task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._kick()

    async def _flush(self, batch: list[tuple[NewComplaint, asyncio.Future[bool]]]) -> None:
        # One lock order for every batch (by idempotency key, then channel reference), so
        # concurrent batches holding duplicates rarely deadlock; if they do, retry.
        batch.sort(key=lambda item: _lock_order(item[0]))
        try:
            ids = await self._file(_batch_json([row for row, _ in batch]))
        except BaseException as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        inserted = set(ids)
        for row, fut in batch:
            if not fut.done():
                fut.set_result(row.complaint_id in inserted)

    async def _file(self, payload: str) -> list[uuid.UUID]:
        # A transient fault (a deadlock, a lost connection) runs the statement again.  It
        # is one transaction: cut off, it committed whole or not at all, and the batch's
        # own fresh complaint ids, found or not, tell which.
        backoff = Backoff(first=0.05, cap=1.0)
        for attempt in range(FILE_ATTEMPTS):
            try:
                if attempt and (ours := await self.pool.fetchval(_FILED_SQL, payload)):
                    return list(ours)
                ids: list[uuid.UUID] = await self.pool.fetchval(_FILE_SQL, payload)
                return ids
            except Exception as exc:
                if attempt == FILE_ATTEMPTS - 1 or not is_transient(exc):
                    raise
            await asyncio.sleep(backoff.next())
        raise AssertionError("unreachable")

    async def take_serials(self, n: int) -> list[int]:
        """``n`` fresh tracking serials in one round trip (for bulk filing)."""
        rows = await self.pool.fetch(
            "SELECT nextval('tracking_serial') AS n FROM generate_series(1, $1)", n
        )
        return sorted(r["n"] for r in rows)

    async def insert_encoded(self, rows: list[bytes]) -> set[uuid.UUID]:
        """Insert many complaints with their outbox rows, each encoded by ``row_json``, in
        ONE statement (one transaction); returns the ids inserted: the others collided with
        a unique key (already filed)."""
        if not rows:
            return set()
        return set(await self._file((b"[" + b",".join(rows) + b"]").decode()))

    async def close(self) -> None:
        """Wait for the statements in flight (call before closing the pool)."""
        while self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    async def find_duplicate(
        self, idempotency_key: str | None, channel: str, channel_ref: str | None
    ) -> StoredComplaint | None:
        """The complaint already filed under this idempotency key or channel reference
        (the key wins when both match different complaints)."""
        if idempotency_key is None and channel_ref is None:
            return None
        return StoredComplaint.of(
            await self.pool.fetchrow(
                f"SELECT {_COLUMNS} FROM complaints "
                "WHERE idempotency_key = $1 OR (channel = $2 AND channel_ref = $3) "
                "ORDER BY (idempotency_key IS NOT DISTINCT FROM $1) DESC LIMIT 1",
                idempotency_key,
                channel,
                channel_ref,
            )
        )

    async def get(self, complaint_id: uuid.UUID) -> StoredComplaint | None:
        return StoredComplaint.of(
            await self.pool.fetchrow(
                f"SELECT {_COLUMNS} FROM complaints WHERE complaint_id = $1", complaint_id
            )
        )
