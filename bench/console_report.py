"""The console benchmark's arithmetic and tables (pure: no I/O).

wrk runs one URL at a time with ``DONE_LUA``, which prints one ``BENCH`` line of counts and
latency percentiles (µs) from wrk's own histogram; ``parse`` reads it.  A page's API
baseline is its backend calls measured alone at the same load, combined as the page makes
them (``Plan``): calls made one after another add their latencies, calls made together
count as the slowest (``baseline``).  ``ratio`` is page / baseline, the console's overhead.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# wrk's done() hook: percentiles straight from its latency histogram (µs), and the errors.
DONE_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d status=%d connect=%d read=%d write=%d timeout=%d " ..
    "p50=%d p95=%d p99=%d max=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""
_LINE = re.compile(r"^BENCH (.*)$", re.MULTILINE)
TARGET_P95_MS = 300.0


@dataclass(frozen=True)
class Latency:
    """One wrk run (or a baseline made of several): milliseconds, requests per second."""

    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int = 0


def parse(output: str) -> Latency:
    """The ``BENCH`` line that ``DONE_LUA`` printed; ValueError if there is none."""
    m = _LINE.search(output)
    if m is None:
        raise ValueError(f"no BENCH line in wrk's output:\n{output}")
    v = {k: int(n) for k, n in (pair.split("=", 1) for pair in m.group(1).split())}
    seconds = v["duration_us"] / 1e6
    errors = sum(v[k] for k in ("status", "connect", "read", "write", "timeout"))
    return Latency(
        requests=v["requests"],
        rps=v["requests"] / seconds if seconds > 0 else 0.0,
        p50_ms=v["p50"] / 1000,
        p95_ms=v["p95"] / 1000,
        p99_ms=v["p99"] / 1000,
        errors=errors,
    )


@dataclass(frozen=True)
class Seq:
    """Parts a page waits for one after another: their latencies add up."""

    parts: tuple[Plan, ...]


@dataclass(frozen=True)
class Par:
    """Parts a page makes together (``asyncio.gather``): the slowest counts."""

    parts: tuple[Plan, ...]


# How a page makes its calls: a call's name, or calls in sequence or together.
Plan = str | Seq | Par


def leaves(plan: Plan) -> list[str]:
    """The calls of a plan, each once, in order of first appearance."""
    if isinstance(plan, str):
        return [plan]
    out: list[str] = []
    for part in plan.parts:
        out += [name for name in leaves(part) if name not in out]
    return out


def baseline(plan: Plan, calls: Mapping[str, Latency]) -> Latency:
    """What the page's calls cost when made directly, as the page makes them: sequences
    add, parallel parts take the slowest, percentile by percentile.  A sum of p95s bounds
    the p95 of the sums from above, so the page's ratio at p95 is, if anything, low."""
    if isinstance(plan, str):
        return calls[plan]
    if not plan.parts:
        raise ValueError("a plan needs at least one call")
    parts = [baseline(p, calls) for p in plan.parts]
    pick = max if isinstance(plan, Par) else sum
    return Latency(
        requests=min(c.requests for c in parts),
        rps=min(c.rps for c in parts),
        p50_ms=pick(c.p50_ms for c in parts),
        p95_ms=pick(c.p95_ms for c in parts),
        p99_ms=pick(c.p99_ms for c in parts),
        errors=sum(calls[name].errors for name in leaves(plan)),
    )


def median(runs: Sequence[Latency]) -> Latency:
    """Each figure's median over rounds (errors: the total)."""
    return Latency(
        requests=int(statistics.median(r.requests for r in runs)),
        rps=statistics.median(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p95_ms=statistics.median(r.p95_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        errors=sum(r.errors for r in runs),
    )


def ratio(page: float, api: float) -> float | None:
    return page / api if api > 0 else None


@dataclass(frozen=True)
class Row:
    """A page's figures with its API calls' (each and combined); ``page`` None: the
    console does not serve that page (yet), only its calls were measured."""

    name: str
    page: Latency | None
    calls: list[tuple[str, Latency]]
    api: Latency

    @property
    def passed(self) -> bool:
        return self.page is not None and self.page.p95_ms <= TARGET_P95_MS and self.page.errors == 0


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def table(rows: Sequence[Row]) -> str:
    """One line per page (p50/p95/p99, req/s, page/API ratios at p50 and p95, pass or
    fail at p95 <= 300 ms) and one indented line per API call under it."""
    width = max([38, *(len(r.name) for r in rows), *(len(n) + 2 for r in rows for n, _ in r.calls)])
    lines = [
        f"{'':<{width}} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7} "
        f"{'errors':>6} {'x p50':>6} {'x p95':>6}  p95<=300"
    ]

    def figures(x: Latency) -> str:
        return f"{x.p50_ms:8.1f} {x.p95_ms:8.1f} {x.p99_ms:8.1f} {x.rps:7.1f} {x.errors:6d}"

    for row in rows:
        p, a = row.page, row.api
        if p is None:
            lines.append(f"{row.name:<{width}} (no such page yet: its calls alone)")
        else:
            lines.append(
                f"{row.name:<{width}} {figures(p)} {_fmt(ratio(p.p50_ms, a.p50_ms)):>6} "
                f"{_fmt(ratio(p.p95_ms, a.p95_ms)):>6}  {'pass' if row.passed else 'FAIL'}"
            )
        lines.extend(f"  {name:<{width - 2}} {figures(c)}" for name, c in row.calls)
        if len(row.calls) > 1:
            lines.append(
                f"  {'= API baseline (as the page calls)':<{width - 2}} "
                f"{a.p50_ms:8.1f} {a.p95_ms:8.1f} {a.p99_ms:8.1f}"
            )
    return "\n".join(lines)
