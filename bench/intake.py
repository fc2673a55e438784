"""Intake throughput against a bare FastAPI + one-INSERT baseline, and KPI catch-up time.

    .venv/bin/python bench/intake.py [--seconds 10] [--rounds 3] [--connections 32]

Starts the whole platform embedded (PostgreSQL, broker, the three services) on free ports,
plus the baseline app on the same PostgreSQL server.  Each round drives the baseline, then
intake, with wrk for the same time and connection count, and after each intake round
measures how long after wrk's last response the KPI summary counts every filed complaint.
Prints each round and the medians; the ratio is intake/baseline throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import wrk  # noqa: E402
from damrong.embedded._proc import free_port  # noqa: E402
from damrong.embedded.platform import Platform  # noqa: E402
from shared.thai_calendar import fiscal_year  # noqa: E402

DISTRICTS = ["1001", "1030", "5001", "5003", "4001", "4901", "8301", "9001", "3401", "2001"]


async def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as c:
        while True:
            try:
                await c.get(url)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


def cpu_seconds(platform: Platform) -> dict[str, float]:
    """CPU time used so far by each part of the platform (PostgreSQL with its backends)."""
    roots = {name: proc.pid for name, proc in platform.procs.items()}
    if platform.pg and platform.pg.proc:
        roots["postgres"] = platform.pg.proc.pid
    if platform.broker and platform.broker.proc:
        roots["broker"] = platform.broker.proc.pid
    out: dict[str, float] = {}
    for name, pid in roots.items():
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        total = 0.0
        for proc in procs:
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        out[name] = total
    return out


async def kpi_catch_up(
    kpi_url: str, dsn: str, fy: int, t_end: float, headers: dict[str, str]
) -> tuple[float, int]:
    """Seconds from ``t_end`` until the KPI summary counts every complaint intake holds."""
    conn = await asyncpg.connect(dsn)
    try:
        filed = await conn.fetchval("SELECT count(*) FROM intake.complaints")
    finally:
        await conn.close()
    async with httpx.AsyncClient(headers=headers) as c:
        while True:
            r = await c.get(f"{kpi_url}/v1/kpi/summary", params={"fiscal_year": fy})
            if r.status_code == 200 and r.json()["received"] >= filed:
                return time.monotonic() - t_end, filed
            await asyncio.sleep(0.005)


async def main(args: argparse.Namespace) -> None:
    fy = fiscal_year(dt.datetime.now(dt.UTC))
    with tempfile.TemporaryDirectory(prefix="damrong-bench-") as tmp:
        async with Platform.for_tests(Path(tmp)) as platform:
            port = free_port()
            baseline = await asyncio.create_subprocess_exec(
                sys.executable,
                str(ROOT / "bench" / "baseline_app.py"),
                str(port),
                platform.database_url,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                base_url = f"http://127.0.0.1:{port}"
                await wait_http(base_url + "/docs")
                intake_url = platform.url("intake") + "/"
                auth = platform.auth_headers()  # intake checks a bearer token per request
                print(
                    f"load: wrk, 1 thread, {args.connections} connections, {args.seconds} s per "
                    f"run, {args.rounds} rounds; server and load share this machine's cores"
                )
                for url, headers in ((base_url + "/", None), (intake_url, auth)):
                    wrk.run(
                        url, DISTRICTS, seconds=2, connections=args.connections, headers=headers
                    )  # warm-up
                base, intake, lags = [], [], []
                cpu: dict[str, list[float]] = {}
                for i in range(args.rounds):
                    b = wrk.run(
                        base_url + "/",
                        DISTRICTS,
                        seconds=args.seconds,
                        connections=args.connections,
                    )
                    before = cpu_seconds(platform)
                    r = wrk.run(
                        intake_url,
                        DISTRICTS,
                        seconds=args.seconds,
                        connections=args.connections,
                        headers=auth,
                    )
                    t_end = time.monotonic()
                    lag, filed = await kpi_catch_up(
                        platform.url("kpi"), platform.database_url, fy, t_end, auth
                    )
                    after = cpu_seconds(platform)
                    for name in after:
                        used = after[name] - before.get(name, 0.0)
                        cpu.setdefault(name, []).append(used / max(r.requests, 1) * 1e6)
                    base.append(b)
                    intake.append(r)
                    lags.append(lag)
                    print(f"round {i + 1}: " + b.line("baseline"))
                    print(
                        "         "
                        + r.line("intake")
                        + f"  KPI caught up {lag * 1000:.0f} ms after the last response "
                        f"({filed} complaints in total)"
                    )
            finally:
                baseline.terminate()
                await baseline.wait()
    if not base:
        return
    med_b = statistics.median(x.rps for x in base)
    med_i = statistics.median(x.rps for x in intake)
    print()
    print(
        f"median baseline {med_b:.0f} req/s (p99 {statistics.median(x.p99_ms for x in base):.1f}"
        f" ms); intake {med_i:.0f} req/s (p50 {statistics.median(x.p50_ms for x in intake):.1f}"
        f" ms, p99 {statistics.median(x.p99_ms for x in intake):.1f} ms)"
    )
    print(f"ratio intake/baseline: {med_i / med_b:.2f}  (target >= 0.80)")
    print(
        f"KPI catch-up after last 201: median {statistics.median(lags) * 1000:.0f} ms, "
        f"max {max(lags) * 1000:.0f} ms  (target <= 1000 ms)"
    )
    print("CPU per filed complaint across the platform (median µs; includes consuming it):")
    for name, values in sorted(cpu.items()):
        print(f"  {name:<9} {statistics.median(values):7.0f} µs")
    print(
        f"  {'total':<9} {sum(statistics.median(v) for v in cpu.values()):7.0f} µs "
        f"on {psutil.cpu_count()} cores"
    )
    errors = sum(x.errors for x in intake)
    if errors:
        print(f"WARNING: intake answered {errors} requests with errors")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    asyncio.run(main(parser.parse_args()))
