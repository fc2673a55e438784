"""`damrong dlq list | show | replay`: the operator's view of the dead-letter topic.

Reads the broker directly (its credentials are the access control), found as the other
commands find it: KAFKA_BOOTSTRAP_SERVERS when set, else the local platform's embedded
broker (DAMRONG_KAFKA_PORT).  Lines for people, or JSON Lines with ``--json``; ids,
errors and payloads are printed whole.  Payloads carry no personal data (events never do).

Exit codes: 0 done; 1 nothing done (a bad filter, no such dead letter); 2 the broker
cannot be reached or a topic is missing.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import sys
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., None])

dlq_app = typer.Typer(
    help="The dead-letter topic (complaints.events.dlq): list, show and replay what the "
    "consumers refused.  Exit codes: 0 done; 1 nothing done (bad filter, no such "
    "dead letter); 2 broker unreachable or topic missing.",
    no_args_is_help=True,
)


def _command(name: str) -> Callable[[F], F]:
    """``dlq_app.command(name)`` with the docstring's paragraphs as the help, each
    reflowed to the terminal (the help would keep the source's line breaks)."""

    def register(fn: F) -> F:
        paragraphs = inspect.cleandoc(fn.__doc__ or "").split("\n\n")
        dlq_app.command(name, help="\n\n".join(" ".join(p.split()) for p in paragraphs))(fn)
        return fn

    return register


Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap", envvar="KAFKA_BOOTSTRAP_SERVERS", help="default: the local platform's broker"
    ),
]
Topic = Annotated[
    str | None, typer.Option("--topic", envvar="EVENTS_TOPIC", help="default: complaints.events")
]
DlqTopic = Annotated[
    str | None,
    typer.Option("--dlq-topic", envvar="DLQ_TOPIC", help="default: complaints.events.dlq"),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="DAMRONG_DATA_DIR",
        help="the local platform's data dir, for its event public keys (default: ./.damrong)",
    ),
]
Error = Annotated[str | None, typer.Option("--error", help="error text contains this (any case)")]
Case = Annotated[str | None, typer.Option("--case", help="complaint id")]
Group = Annotated[str | None, typer.Option("--group", help="consumer group, e.g. damrong-kpi")]
Since = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="dead-lettered at or after: YYYY-MM-DD or an ISO time (Bangkok unless it has a zone)",
    ),
]
Until = Annotated[
    str | None, typer.Option("--until", help="dead-lettered at or before (a date: to its end)")
]
At = Annotated[
    list[str] | None,
    typer.Option("--at", help="only this dead letter: PARTITION/OFFSET or OFFSET (repeatable)"),
]
Json = Annotated[bool, typer.Option("--json", help="JSON Lines for machines")]


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"damrong dlq: {message}", err=True)
    return typer.Exit(code)


def _settings(
    bootstrap: str | None, topic: str | None, dlq_topic: str | None, data_dir: Path | None
) -> Any:
    from damrong.cli.local import local_servers
    from damrong.cli.tokens import data_dir_of
    from damrong.embedded.event_keys import reader_settings
    from shared.config import Settings

    overrides: dict[str, Any] = {
        k: v for k, v in local_servers(os.environ).items() if k == "kafka_bootstrap_servers"
    }
    overrides.update(
        {
            k: v
            for k, v in (
                ("kafka_bootstrap_servers", bootstrap),
                ("events_topic", topic),
                ("dlq_topic", dlq_topic),
            )
            if v
        }
    )
    overrides.update(reader_settings(os.environ, data_dir_of(data_dir)))
    return Settings(**overrides)


def _filters(
    error: str | None,
    case: str | None,
    group: str | None,
    since: str | None,
    until: str | None,
    at: list[str] | None,
) -> Any:
    from damrong.cli.dlq import Filters, Position, parse_moment

    try:
        complaint = uuid.UUID(case) if case else None
    except ValueError:
        raise _fail(f"--case {case!r} is not a complaint id", 1) from None
    try:
        return Filters(
            error=error,
            case=complaint,
            group=group,
            since=parse_moment(since) if since else None,
            until=parse_moment(until, end=True) if until else None,
            positions=tuple(Position.parse(p) for p in at or ()),
        )
    except ValueError as exc:
        raise _fail(str(exc), 1) from None


def _run(work: Coroutine[Any, Any, T], note: str = "") -> T:
    """``work``'s result; exit code 2, said plainly (with ``note``), when the broker or a
    topic is away."""
    from aiokafka.errors import KafkaError

    from shared.topic_reader import TopicMissing

    # aiokafka logs every failed connection attempt: the one message below says it.
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    try:
        return asyncio.run(work)
    except TopicMissing as exc:
        raise _fail(str(exc), 2) from None
    except (OSError, KafkaError) as exc:
        raise _fail(f"cannot reach the broker: {type(exc).__name__}: {exc}{note}", 2) from None


def _json_line(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


@_command("list")
def dlq_list(
    error: Error = None,
    case: Case = None,
    group: Group = None,
    since: Since = None,
    until: Until = None,
    at: At = None,
    as_json: Json = False,
    bootstrap: Bootstrap = None,
    dlq_topic: DlqTopic = None,
) -> None:
    """One line per dead letter, oldest first: position (partition/offset), when, consumer
    group, origin (topic/partition/offset), case, event type, case version, error."""
    from damrong.cli.dlq import dead_letters
    from damrong.cli.dlq_output import list_line

    filters = _filters(error, case, group, since, until, at)
    found = _run(dead_letters(_settings(bootstrap, None, dlq_topic, None), filters))
    for dl in found:
        if as_json:
            _json_line(dl.summary())
        else:
            typer.echo(list_line(dl))
    if not as_json:
        typer.echo(f"{len(found)} dead letters", err=True)


@_command("show")
def dlq_show(
    offset: Annotated[
        str, typer.Argument(help="PARTITION/OFFSET, or OFFSET if only one partition has it")
    ],
    as_json: Json = False,
    bootstrap: Bootstrap = None,
    dlq_topic: DlqTopic = None,
) -> None:
    """Everything about one dead letter: when, group, origin, the whole error, the key,
    every header, and the payload as JSON."""
    from damrong.cli.dlq import dead_letters
    from damrong.cli.dlq_output import show_text

    filters = _filters(None, None, None, None, None, [offset])
    found = _run(dead_letters(_settings(bootstrap, None, dlq_topic, None), filters))
    if not found:
        raise _fail(f"no dead letter at {offset}", 1)
    if len(found) > 1:
        raise _fail(
            f"offset {offset} is in several partitions: "
            + ", ".join(dl.position for dl in found)
            + " (say which)",
            1,
        )
    if as_json:
        _json_line(found[0].details())
    else:
        typer.echo(show_text(found[0]))


@_command("replay")
def dlq_replay(
    error: Error = None,
    case: Case = None,
    group: Group = None,
    since: Since = None,
    until: Until = None,
    at: At = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="say what would be replayed; publish nothing")
    ] = False,
    as_json: Json = False,
    bootstrap: Bootstrap = None,
    topic: Topic = None,
    dlq_topic: DlqTopic = None,
    data_dir: DataDir = None,
) -> None:
    """Re-publish the chosen dead letters to the events topic, after the cause is fixed.

    Each distinct record goes out once, with its original key, value and headers (without
    the dlq_* ones), to the events topic that every consumer group reads.  Safe to repeat:
    consumers skip versions they have already applied, so a replayed event applies once.
    Records that are unsigned, forged or undecodable are replayed as they are and the
    consumers dead-letter them again: a warning counts them (signatures are checked with
    EVENT_PUBLIC_KEYS, else the local platform's keys).  The dead letters stay in the
    dead-letter topic.
    """
    from damrong.cli.dlq import dead_letters, replay
    from damrong.cli.dlq_output import replay_lines, replay_objects

    filters = _filters(error, case, group, since, until, at)
    settings = _settings(bootstrap, topic, dlq_topic, data_dir)

    async def work() -> Any:
        return await replay(settings, await dead_letters(settings, filters), dry_run=dry_run)

    result = _run(work(), "" if dry_run else " (some records may be out; replaying again is safe)")
    if as_json:
        for obj in replay_objects(result, dry_run=dry_run):
            _json_line(obj)
        return
    for line in replay_lines(result, dry_run=dry_run):
        typer.echo(line)
