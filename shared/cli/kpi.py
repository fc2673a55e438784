"""`damrong kpi rebuild`: the rebuild with a progress bar and a summary."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.config import Settings


def run_rebuild(database_url: str | None, bootstrap: str | None, *, keep_old: bool) -> None:
    """Run ``services.kpi.rebuild.rebuild`` against the given (else configured) servers."""
    from services.kpi.rebuild import rebuild

    overrides: dict[str, str] = {}
    if database_url:
        overrides["database_url"] = database_url
    if bootstrap:
        overrides["kafka_bootstrap_servers"] = bootstrap
    settings = Settings(**overrides)  # type: ignore[arg-type]
    console = Console()
    with Progress(TextColumn("rebuilding kpi"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("events", total=None)

        def progress(read: int, total: int | None) -> None:
            bar.update(task, completed=read, total=total)

        done = asyncio.run(rebuild(settings, keep_old=keep_old, progress=progress))
    console.print(f"rebuilt kpi: {done.events:,} events in {done.seconds:.1f} s "
                  f"({done.rate:,.0f} events/s); skipped {done.undecodable} undecodable, "
                  f"{done.refused} refused" + (f"; old tables kept in schema {done.old_schema}"
                                                if done.old_schema else ""))
