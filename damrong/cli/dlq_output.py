"""What `damrong dlq` prints: plain lines, nothing cut to the terminal's width."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from damrong.cli.dlq import DeadLetter, Replay, Replayed, short_type
from shared.thai_calendar import BANGKOK


def _one_line(text: str | None) -> str:
    # One dead letter per line, whatever an exception's message holds.
    return "-" if text is None else text.replace("\r", "\\r").replace("\n", "\\n")


def _time(dl: DeadLetter) -> str:
    return dl.at.astimezone(BANGKOK).isoformat(timespec="milliseconds")


def _event(dl: DeadLetter) -> str:
    version = dl.header("ce_version")
    return f"{_one_line(dl.case)}  {_one_line(short_type(dl.header('ce_type')))}  " + (
        f"v{_one_line(version)}" if version else "-"
    )


def list_line(dl: DeadLetter) -> str:
    """Position, when, group, origin, case, event type, case version, error."""
    return (
        f"{dl.position}  {_time(dl)}  {_one_line(dl.header('dlq_group'))}  "
        f"{_one_line(dl.header('dlq_origin'))}  {_event(dl)}  "
        f"{_one_line(dl.header('dlq_error'))}"
    )


def show_text(dl: DeadLetter) -> str:
    """Everything about ``dl``, the error and payload whole."""
    lines = [
        f"dead letter {dl.position}",
        f"dead-lettered  {_time(dl)}",
        f"group          {dl.header('dlq_group') or '-'}",
        f"origin         {dl.header('dlq_origin') or '-'}",
        f"case           {dl.case or '-'}",
        f"type           {dl.header('ce_type') or '-'}",
        f"version        {dl.header('ce_version') or '-'}",
        f"error          {dl.header('dlq_error') or '-'}",
        f"key            {dl.details()['key'] or '-'}",
        "headers (dlq_* were added when it was dead-lettered):",
    ]
    lines += [f"  {name}: {value}" for name, value in dl.details()["headers"]]
    try:
        payload = dl.payload()
    except ValueError:
        size = len(dl.value or b"")
        lines += [f"payload (not JSON, {size} bytes):", dl.details()["value_text"] or ""]
    else:
        lines += ["payload:", json.dumps(payload, ensure_ascii=False, indent=2)]
    return "\n".join(lines)


def _groups(r: Replayed) -> list[str]:
    return sorted({dl.header("dlq_group") or "-" for dl in r.copies})


def replay_lines(result: Replay, *, dry_run: bool) -> Iterator[str]:
    verb = "would replay" if dry_run else "replayed"
    for r in result.records:
        yield (
            f"{verb} {r.letter.position}  {_event(r.letter)}  ({len(r.copies)} dead "
            f"letters, groups {', '.join(_groups(r))})"
        )
        if r.problem:
            yield f"    warning: {_one_line(r.problem)}: it will be dead-lettered again"
    if not result.selected:
        yield "no dead letter matches: nothing replayed"
        return
    yield (
        f"{verb} {len(result.records)} records to {result.topic} "
        f"(from {result.selected} dead letters)"
    )
    if result.refused:
        yield (
            f"warning: {result.refused} of them are not genuine events (unsigned, forged "
            "or undecodable): the consumers will dead-letter them again"
        )
    if not result.signatures_checked:
        yield (
            "note: signatures not checked (no EVENT_PUBLIC_KEYS, nor a local platform's "
            "keys: --data-dir), only decoding"
        )


def replay_objects(result: Replay, *, dry_run: bool) -> Iterator[dict[str, Any]]:
    """One object per distinct record, then the totals."""
    for r in result.records:
        dl = r.letter
        yield {
            "kind": "would_replay" if dry_run else "replayed",
            "position": dl.position,
            "complaint_id": dl.case,
            "type": dl.header("ce_type"),
            "version": dl.header("ce_version"),
            "dead_letters": [c.position for c in r.copies],
            "groups": _groups(r),
            "problem": r.problem,
        }
    yield {
        "kind": "totals",
        "topic": result.topic,
        "dry_run": dry_run,
        "selected": result.selected,
        "records": len(result.records),
        "published": result.published,
        "refused": result.refused,
        "signatures_checked": result.signatures_checked,
    }
