"""What `damrong audit` prints: lines for people, JSON Lines for machines.

Ids and hashes are always printed whole, at any terminal width and when the output is
captured (cron, CI, a pipe): each break is one line naming the case and version, with the
expected and found values on lines of their own, and nothing is soft-wrapped or cut to a
column.  With ``--json`` every line of standard output is one JSON object with a ``kind``:
``verify`` prints a ``break`` per break, then its ``totals``; ``replay`` one ``report``
whose ``report`` member is exactly what status answers at ``GET /v1/reports/cases``.
Messages (errors included) go to standard error, so the JSON stays parseable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from damrong.cli.audit import Audit, Replay


def audit_objects(audit: Audit) -> Iterator[dict[str, Any]]:
    """Each break, then the totals, as the JSON objects ``--json`` prints."""
    for where, b in audit.breaks:
        yield {
            "kind": "break",
            "where": where,
            "complaint_id": str(b.complaint_id),
            "version": b.version,
            "problem": b.problem,
            "expected": b.expected,
            "found": b.found,
            "detail": b.detail,
        }
    compared = "db" in audit.verdicts and "topic" in audit.verdicts
    yield {
        "kind": "totals",
        "sources": {
            where: {
                "cases": v.cases,
                "events": v.events,
                "breaks": len(v.breaks),
                "unchained": len(v.unchained),
            }
            for where, v in audit.verdicts.items()
        },
        "undecodable": audit.undecodable,
        "forged": len(audit.forged),
        "copies_differ": len(audit.copies) if compared else None,
        "breaks": len(audit.breaks),
    }


def print_json_lines(objects: Iterator[dict[str, Any]], out: TextIO) -> None:
    for obj in objects:
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    out.flush()


def _line(console: Console, text: str) -> None:
    # Data, not markup (a detail may hold brackets), and never wrapped at the width.
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def print_audit(audit: Audit, console: Console) -> None:
    for where, verdict in audit.verdicts.items():
        _line(
            console,
            f"{where}: {verdict.cases:,} cases, {verdict.events:,} events, "
            f"{len(verdict.breaks)} breaks, {len(verdict.unchained)} unchained",
        )
        if verdict.unchained:
            cases = len({cid for cid, _v in verdict.unchained})
            console.print(
                f"  [yellow]{len(verdict.unchained)} events of {cases} cases "
                "were stored before hash chaining (unchained): their content is "
                "only protected by the events that follow them[/]"
            )
    if audit.undecodable:
        _line(console, f"topic: {audit.undecodable} records are not damrong events (skipped)")
    if audit.forged:
        console.print(
            f"[red]topic: {len(audit.forged)} records are not signed by the key "
            "of the source they claim (skipped, listed as breaks)[/]"
        )
    if "db" in audit.verdicts and "topic" in audit.verdicts:
        _line(console, f"database vs topic: {len(audit.copies)} differences")
    breaks = audit.breaks
    if not breaks:
        console.print("[green]every chain holds[/]")
        return
    console.print(f"[red]{len(breaks)} breaks[/] (where, case, version, problem):")
    for where, b in breaks:
        _line(
            console,
            f"{where}  {b.complaint_id}  v{b.version}  {b.problem}"
            + (f": {b.detail}" if b.detail else ""),
        )
        if b.expected is not None:
            _line(console, f"    expected {b.expected}")
        if b.found is not None:
            _line(console, f"    found    {b.found}")


def replay_object(result: Replay) -> dict[str, Any]:
    """The JSON object ``replay --json`` prints."""
    return {
        "kind": "report",
        "report": result.report.as_dict(),
        "records": result.records,
        "undecodable": result.undecodable,
        "forged": result.forged,
    }


def print_replay(result: Replay, console: Console) -> None:
    r = result.report
    _line(
        console,
        f"district {r.district_code}, received {r.date_from} .. {r.date_to} "
        f"(Bangkok), replayed from {result.records:,} records "
        f"({result.undecodable} undecodable and {result.forged} unsigned or "
        "forged skipped)",
    )
    console.print(
        f"cases: {r.cases:,}  open: {r.open:,}  closed: {r.closed:,}"
        + (f"  [red]inconsistent: {r.inconsistent}[/]" if r.inconsistent else "")
    )
    for title, counts in (
        ("cases by status", r.by_status),
        ("transitions", r.transitions),
        ("closures by reason", r.closures),
    ):
        table = Table(title, "count", title=title)
        for name, n in counts.items():
            table.add_row(name, f"{n:,}")
        console.print(table)
