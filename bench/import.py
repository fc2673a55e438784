"""Backfill import throughput beside PostgreSQL's own COPY rate, measured in the same run.

    .venv/bin/python bench/import.py [--rows 200000] [--platform]

Generates a realistic register (bench/import_gen.py: Thai headers, BE dates, Thai digits,
~900 districts, a third with valid national IDs and phones, ~70% closed) and, on one
embedded PostgreSQL:

(a) COPY (text format, from memory) of the same number of rows of similar width into a
    plain table without indexes: PostgreSQL's own rate;
(b) the import through the real code path, called directly on an asyncpg pool (no
    HTTP): reading, parsing, validating and encoding every row in this one process, then
    the store writes of those encoded rows alone (one statement per chunk) into one
    database, then ``import_file`` end to end (with its worker processes) into a fresh
    one, in a process of its own;
    The end-to-end import runs in a process of its own that reads the file first, so
    its memory is the import's: its peak resident size, and its workers' (sampled);
    ``--end-to-end-only`` leaves out the split measurement (which holds every row) for
    large runs;
(c) with ``--platform``: the whole platform runs (intake's relay, status, kpi) and the
    end-to-end import goes into intake's own database; we then wait until kpi's
    ``/v1/kpi/progress`` counts every case and report that time too.
(d) with ``--upload``: instead of (b)'s end-to-end import, the register goes to the
    intake service as ``damrong import`` sends it (``POST /v1/imports``, the file streamed
    from disk), and the job is followed until it is done: the time to the 202 (upload,
    seal, preview), the time to done, the time until intake's relay has published every
    filing, and the intake process's peak resident size above what it held before the
    upload, and its workers'.
(e) with ``--relay`` (not with ``--platform``): after (b), intake's outbox relay alone, in
    this process, publishes the filings (b) left in the outbox: records/s and CPU a record.
(f) without ``--platform`` or ``--upload``: the database's share alone, the floor under any
    import code on this machine: the rows (b) left in the tables an import writes, written
    again by binary COPY with the tables' keys and indexes in place (nothing parsed,
    checked or encoded), and what the goal (0.5x COPY on every core) leaves a row for the
    rest.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import io
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import psutil
from pydantic import SecretStr

# Run as a script (python bench/import.py): the repository root goes on sys.path before the
# project's own imports, hence their E402.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import floor  # noqa: E402
from bench.import_gen import generate  # noqa: E402
from bench.intake import cpu_seconds  # noqa: E402
from damrong.embedded.platform import Platform  # noqa: E402
from services.intake.backfill import usecases as imports  # noqa: E402
from services.intake.backfill.domain.prepare import prepare_chunk  # noqa: E402
from services.intake.backfill.domain.reader import read_table  # noqa: E402
from services.intake.main import MIGRATIONS  # noqa: E402
from services.intake.pii.domain.keys import PiiKeys  # noqa: E402
from services.intake.store import IntakeStore  # noqa: E402
from shared.config import Settings  # noqa: E402
from shared.db import create_pool, migrate  # noqa: E402
from shared.events import INTAKE_SOURCE  # noqa: E402
from shared.kafka import ensure_topics, make_producer  # noqa: E402
from shared.outbox import OutboxRelay  # noqa: E402
from shared.signed_records import RecordSigner  # noqa: E402
from shared.signing import new_private_key  # noqa: E402

COPY_COLUMNS = (
    "complaint_id uuid, tracking_no text, channel text, channel_ref text, "
    "idempotency_key text, category text, province_code text, district_code text, "
    "subject text, description text, anonymous boolean, complainant jsonb, "
    "received_at timestamptz, recorded_at timestamptz, event_id uuid, headers jsonb, "
    "value text"
)


def copy_payload(rows: int) -> bytes:
    """CSV lines as wide as a complaint row plus its outbox record (~1.1 KB)."""
    out = io.StringIO()
    now = dt.datetime.now(dt.UTC).isoformat()
    headers = (
        '"[[""ce_id"", ""' + str(uuid.uuid4()) + '""], [""ce_source"", '
        '""/damrong/intake""], [""ce_type"", ""th.go.dopa.damrong.complaint.filed.v1""]'
        ', [""ce_time"", ""2024-10-15T03:00:00Z""]]"'
    )
    value = '"' + ('{""tracking_no"": ""5001-2568-0000001"", ""channel"": ""letter""}' * 8) + '"'
    for i in range(rows):
        out.write(
            f"{uuid.uuid4()},5001-2568-{i:07d},letter,5001:ที่ มท {i:07d},"
            f"backfill:5001:letter:{i:040d},informal_debt,50,5001,"
            f"ถูกเจ้าหนี้นอกระบบทวงหนี้ #{i},ผู้ร้องกู้เงิน ๕๐๐๐๐ บาท ถูกเรียกดอกเบี้ยร้อยละ ๒๐,"
            f'false,"{{""anonymous"": false, ""name"": ""นายสมชาย ใจดี""}}",'
            f"2024-10-15T03:00:00Z,{now},{uuid.uuid4()},{headers},{value}\n"
        )
    return out.getvalue().encode()


async def copy_rate(dsn: str, rows: int) -> float:
    payload = copy_payload(rows)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            f"DROP TABLE IF EXISTS bench_copy; CREATE TABLE bench_copy ({COPY_COLUMNS})"
        )
        t0 = time.perf_counter()
        await conn.copy_to_table("bench_copy", source=io.BytesIO(payload), format="csv")
        seconds = time.perf_counter() - t0
        await conn.execute("DROP TABLE bench_copy")
    finally:
        await conn.close()
    return rows / seconds


async def fresh_database(admin_dsn: str, name: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{admin_dsn.rsplit('/', 1)[0]}/{name}"


async def intake_pool(dsn: str) -> asyncpg.Pool:
    pool = await create_pool(dsn, "intake", max_size=6)
    await migrate(pool, "intake", MIGRATIONS)
    return pool


def bench_settings(database_url: str) -> Settings:
    """Settings with fresh personal-data keys: rows are sealed as in production."""

    def key() -> SecretStr:
        return SecretStr(base64.b64encode(os.urandom(32)).decode())

    return Settings(database_url=database_url, pii_master_key=key(), pii_hash_key=key())


def own_cpu() -> float:
    """CPU seconds of this process and its finished children (the import's workers)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


async def wait_kpi(
    kpi_url: str, cases: int, headers: dict[str, str], timeout: float = 1800
) -> float:
    """Seconds until kpi's progress counts ``cases`` cases (from the call)."""
    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:
        while True:
            r = await client.get(f"{kpi_url}/v1/kpi/progress")
            if r.status_code == 200 and r.json()["cases"] >= cases:
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(f"kpi shows {r.json()} after {timeout} s")
            # Each answer counts kpi's cases afresh (a scan: 83 ms at 830,000 cases,
            # measured during a run): polled five times a second, it took about 40% of a
            # core from the projection it waits for.
            await asyncio.sleep(1.0)


async def split_measurement(
    admin: str, settings: Settings, data: bytes, now: dt.datetime, rows: int, copy: float
) -> float:
    """(b)'s first two lines: parsing in one process, then the store writes alone; the
    first's µs a row."""
    t0 = time.perf_counter()
    table = read_table(data)
    chunks = [
        prepare_chunk(
            table.columns.columns,
            table.rows[i : i + imports.CHUNK],
            range(i + 1, i + 1 + imports.CHUNK)[: len(table.rows[i : i + imports.CHUNK])],
            now=now,
            topic=settings.events_topic,
            keys=PiiKeys.from_settings(settings),
            correlation_id=None,
        )
        for i in range(0, len(table.rows), imports.CHUNK)
    ]
    parse_s = time.perf_counter() - t0
    assert not any(c.rejected for c in chunks), chunks[0].rejected[:3]
    split = await intake_pool(await fresh_database(admin, "bench_split"))
    try:
        store = IntakeStore(split)
        t0 = time.perf_counter()
        filed = 0
        for chunk in chunks:
            filed += len(await store.insert_encoded([e.record for e in chunk.accepted]))
        write_s = time.perf_counter() - t0
    finally:
        await split.close()
    del chunks, table
    print("(b) import use case called on an asyncpg pool:")
    print(line("parse+validate+encode, 1 process", rows, parse_s, copy))
    print(line(f"store writes only ({filed} filed)", rows, write_s, copy))
    return parse_s / rows * 1e6


def import_alone(
    path: Path, dsn: str, settings: Settings, now: dt.datetime, workers: int | None
) -> tuple[float, int, float, float]:
    """In a fresh process: read the register, import it; (seconds, filed, the file's MB,
    resident MB with the file read).  Its peak is sampled from outside (``Memory``): Linux
    carries a process's peak over fork and exec, so its own would be its parent's."""
    data = path.read_bytes()
    start = psutil.Process().memory_info().rss / 1e6

    async def run() -> tuple[float, int]:
        pool = await create_pool(dsn, "intake", max_size=6)
        try:
            t0 = time.perf_counter()
            result = await imports.import_file(
                IntakeStore(pool), settings, data, now, workers=workers
            )
            return time.perf_counter() - t0, result.filed
        finally:
            await pool.close()

    seconds, filed = asyncio.run(run())
    return seconds, filed, len(data) / 1e6, start


class Memory:
    """Peak resident sizes of the importing process (``pid``, else this one's Python
    children) and of its workers together, sampled every 20 ms."""

    def __init__(self, pid: int | None = None) -> None:
        self.me = psutil.Process()
        self.pid = pid
        self.peak_import = 0
        self.peak_workers = 0

    async def sample(self) -> None:
        while True:
            for importing in self.me.children():
                with contextlib.suppress(psutil.Error):
                    if self.pid is not None and importing.pid != self.pid:
                        continue
                    if not importing.name().startswith("python"):
                        continue  # the embedded servers
                    own = importing.memory_info().rss
                    workers = sum(w.memory_info().rss for w in importing.children(recursive=True))
                    self.peak_import = max(self.peak_import, own)
                    self.peak_workers = max(self.peak_workers, workers)
            await asyncio.sleep(0.02)


async def upload_import(platform: Platform, register: Path, rows: int, copy: float) -> float:
    """(d): the register through intake's API; seconds from the upload to done."""
    intake = platform.procs["intake"]
    file_mb = register.stat().st_size / 1e6  # noqa: ASYNC240  # before the clock starts
    start_mb = psutil.Process(intake.pid).memory_info().rss / 1e6
    memory = Memory(intake.pid)
    sampling = asyncio.create_task(memory.sample())
    timeout = httpx.Timeout(30.0, read=1800.0, write=1800.0)
    headers = platform.auth_headers()
    try:
        async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
            t0 = time.perf_counter()
            # Streamed by httpx from the file, as damrong import sends it.
            with open(register, "rb") as f:  # noqa: ASYNC230
                r = await client.post(
                    f"{platform.url('intake')}/v1/imports", files={"file": ("r.csv", f)}
                )
            assert r.status_code == 202, r.text
            staged_s = time.perf_counter() - t0
            staged_mb = memory.peak_import / 1e6
            job_url = f"{platform.url('intake')}{r.headers['location']}"
            job = (await client.get(job_url)).json()
            while job["status"] not in ("done", "failed"):
                await asyncio.sleep(0.5)  # polled over HTTP, as the CLI does
                job = (await client.get(job_url)).json()
            done_s = time.perf_counter() - t0
    finally:
        sampling.cancel()
    assert job["status"] == "done" and job["result"]["filed"] == rows, job
    published_s = await wait_published(platform.database_url, t0)
    peak_mb = memory.peak_import / 1e6
    print("(d) the register sent to intake's POST /v1/imports, followed to done:")
    print(line("202 (upload, seal, header)", rows, staged_s, copy))
    print(line("done (upload to every row filed)", rows, done_s, copy))
    print(line("and every filing published", rows, published_s, copy))
    print(
        f"    memory: intake peaked at {peak_mb:.0f} MB resident, {peak_mb - start_mb:.0f} MB "
        f"above its {start_mb:.0f} MB before the upload ({staged_mb - start_mb:.0f} MB above "
        f"it until the 202; the file {file_mb:.0f} MB); its workers "
        f"{memory.peak_workers / 1e6:.0f} MB together at their peak"
    )
    return done_s


async def wait_published(dsn: str, t0: float, timeout: float = 1800) -> float:
    """Seconds from ``t0`` until intake's outbox holds nothing unpublished (its relay runs
    beside the filing, on the same cores)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "intake"})
    try:
        while await conn.fetchval("SELECT EXISTS (SELECT FROM outbox WHERE published_at IS NULL)"):
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(f"intake's outbox not published after {timeout} s")
            await asyncio.sleep(0.2)
        return time.perf_counter() - t0
    finally:
        await conn.close()


def line(label: str, rows: int, seconds: float, copy: float) -> str:
    rate = rows / seconds
    return f"  {label:<34} {seconds:7.2f} s {rate:9.0f} rows/s  {rate / copy:5.2f}x COPY"


async def main(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    data = generate(args.rows)
    print(
        f"generated {args.rows} rows, {len(data) / 1e6:.1f} MB CSV in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    services: list[str] | bool = ["intake", "status", "kpi"] if args.platform else False
    if args.upload and not args.platform:
        services = ["intake"]
    with tempfile.TemporaryDirectory(prefix="damrong-bench-import-") as tmp:
        async with Platform.for_tests(Path(tmp), services=services) as platform:
            admin = platform.database_url
            settings = bench_settings(admin)
            copy = await copy_rate(admin, args.rows)
            print(f"(a) PostgreSQL COPY into a plain table: {copy:.0f} rows/s")

            now = dt.datetime.now(dt.UTC)
            prepare_us: float | None = None
            if args.upload:
                pass  # (d) instead of (b)
            elif args.end_to_end_only:
                print("(b) import use case called on an asyncpg pool:")
            else:
                prepare_us = await split_measurement(admin, settings, data, now, args.rows, copy)

            register = Path(tmp) / "register.csv"
            register.write_bytes(data)
            del data  # the import process reads it from the file, as intake from its upload
            if args.upload:
                cpu_before = cpu_seconds(platform)
                e2e_s = await upload_import(platform, register, args.rows, copy)
            else:
                e2e_s, cpu_before, dsn = await import_in_process(
                    args, platform, register, now, copy
                )
                if args.relay and not args.platform:
                    await relay_alone(platform, dsn, args.rows)
                if not args.platform:
                    await database_share(dsn, args.rows, copy, prepare_us)
            await platform_tail(platform, args, e2e_s, copy, cpu_before)
    print(f"goal: end to end >= 0.5x COPY; 1M rows < 120 s (needs {1e6 / 120:.0f} rows/s)")


async def import_in_process(
    args: argparse.Namespace, platform: Platform, register: Path, now: dt.datetime, copy: float
) -> tuple[float, dict[str, float], str]:
    """(b)'s end-to-end import in a process of its own; its seconds, the CPU before, and
    the database it filed into."""
    admin = platform.database_url
    settings = bench_settings(admin)
    dsn = admin if args.platform else await fresh_database(admin, "bench_e2e")
    pool = await intake_pool(dsn)
    cpu_before = cpu_seconds(platform) | {"import (this process + workers)": own_cpu()}
    await pool.close()  # migrated; the import runs in a process of its own
    memory = Memory()
    sampling = asyncio.create_task(memory.sample())
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as one:
            ran = await asyncio.get_running_loop().run_in_executor(
                one, import_alone, register, dsn, settings, now, args.workers
            )
    finally:
        sampling.cancel()
    e2e_s, filed, file_mb, start_mb = ran
    peak_mb = memory.peak_import / 1e6
    assert filed == args.rows, filed
    workers = imports.default_workers(args.rows) if args.workers is None else args.workers
    print(line(f"end to end (import_file, {workers} workers)", args.rows, e2e_s, copy))
    print(
        f"    memory: the importing process peaked at {peak_mb:.0f} MB resident, "
        f"{peak_mb - start_mb:.0f} MB above what it held with the file read "
        f"({start_mb:.0f} MB, the file {file_mb:.0f} MB); its {workers} workers "
        f"{memory.peak_workers / 1e6:.0f} MB together at their peak"
    )
    return e2e_s, cpu_before, dsn


async def relay_alone(platform: Platform, dsn: str, rows: int) -> None:
    """(e): the outbox (b) filled in ``dsn``, published by an outbox relay alone in this
    process, to the embedded broker: records/s and this process's CPU per record."""
    settings = bench_settings(dsn).model_copy(
        update={"kafka_bootstrap_servers": platform.kafka_bootstrap}
    )
    pool = await create_pool(dsn, "intake", max_size=4)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    relay = OutboxRelay(
        pool,
        producer,
        name="intake",
        signer=RecordSigner(INTAKE_SOURCE, new_private_key()),
        prepare_broker=lambda: ensure_topics(settings),
    )
    try:
        cpu, t0 = own_cpu(), time.perf_counter()
        running = asyncio.create_task(relay.run())
        while relay.published < rows:
            if running.done():
                running.result()  # raises what stopped it
            await asyncio.sleep(0.05)
        seconds, cpu = time.perf_counter() - t0, own_cpu() - cpu
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    finally:
        await producer.stop()
        await pool.close()
    print(
        f"(e) intake's outbox relay alone published the {rows} filings: {seconds:.2f} s, "
        f"{rows / seconds:.0f} records/s, {cpu / rows * 1e6:.0f} µs of CPU a record"
    )


# What an import writes, parents first (complainants name their complaint).
IMPORT_TABLES = ("complaints", "complainants", "tracking_keys", "outbox", "import_identities")


async def database_share(dsn: str, rows: int, copy: float, prepare_us: float | None) -> None:
    """(f): the tables an import wrote in ``dsn``, emptied and written again by binary COPY
    (one table after the other, on one connection, so each second is one core's), and
    what the goal leaves for everything else."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "intake"})
    try:
        dumps = await floor.dump(conn, IMPORT_TABLES)
        counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in IMPORT_TABLES}
        assert counts["complaints"] == rows, counts
        await conn.execute(f"TRUNCATE {', '.join(IMPORT_TABLES)}")
        seconds = await floor.copy_again(conn, dumps)
        again = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in IMPORT_TABLES}
        assert again == counts, (again, counts)
    finally:
        await conn.close()
    total = sum(seconds.values())
    cores = psutil.cpu_count() or 1
    budget = cores / (0.5 * copy) * 1e6  # CPU µs a row on every core at 0.5x COPY
    db_us = total / rows * 1e6
    each = ", ".join(f"{t} {s:.2f} s ({counts[t]} rows)" for t, s in seconds.items())
    print("(f) the database's share alone: the import's rows written again by binary COPY,")
    print("    keys and indexes in place, nothing parsed, checked or encoded:")
    print(line("intake's tables, one core", rows, total, copy))
    print(f"    {each}")
    print(
        f"    at the goal (0.5x COPY) the {cores} cores have {budget:.1f} µs of CPU a row in "
        f"all; the database's share takes {db_us:.1f}, leaving {budget - db_us:.1f} µs a row "
        "for reading, checking, sealing, encrypting and encoding"
        + (f" (one process takes {prepare_us:.0f} µs a row for those)" if prepare_us else "")
    )


async def platform_tail(
    platform: Platform,
    args: argparse.Namespace,
    e2e_s: float,
    copy: float,
    cpu_before: dict[str, float],
) -> None:
    """(c): with ``--platform``, until kpi shows every case, and the CPU each part used."""
    if not args.platform:
        return
    kpi_s = await wait_kpi(platform.url("kpi"), args.rows, platform.auth_headers())
    print(f"(c) kpi /v1/kpi/progress shows every case {kpi_s:.1f} s after the import returned")
    print(line("import + published + projected", args.rows, e2e_s + kpi_s, copy))
    cpu_after = cpu_seconds(platform)
    if not args.upload:
        cpu_after["import (this process + workers)"] = own_cpu()
    print("    CPU per row during (c), µs (2 cores = 2 CPU-s per wall second):")
    for name, after in sorted(cpu_after.items()):
        used = after - cpu_before.get(name, 0.0)
        print(f"      {name:<32} {used / args.rows * 1e6:6.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument(
        "--platform",
        action="store_true",
        help="run intake, status and kpi and wait until kpi shows every case",
    )
    parser.add_argument(
        "--end-to-end-only",
        action="store_true",
        help="leave out the split measurement (parse, then writes; it holds every row)",
    )
    parser.add_argument(
        "--upload",
        action="store_true",
        help="send the register to the intake service's POST /v1/imports instead (d)",
    )
    parser.add_argument(
        "--relay",
        action="store_true",
        help="then publish the filings with intake's outbox relay alone, and time it (e)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes for import_file (default: its own choice)",
    )
    asyncio.run(main(parser.parse_args()))
