"""`damrong kpi rebuild`: the rebuild with a progress bar and a summary."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from damrong.cli.local import local_servers
from damrong.cli.tokens import data_dir_of
from damrong.embedded.event_keys import reader_settings
from shared.config import Settings
from shared.signed_records import SigningNotConfigured, verifier_from_settings


def run_rebuild(
    database_url: str | None, bootstrap: str | None, *, keep_old: bool, data_dir: Path | None = None
) -> None:
    """Run ``services.kpi.rebuild.rebuild`` against the given (else configured) servers,
    checking signatures with EVENT_PUBLIC_KEYS (else the local platform's keys)."""
    from services.kpi.rebuild.usecases import rebuild

    overrides: dict[str, object] = {
        **local_servers(os.environ),
        **reader_settings(os.environ, data_dir_of(data_dir)),
    }
    if database_url:
        overrides["database_url"] = database_url
    if bootstrap:
        overrides["kafka_bootstrap_servers"] = bootstrap
    # Values of several types, from the environment's text: pydantic validates them.
    settings = Settings(**overrides)  # type: ignore[arg-type]
    console = Console()
    try:
        verifier_from_settings(settings)
    except SigningNotConfigured as exc:
        console.print(f"[red]{exc} (a local platform's: --data-dir)[/]")
        raise typer.Exit(2) from None
    with Progress(
        TextColumn("rebuilding kpi"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("events", total=None)

        def progress(read: int, total: int | None) -> None:
            bar.update(task, completed=read, total=total)

        done = asyncio.run(rebuild(settings, keep_old=keep_old, progress=progress))
    kept = f"; old tables kept in schema {done.old_schema}" if done.old_schema else ""
    console.print(
        f"rebuilt kpi: {done.events:,} events in {done.seconds:.1f} s "
        f"({done.rate:,.0f} events/s); skipped {done.undecodable} undecodable or "
        f"unsigned, {done.refused} refused{kept}"
    )


def run_reindex(database_url: str | None) -> None:
    """Run ``services.kpi.rebuild.reindex`` against the given (else configured) database,
    printing each index's size before and after."""
    from services.kpi.rebuild.usecases import Reindexed, reindex

    overrides: dict[str, object] = dict(local_servers(os.environ))
    if database_url:
        overrides["database_url"] = database_url
    settings = Settings(**overrides)  # type: ignore[arg-type]
    console = Console()

    def done(r: Reindexed) -> None:
        console.print(f"{r.index:<40} {r.before / 1e6:9.1f} MB -> {r.after / 1e6:9.1f} MB")

    rebuilt = asyncio.run(reindex(settings, done=done))
    if not rebuilt:
        console.print("[red]no kpi tables in this database: is DATABASE_URL kpi's?[/]")
        raise typer.Exit(1)
    before, after = sum(r.before for r in rebuilt), sum(r.after for r in rebuilt)
    console.print(
        f"rebuilt {len(rebuilt)} kpi indexes: {before / 1e6:,.1f} MB -> {after / 1e6:,.1f} MB"
    )
