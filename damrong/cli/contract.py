"""`damrong contract write|check`: the published event contract in docs/events.

``shared.contract`` generates the documents from the models; this module supplies the wire
facts held outside the pure modules and compares or writes the files.  ``check`` exits 1
when a checked-in document differs from the generated one (CI runs the same comparison as
a unit test).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

contract_app = typer.Typer(
    help="The published event contract (AsyncAPI 3 and JSON Schemas in docs/events).",
    no_args_is_help=True,
)
DirOption = typer.Option("--dir", help="where the contract lives (default: docs/events)")
DEFAULT_DIR = Path("docs/events")


def generated() -> dict[str, str]:
    """The contract as generated now: relative path -> text."""
    from shared.config import DLQ_TOPIC, EVENTS_TOPIC
    from shared.contract import Wire, documents
    from shared.signed_records import PUBLISHES
    from shared.signing import SIGNATURE_HEADER

    return documents(Wire(EVENTS_TOPIC, DLQ_TOPIC, PUBLISHES, SIGNATURE_HEADER))


def stale(directory: Path) -> list[str]:
    """What differs between ``directory`` and the generated contract: files that are
    missing or differ, and schema files no event has any more (relative paths)."""
    from shared.contract import SCHEMA_DIR

    docs = generated()
    found = [
        path
        for path, text in docs.items()
        if not (directory / path).is_file() or (directory / path).read_text("utf-8") != text
    ]
    extra = sorted(
        f"{SCHEMA_DIR}/{p.name}"
        for p in (directory / SCHEMA_DIR).glob("*.json")
        if f"{SCHEMA_DIR}/{p.name}" not in docs
    )
    return sorted(found) + extra


@contract_app.command("write")
def write(directory: Annotated[Path, DirOption] = DEFAULT_DIR) -> None:
    """Write the AsyncAPI document and the JSON Schemas, removing schemas of no event."""
    from shared.contract import SCHEMA_DIR

    docs = generated()
    (directory / SCHEMA_DIR).mkdir(parents=True, exist_ok=True)
    for old in (directory / SCHEMA_DIR).glob("*.json"):
        if f"{SCHEMA_DIR}/{old.name}" not in docs:
            old.unlink()
            typer.echo(f"removed {directory / SCHEMA_DIR / old.name}")
    changed = 0
    for path, text in docs.items():
        target = directory / path
        if not target.is_file() or target.read_text("utf-8") != text:
            target.write_text(text, "utf-8")
            changed += 1
    typer.echo(f"{changed} of {len(docs)} files written to {directory}")


@contract_app.command("check")
def check(directory: Annotated[Path, DirOption] = DEFAULT_DIR) -> None:
    """Exit 1 if the checked-in contract differs from the generated one (naming each file)."""
    from shared.contract import REGENERATE

    differing = stale(directory)
    for path in differing:
        typer.echo(f"out of date: {directory / path}", err=True)
    if differing:
        typer.echo(f"regenerate with `{REGENERATE}`", err=True)
        raise typer.Exit(1)
    typer.echo(f"{directory}: the contract is up to date")
