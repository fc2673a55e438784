"""`damrong` command line: `up` runs the whole platform locally, `demo` feeds it complaints,
`import` backfills a register file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="damrong",
    help="Event-sourced complaint platform for Thailand's Damrongtham Centers.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def up(
    demo: Annotated[
        int | None,
        typer.Option("--demo", min=1, help="After start-up, file this many demo complaints."),
    ] = None,
    health_timeout: Annotated[
        float, typer.Option("--health-timeout", help="Seconds to wait for each /healthz.")
    ] = 60.0,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="DAMRONG_DATA_DIR",
            help="Where the embedded database and logs live (default: ./.damrong).",
        ),
    ] = None,
) -> None:
    """Start PostgreSQL, the broker and the three services; Ctrl-C stops them all.

    Set DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS to use external ones instead of the embedded ones.
    """
    from shared.embedded.supervisor import run_platform  # keep `damrong --help` fast
    from shared.logs import configure

    configure("launcher")
    code = asyncio.run(run_platform(demo=demo, health_timeout=health_timeout, data_dir=data_dir))
    raise typer.Exit(code)


@app.command()
def demo(
    complaints: Annotated[
        int, typer.Option("--complaints", "-n", min=1, help="How many complaints to file.")
    ] = 50,
    intake_url: Annotated[str, typer.Option("--intake-url")] = "http://127.0.0.1:8001",
    status_url: Annotated[str, typer.Option("--status-url")] = "http://127.0.0.1:8002",
) -> None:
    """File demo complaints against a running platform (see `damrong up`)."""
    from shared.cli.demo import run_demo  # imported only when used: keeps --help fast

    run_demo(intake_url, status_url, complaints)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="A register as .csv or .xlsx")],
    intake_url: Annotated[str, typer.Option("--intake-url")] = "http://127.0.0.1:8001",
) -> None:
    """Backfill complaints from a register (CSV or Excel) through intake's API.

    Prints how many rows were filed, duplicates and rejected; rejected rows, with their
    reasons, go to <FILE stem>.rejected.csv beside it.  Importing again files nothing twice.
    """
    from rich.console import Console

    from shared.cli.importer import ImportFailed, run_import

    console = Console()
    try:
        run_import(file, intake_url, console)
    except (ImportFailed, OSError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None


kpi_app = typer.Typer(help="The kpi projection: rebuild it from the topic.", no_args_is_help=True)
app.add_typer(kpi_app, name="kpi")


@kpi_app.command("rebuild")
def kpi_rebuild(
    database_url: Annotated[
        str | None, typer.Option("--database-url", envvar="DATABASE_URL")] = None,
    bootstrap: Annotated[
        str | None, typer.Option("--bootstrap", envvar="KAFKA_BOOTSTRAP_SERVERS")] = None,
    keep_old: Annotated[bool, typer.Option("--keep-old", help="Keep the replaced schema.")] = False,
) -> None:
    """Rebuild every kpi projection from the beginning of the topic into fresh tables and
    switch over atomically once caught up; the running kpi service keeps answering."""
    from shared.cli.kpi import run_rebuild  # keep `damrong --help` fast

    run_rebuild(database_url, bootstrap, keep_old=keep_old)


if __name__ == "__main__":
    app()
