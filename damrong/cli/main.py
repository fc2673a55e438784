"""`damrong` command line: `up` runs the whole platform locally, `demo` feeds it complaints,
`import` backfills a register file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

TokenOption = typer.Option(
    "--token",
    envvar="DAMRONG_TOKEN",
    help="bearer token to send (default: an admin token from the local platform's secret)",
)
DataDirOption = typer.Option(
    "--data-dir",
    envvar="DAMRONG_DATA_DIR",
    help="the local platform's data dir (default: ./.damrong)",
)

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
    from damrong.embedded.supervisor import run_platform  # keep `damrong --help` fast
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
    token: Annotated[str | None, TokenOption] = None,
    data_dir: Annotated[Path | None, DataDirOption] = None,
) -> None:
    """File demo complaints against a running platform (see `damrong up`)."""
    from damrong.cli.demo import run_demo  # imported only when used: keeps --help fast

    run_demo(intake_url, status_url, complaints, _client_token(token, data_dir))


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="A register as .csv or .xlsx"
        ),
    ],
    intake_url: Annotated[str, typer.Option("--intake-url")] = "http://127.0.0.1:8001",
    token: Annotated[str | None, TokenOption] = None,
    data_dir: Annotated[Path | None, DataDirOption] = None,
) -> None:
    """Backfill complaints from a register (CSV or Excel) through intake's API.

    Shows the upload, then the rows as intake files them (the import is a job at intake:
    it survives a restart of intake), then how many rows were filed, duplicates and
    rejected; rejected rows, with their reasons, go to <FILE stem>.rejected.csv beside it.
    Importing again files nothing twice.
    """
    from rich.console import Console

    from damrong.cli.importer import ImportFailed, run_import

    console = Console()
    try:
        run_import(file, intake_url, console, _client_token(token, data_dir))
    except (ImportFailed, OSError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None


@app.command()
def token(
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="channel, district_officer, "
            "provincial_officer, national_supervisor, auditor, admin",
        ),
    ] = "admin",
    subject: Annotated[str | None, typer.Option("--subject", help="default: dev-<role>")] = None,
    district: Annotated[
        str | None, typer.Option("--district", help="4-digit code (district_officer)")
    ] = None,
    province: Annotated[
        str | None, typer.Option("--province", help="2-digit code (provincial_officer)")
    ] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="channel code (channel)")] = None,
    grant: Annotated[list[str] | None, typer.Option("--grant", help="e.g. pii_reader")] = None,
    ttl: Annotated[str, typer.Option("--ttl", help="lifetime: 90s, 30m, 8h, 7d")] = "8h",
    data_dir: Annotated[Path | None, DataDirOption] = None,
) -> None:
    """Print a development token signed with the local platform's secret."""
    from damrong.cli.tokens import issue
    from damrong.embedded.auth_secret import NoSecret
    from shared.auth.principal import Role

    try:
        print(
            issue(
                role=Role(role),
                subject=subject,
                district=district,
                province=province,
                channel=channel,
                grants=grant or [],
                ttl=ttl,
                data_dir=data_dir,
            )
        )
    except (ValueError, NoSecret) as exc:
        typer.echo(f"damrong token: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("login-link")
def login_link(
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="district_officer, provincial_officer, national_supervisor, auditor, admin",
        ),
    ] = "admin",
    subject: Annotated[str | None, typer.Option("--subject", help="default: dev-<role>")] = None,
    district: Annotated[
        str | None, typer.Option("--district", help="4-digit code (district_officer)")
    ] = None,
    province: Annotated[
        str | None, typer.Option("--province", help="2-digit code (provincial_officer)")
    ] = None,
    grant: Annotated[list[str] | None, typer.Option("--grant", help="e.g. pii_reader")] = None,
    ttl: Annotated[str, typer.Option("--ttl", help="how long it may wait: 15m, 1h")] = "15m",
    data_dir: Annotated[Path | None, DataDirOption] = None,
) -> None:
    """Print a one-time sign-in link to the console (it works once, until it expires)."""
    from damrong.cli.tokens import login_link as make_login_link
    from damrong.cli.tokens import principal_of
    from damrong.embedded.auth_secret import NoSecret
    from shared.auth.principal import Role

    try:
        principal = principal_of(
            role=Role(role), subject=subject, district=district, province=province, grants=grant
        )
        print(make_login_link(principal, data_dir, ttl))
    except (ValueError, NoSecret) as exc:
        typer.echo(f"damrong login-link: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def apikey(
    channel: Annotated[str, typer.Option("--channel", help="the channel the key files for")],
) -> None:
    """Print a new API key for a channel system, and its AUTH_API_KEYS entry (the hash)."""
    from damrong.cli.tokens import CliAuthError, api_key_line

    try:
        key, line = api_key_line(channel)
    except CliAuthError as exc:
        typer.echo(f"damrong apikey: {exc}", err=True)
        raise typer.Exit(2) from None
    print(f"key (give to the channel system, shown once): {key}")
    print(f"AUTH_API_KEYS entry: {{{line}}}")


def _client_token(token: str | None, data_dir: Path | None) -> str:
    from damrong.cli.tokens import CliAuthError, client_token
    from damrong.embedded.auth_secret import NoSecret

    try:
        return client_token(token, data_dir)
    except (CliAuthError, NoSecret) as exc:
        typer.echo(f"{exc} (or pass --token / set DAMRONG_TOKEN)", err=True)
        raise typer.Exit(2) from None


kpi_app = typer.Typer(
    help="The kpi projection: rebuild it from the topic, or rebuild its indexes.",
    no_args_is_help=True,
)
app.add_typer(kpi_app, name="kpi")


@kpi_app.command("rebuild")
def kpi_rebuild(
    database_url: Annotated[
        str | None, typer.Option("--database-url", envvar="DATABASE_URL")
    ] = None,
    bootstrap: Annotated[
        str | None, typer.Option("--bootstrap", envvar="KAFKA_BOOTSTRAP_SERVERS")
    ] = None,
    keep_old: Annotated[bool, typer.Option("--keep-old", help="Keep the replaced schema.")] = False,
    data_dir: Annotated[Path | None, DataDirOption] = None,
) -> None:
    """Rebuild every kpi projection from the beginning of the topic into fresh tables and
    switch over atomically once caught up; the running kpi service keeps answering."""
    from damrong.cli.kpi import run_rebuild  # keep `damrong --help` fast

    run_rebuild(database_url, bootstrap, keep_old=keep_old, data_dir=data_dir)


@kpi_app.command("reindex")
def kpi_reindex(
    database_url: Annotated[
        str | None, typer.Option("--database-url", envvar="DATABASE_URL")
    ] = None,
) -> None:
    """Rebuild the indexes of the tables the live consumer updates (they grow sparse, and
    national answers slow down), CONCURRENTLY: the running kpi service keeps answering and
    applying events.  Run it weekly (deploy/k8s: the CronJob kpi-reindex)."""
    from damrong.cli.kpi import run_reindex  # keep `damrong --help` fast

    run_reindex(database_url)


@app.command("signing-key")
def signing_key(
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="the CloudEvents source it signs for: /damrong/intake or /damrong/status",
        ),
    ],
) -> None:
    """Print a new event signing key (EVENT_SIGNING_KEY of the service publishing as
    SOURCE) and its EVENT_PUBLIC_KEYS entry."""
    import json

    from shared.signing import new_private_key, public_key_of

    private = new_private_key()
    print(f"EVENT_SIGNING_KEY (the service's secret): {private}")
    print(f"EVENT_PUBLIC_KEYS entry: {json.dumps({source: public_key_of(private)})[1:-1]}")


from damrong.cli.dlq_commands import dlq_app  # noqa: E402  (imports only typer at load)

app.add_typer(dlq_app, name="dlq")

from damrong.cli.contract import contract_app  # noqa: E402  (imports only typer at load)

app.add_typer(contract_app, name="contract")

complainant_app = typer.Typer(help="Complainants' personal data (PDPA).", no_args_is_help=True)
app.add_typer(complainant_app, name="complainant")


@complainant_app.command("erase")
def complainant_erase(
    ref: Annotated[str, typer.Argument(help="the complainant ref given when filing")],
    intake_url: Annotated[str, typer.Option("--intake-url")] = "http://127.0.0.1:8001",
    token: Annotated[str | None, TokenOption] = None,
    data_dir: Annotated[Path | None, DataDirOption] = None,
) -> None:
    """Erase a complainant: their data key is destroyed, so their identity can never be
    read again (the case, its history and the KPIs stay).  Erasing twice is harmless."""
    from damrong.cli.complainants import PiiCommandFailed, erase

    try:
        typer.echo(erase(ref, intake_url, _client_token(token, data_dir)))
    except PiiCommandFailed as exc:
        typer.echo(f"damrong complainant erase: {exc}", err=True)
        raise typer.Exit(1) from None


@complainant_app.command("rewrap")
def complainant_rewrap(
    database_url: Annotated[str, typer.Option("--database-url", envvar="DATABASE_URL")],
) -> None:
    """After a master key rotation (new PII_MASTER_KEY, the old one in
    PII_RETIRED_MASTER_KEYS): wrap every complainant's key under the new one.  Then the old
    master key can be destroyed, and backups older than this are unreadable."""
    from damrong.cli.complainants import PiiCommandFailed, rewrap

    try:
        typer.echo(rewrap(database_url))
    except PiiCommandFailed as exc:
        typer.echo(f"damrong complainant rewrap: {exc}", err=True)
        raise typer.Exit(1) from None


audit_app = typer.Typer(help="Audit the event log: hash chains and replays.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
DatabaseOption = typer.Option("--database-url", envvar="DATABASE_URL")
BootstrapOption = typer.Option("--bootstrap", envvar="KAFKA_BOOTSTRAP_SERVERS")
TopicOption = typer.Option("--topic", envvar="EVENTS_TOPIC", help="default: complaints.events")


@audit_app.command("verify")
def audit_verify(
    district: Annotated[
        str | None, typer.Option("--district", help="only this district's cases (4-digit code)")
    ] = None,
    source: Annotated[str, typer.Option("--source", help="db, kafka or both")] = "both",
    database_url: Annotated[str | None, DatabaseOption] = None,
    bootstrap: Annotated[str | None, BootstrapOption] = None,
    topic: Annotated[str | None, TopicOption] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON Lines: one object per break, then the totals")
    ] = False,
    data_dir: Annotated[Path | None, DataDirOption] = None,
) -> None:
    """Recompute every case's hash chain from status's database and from the topic, and
    compare the two copies.  Lists each break (case, version, what differs; ids and hashes
    whole).  Exit code 0: every chain holds; 1: some break; 2: the database or broker
    cannot be read."""
    from damrong.cli.audit import Source, run_verify, settings_for

    if source not in {s.value for s in Source}:
        raise typer.BadParameter("db, kafka or both", param_hint="--source")
    raise typer.Exit(
        run_verify(
            settings_for(database_url, bootstrap, topic, data_dir),
            district,
            Source(source),
            as_json=as_json,
        )
    )


@audit_app.command("replay")
def audit_replay(
    district: Annotated[str, typer.Option("--district", help="4-digit district code")],
    date_from: Annotated[
        str, typer.Option("--from", help="first day received, YYYY-MM-DD (Bangkok)")
    ],
    date_to: Annotated[str, typer.Option("--to", help="last day received, YYYY-MM-DD")],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="one JSON line: the report (as the live endpoint answers it) and the counts",
        ),
    ] = False,
    bootstrap: Annotated[str | None, BootstrapOption] = None,
    topic: Annotated[str | None, TopicOption] = None,
    data_dir: Annotated[Path | None, DataDirOption] = None,
) -> None:
    """Rebuild a district's cases received in a period from the topic alone and print the
    report (cases, transitions, closures by reason, open/closed by status) that status
    answers live at GET /v1/reports/cases.  Exit code 0; 1: some case's events do not
    fold; 2: the broker cannot be read."""
    import datetime as dt

    from damrong.cli.audit import run_replay, settings_for

    try:
        first, last = dt.date.fromisoformat(date_from), dt.date.fromisoformat(date_to)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc} (expected YYYY-MM-DD)") from None
    if last < first:
        raise typer.BadParameter("--to is before --from")
    raise typer.Exit(
        run_replay(
            settings_for(None, bootstrap, topic, data_dir), district, first, last, as_json=as_json
        )
    )


if __name__ == "__main__":
    app()
