"""The rebuild's fast path: collect the whole topic, then load the fresh tables in bulk.

``Bulk.add`` decodes a record as cheaply as ``shared.envelope_codec.from_record`` allows
while deciding exactly as it and the signature check before it do (a record they would
refuse is counted ``undecodable``; the live consumer dead-lettered it): the headers by
hand, the signature checked on the payload as written, the payload validated by its
kind's own model, no ``Envelope`` built.  Events that
``domain.check`` refuses are counted ``refused`` (dead-lettered live as PoisonEvent), and
of several copies of one ``(complaint_id, version)`` the first to arrive counts, as live.

``Bulk.load`` then writes what the live consumer's ``handle_batch`` would have ended with
(tests/integration/kpi/test_rebuild_fast.py compares the tables row by row):

* ``events`` by COPY, the payload stored as received (upcast first if an older schema
  version) plus its ``kind`` (live stores the validated model dumped back: the same JSON
  for every record ``to_record`` wrote);
* ``cases`` and ``case_intervals`` by COPY, from the pure fold of each case's events
  (``domain.catch_up`` from nothing, which the live arrival-order fold always ends at,
  and ``timeline.intervals``), so there is no second copy of the rules in SQL.

The tables' keys and indexes are dropped at ``open`` (no duplicate key can arrive: the
rows are de-duplicated here) and built again, as migrated, at the end of ``load``.  When
several processes load one schema side by side, each its own partitions (a case's events
all share one), the ``Bulk`` of the process that runs them drops and builds the indexes,
and each of theirs touches none (``open(..., indexes=False)``).
Everything is held in memory until ``load`` (a few hundred bytes per event), and the
cyclic garbage collector is off from ``open`` to ``close``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import uuid
from collections.abc import Coroutine
from typing import Any

import asyncpg
import orjson
from pydantic import TypeAdapter

from services.kpi import history
from services.kpi.domain import cases as domain
from services.kpi.domain import timeline
from shared.chain import Link
from shared.envelope_codec import CONTENT_TYPE
from shared.events import EVENT_CLASSES, current_version, parse_type_name
from shared.signed_records import RecordVerifier, signature_of
from shared.upcasting import upcast

_REQUIRED = (
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "ce_version",
    "ce_recordedtime",
)
_ADAPTERS: dict[str, TypeAdapter[Any]] = {k: TypeAdapter(c) for k, c in EVENT_CLASSES.items()}
_CHUNK = 20_000  # rows per COPY: the server copies one while the next is prepared
_JSONB_V1 = b"\x01"  # jsonb's binary format: a version byte, then the JSON text
# asyncpg writes this naive value as 'infinity' (an aware one would be shifted by its zone).
_INFINITY = dt.datetime.max  # noqa: DTZ901

_EVENT_COLUMNS = ("complaint_id", "version", "kind", "occurred_at", "recorded_at", "data")
_CASE_COLUMNS = (
    "complaint_id",
    "applied_version",
    "fiscal_year",
    "province_code",
    "district_code",
    "channel",
    "category",
    "received_at",
    "recorded_at",
    "status",
    "closed_at",
    "last_recorded_at",
)
_INTERVAL_COLUMNS = (
    "complaint_id",
    "fiscal_year",
    "province_code",
    "district_code",
    "channel",
    "category",
    "received_at",
    "recorded_at",
    "valid_from",
    "valid_to",
    "recorded_from",
    "recorded_to",
    "closed_at",
)


class Bulk:
    """The decoded, de-duplicated events of a topic read, grouped by case."""

    def __init__(self, verifier: RecordVerifier) -> None:
        self._verifier = verifier
        self.undecodable = 0
        self.refused = 0
        self.duplicates = 0
        self._rows: list[tuple[Any, ...]] = []  # events rows, in arrival order
        self._cases: dict[uuid.UUID, dict[int, domain.Fact]] = {}
        self._sent = 0  # rows of _rows handed to COPY
        self._conn: asyncpg.Connection | None = None
        self._copying: asyncio.Task[Any] | None = None  # the COPY or build under way
        self._indexes: dict[str, list[str]] = {}  # by table: statements making them again
        self._gc = False  # whether the cyclic collector was on before ``open``

    @property
    def events(self) -> int:
        """Events stored (a duplicate is not stored twice)."""
        return len(self._rows)

    def add(self, headers: list[tuple[str, bytes]] | None, value: bytes | None) -> None:
        """Take one record (see the module docstring)."""
        try:
            fact, data = _decode(headers, value, self._verifier)
        except Exception:  # noqa: BLE001 - from_record refuses all these alike
            self.undecodable += 1
            return
        try:
            domain.check(fact)
        except domain.InvalidEvent:
            self.refused += 1
            return
        versions = self._cases.setdefault(fact.complaint_id, {})
        if fact.version in versions:
            self.duplicates += 1
            return
        versions[fact.version] = fact
        self._rows.append(
            (fact.complaint_id, fact.version, fact.kind, fact.occurred_at, fact.recorded_at, data)
        )

    async def open(self, dsn: str, schema: str, *, indexes: bool = True) -> None:
        """Connect to ``schema`` (a connection of its own: it carries jsonb in binary);
        with ``indexes``, drop its tables' keys and indexes now and build them in ``load``."""
        self._conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
        # Everything read stays alive until ``load``: the cyclic collector would scan the
        # growing heap again and again for nothing (it made reading several times slower).
        self._gc = gc.isenabled()
        gc.disable()
        if indexes:
            self._indexes = await drop_indexes(self._conn, schema)
        await self._conn.set_type_codec(
            "jsonb", schema="pg_catalog", format="binary", encoder=_same, decoder=_same
        )

    async def close(self) -> None:
        """Stop any copy under way, disconnect, and turn the collector back on."""
        if self._copying is not None:
            self._copying.cancel()
            with contextlib.suppress(BaseException):
                await self._copying
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
            if self._gc:
                gc.enable()

    async def pump(self, at_least: int = _CHUNK) -> None:
        """COPY the events taken so far in the background, once ``at_least`` wait (while
        the server copies, the next records are decoded)."""
        if len(self._rows) - self._sent >= at_least:
            rows, self._sent = self._rows[self._sent :], len(self._rows)
            await self._copy("events", rows, _EVENT_COLUMNS)

    async def _copy(
        self, table: str, rows: list[tuple[Any, ...]], columns: tuple[str, ...]
    ) -> None:
        """Start copying ``rows`` into ``table`` after the work under way has finished."""
        assert self._conn is not None
        await self._then(self._conn.copy_records_to_table(table, records=rows, columns=columns))

    async def _index(self, table: str) -> None:
        """Start building ``table``'s keys and indexes after the work under way."""
        assert self._conn is not None
        if self._indexes.get(table):
            await self._then(self._conn.execute(";\n".join(self._indexes[table])))

    async def _then(self, work: Coroutine[Any, Any, Any]) -> None:
        if self._copying is not None:
            await self._copying
        self._copying = asyncio.create_task(work)

    async def load(self) -> None:
        """Finish ``events``, write ``cases`` and ``case_intervals``, then build the
        keys and indexes again."""
        await self.pump(1)
        await self._index("events")  # built while the cases are folded
        cases: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []
        for versions in self._cases.values():
            if len(versions) == 1 and (filing := versions.get(1)) is not None:
                # Filed, nothing more: one rectangle (what timeline.intervals makes of
                # it, without its general machinery).
                case: domain.CaseRow | None = domain.start(filing)
                assert case is not None
                rows.append(
                    (
                        case.complaint_id,
                        case.fiscal_year,
                        case.province_code,
                        case.district_code,
                        case.channel,
                        case.category,
                        case.received_at,
                        case.recorded_at,
                        case.received_at,
                        _INFINITY,
                        filing.recorded_at,
                        _INFINITY,
                        None,
                    )
                )
            else:
                case = domain.catch_up(None, sorted(versions.values(), key=_version))
                if case is None:
                    continue
                rows.extend(
                    (
                        i.complaint_id,
                        i.fiscal_year,
                        i.province_code,
                        i.district_code,
                        i.channel,
                        i.category,
                        i.received_at,
                        i.recorded_at,
                        i.valid_from,
                        i.valid_to or _INFINITY,
                        i.recorded_from,
                        i.recorded_to or _INFINITY,
                        i.closed_at,
                    )
                    for i in timeline.intervals(case, map(history.step, versions.values()))
                )
            cases.append(
                (
                    case.complaint_id,
                    case.applied_version,
                    case.fiscal_year,
                    case.province_code,
                    case.district_code,
                    case.channel,
                    case.category,
                    case.received_at,
                    case.recorded_at,
                    str(case.status),
                    case.closed_at,
                    case.last_recorded_at,
                )
            )
            if len(cases) >= _CHUNK:
                await self._copy("cases", cases, _CASE_COLUMNS)
                await self._copy("case_intervals", rows, _INTERVAL_COLUMNS)
                cases, rows = [], []
        await self._copy("cases", cases, _CASE_COLUMNS)
        await self._copy("case_intervals", rows, _INTERVAL_COLUMNS)
        for table in ("cases", "case_intervals"):
            await self._index(table)
        assert self._copying is not None
        await self._copying
        self._copying = None
        self._rows, self._cases = [], {}


TABLES = ["events", "cases", "case_intervals"]  # what a rebuild loads


async def drop_indexes(conn: asyncpg.Connection, schema: str) -> dict[str, list[str]]:
    """Drop the (empty) tables' keys and indexes; return, by table, the statements that
    make them again exactly as the migrations did (building them once after the load is
    cheaper than maintaining them row by row)."""
    keys = await conn.fetch(
        "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) AS def "
        "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = $1 AND t.relname = ANY($2) AND c.contype IN ('p', 'u')",
        schema,
        TABLES,
    )
    indexes = await conn.fetch(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 "
        "AND tablename = ANY($2) AND NOT indexname = ANY($3)",
        schema,
        TABLES,
        [k["conname"] for k in keys],
    )
    again: dict[str, list[str]] = {t: [] for t in TABLES}
    for k in keys:
        await conn.execute(f'ALTER TABLE "{k["relname"]}" DROP CONSTRAINT "{k["conname"]}"')
        again[k["relname"]].append(
            f'ALTER TABLE "{k["relname"]}" ADD CONSTRAINT "{k["conname"]}" {k["def"]}'
        )
    for i in indexes:
        await conn.execute(f'DROP INDEX "{i["indexname"]}"')
        again[i["tablename"]].append(i["indexdef"])
    return again


def _same(value: bytes) -> bytes:
    return value


def _version(fact: domain.Fact) -> int:
    return fact.version


def _decode(
    headers: list[tuple[str, bytes]] | None, value: bytes | None, verifier: RecordVerifier
) -> tuple[domain.Fact, bytes]:
    """The fact and the binary jsonb to store of one record; raises where the signature
    check or ``from_record`` raises DecodeError (same checks, same order of strictness)."""
    hdrs = {k.lower(): v.decode() for k, v in (headers or [])}
    if hdrs.get("ce_specversion") != "1.0":
        raise ValueError("not a CloudEvents 1.0 record")
    for name in _REQUIRED:
        if not hdrs.get(name):
            raise ValueError(f"missing {name}")
    if hdrs.get("content-type", CONTENT_TYPE).split(";")[0].strip() != CONTENT_TYPE:
        raise ValueError("unsupported content type")
    kind, schema = parse_type_name(hdrs["ce_type"])
    payload = orjson.loads(value or b"")
    if not isinstance(payload, dict):
        raise ValueError("event data is not a JSON object")
    occurred_at = dt.datetime.fromisoformat(hdrs["ce_time"])
    recorded_at = dt.datetime.fromisoformat(hdrs["ce_recordedtime"])
    complaint_id, version = uuid.UUID(hdrs["ce_subject"]), int(hdrs["ce_version"])
    # The payload as written, before anything is added to it: what was signed.
    verifier.check_link(
        Link(
            complaint_id=complaint_id,
            version=version,
            event_id=uuid.UUID(hdrs["ce_id"]),
            source=hdrs["ce_source"],
            type=hdrs["ce_type"],
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            correlation_id=hdrs.get("ce_correlationid"),
            data=payload,
            prev_hash=hdrs.get("ce_prevhash"),
            hash=hdrs.get("ce_hash"),
        ),
        signature_of(headers),
    )
    if schema != current_version(kind):  # rare: only events written before a new schema
        payload = upcast(kind, schema, payload, occurred_at)
        # Stored as live stores it: the validated model dumped back.
        payload = (
            _ADAPTERS[kind]
            .validate_python({**payload, "kind": kind})
            .model_dump(mode="json", exclude={"kind"})
        )
    payload["kind"] = kind  # as from_record's {**payload, "kind": kind}
    data = _ADAPTERS[kind].validate_python(payload)
    if version < 1:  # Envelope's ge=1
        raise ValueError("version < 1")
    fact = domain.Fact(complaint_id, version, occurred_at, recorded_at, data)
    return fact, _JSONB_V1 + orjson.dumps(payload)
