"""The console benchmark's pure parts: its register is what intake's import accepts and
what it claims, and its arithmetic reads wrk and combines calls as documented."""

from __future__ import annotations

import base64
import datetime as dt
import os

import pytest
from pydantic import SecretStr

from bench import console_report as report
from bench.console_load import make_register
from services.intake.backfill.domain.plan import check_columns
from services.intake.backfill.domain.prepare import prepare_chunk
from services.intake.backfill.domain.reader import read_table
from services.intake.pii.domain.keys import PiiKeys
from shared.config import Settings

TODAY = dt.date(2026, 12, 4)


def _keys() -> PiiKeys:
    def key() -> SecretStr:
        return SecretStr(base64.b64encode(os.urandom(32)).decode())

    settings = Settings(
        database_url="postgresql://bench@localhost/bench", pii_master_key=key(), pii_hash_key=key()
    )
    return PiiKeys.from_settings(settings)


def test_register_is_accepted_whole_by_the_import_and_counts_what_it_holds() -> None:
    register = make_register(3000, today=TODAY, busiest="5001", chunk_rows=1200)
    assert len(register.chunks) == 3
    assert register.by_district.most_common(1)[0][0] == "5001"
    assert sum(register.by_district.values()) == register.rows == 3000
    assert 0.05 * 3000 < register.open < 0.3 * 3000
    assert register.first_day == dt.date(2024, 10, 1)  # fiscal year 2568 began
    keys = _keys()
    now = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
    accepted, identities = 0, set()
    for chunk in register.chunks:
        table = read_table(chunk)
        check_columns(table)
        assert table.columns.ignored == []
        prepared = prepare_chunk(
            table.columns.columns,
            table.rows,
            range(1, len(table.rows) + 1),
            now=now,
            topic="events",
            keys=keys,
            correlation_id=None,
        )
        assert prepared.rejected == []
        accepted += len(prepared.accepted)
        identities |= {e.identity for e in prepared.accepted}
    assert accepted == len(identities) == 3000  # no row is a duplicate of another


def test_register_is_deterministic_for_a_seed_and_day() -> None:
    a = make_register(500, today=TODAY)
    assert a.chunks == make_register(500, today=TODAY).chunks
    assert a.chunks != make_register(500, today=TODAY, seed=1).chunks


def test_register_refuses_an_unknown_district() -> None:
    with pytest.raises(ValueError, match="9999"):
        make_register(10, today=TODAY, busiest="9999")


WRK_OUT = """Running 10s test @ http://127.0.0.1:8004/dashboard
  1 threads and 10 connections
BENCH requests=1200 duration_us=10000000 status=3 connect=0 read=1 write=0 timeout=0 \
p50=41000 p95=120500 p99=250000 max=400000
"""


def test_parse_reads_the_done_line() -> None:
    got = report.parse(WRK_OUT)
    assert got == report.Latency(1200, 120.0, 41.0, 120.5, 250.0, errors=4)


def test_parse_without_the_line_says_so() -> None:
    with pytest.raises(ValueError, match="BENCH"):
        report.parse("Running 10s test\n")


def test_baseline_combines_the_calls_as_the_page_makes_them() -> None:
    calls = {
        "a": report.Latency(100, 50.0, 10.0, 20.0, 30.0),
        "b": report.Latency(200, 80.0, 5.0, 40.0, 45.0, errors=1),
        "c": report.Latency(300, 90.0, 1.0, 2.0, 3.0),
    }
    seq = report.baseline(report.Seq(("a", "b")), calls)
    par = report.baseline(report.Par(("a", "b")), calls)
    assert (seq.p50_ms, seq.p95_ms, seq.p99_ms, seq.errors) == (15.0, 60.0, 75.0, 1)
    assert (par.p50_ms, par.p95_ms, par.p99_ms) == (10.0, 40.0, 45.0)
    # Together: a then c, beside b; the slowest branch at each percentile.
    nested = report.Seq((report.Par((report.Seq(("a", "c")), "b")), "c"))
    got = report.baseline(nested, calls)
    assert (got.p50_ms, got.p95_ms, got.p99_ms, got.errors) == (12.0, 42.0, 48.0, 1)
    assert report.leaves(nested) == ["a", "c", "b"]
    with pytest.raises(ValueError):
        report.baseline(report.Par(()), calls)


def test_a_page_passes_at_p95_within_300_ms_without_errors() -> None:
    api = report.Latency(100, 50.0, 10.0, 20.0, 30.0)
    ok = report.Row("p", report.Latency(100, 50.0, 30.0, 300.0, 400.0), [("a", api)], api)
    slow = report.Row("p", report.Latency(100, 50.0, 30.0, 300.1, 400.0), [("a", api)], api)
    failing = report.Row("p", report.Latency(100, 50.0, 30.0, 90.0, 90.0, 2), [("a", api)], api)
    missing = report.Row("p", None, [("a", api)], api)
    assert [r.passed for r in (ok, slow, failing, missing)] == [True, False, False, False]
    text = report.table([ok, missing])
    assert "pass" in text and "3.00" in text and "15.00" in text  # ratios at p50 and p95
    assert "no such page" in text


def test_median_over_rounds() -> None:
    runs = [report.Latency(n, n, n, n, n, 1) for n in (3, 1, 2)]
    assert report.median(runs) == report.Latency(2, 2.0, 2.0, 2.0, 2.0, 3)
