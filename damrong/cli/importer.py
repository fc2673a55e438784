"""`damrong import FILE`: upload a register to intake's ``POST /v1/imports`` and report.

The file goes over the public API (no database access needed on the officer's machine);
the progress bar follows the upload, then waits for intake to file the rows.  Rejected
rows are written to ``<FILE stem>.rejected.csv`` beside the input: row number, reasons and
the row's original columns, in UTF-8 with a BOM so that Excel shows the Thai text.
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

CONTENT_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ImportFailed(RuntimeError):
    pass


class _Watched:
    """A file whose reads advance a progress bar (httpx streams multipart files by read)."""

    def __init__(self, raw: BinaryIO, progress: Progress, task: TaskID) -> None:
        self._raw, self._progress, self._task = raw, progress, task

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._progress.advance(self._task, len(chunk))
        if not chunk:  # all sent: intake now parses and files the rows
            self._progress.update(self._task, description="filing rows at intake")
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()


def rejected_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejected.csv")


def write_rejected(path: Path, rejected: list[dict[str, Any]]) -> Path:
    """Write the rejected rows beside ``path`` with their original columns; the path."""
    from services.intake.backfill.domain.reader import read_table  # same reader as the server

    table = read_table(path.read_bytes())
    original = dict(table.rows)
    out = rejected_path(path)
    with open(out, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["แถว (row)", "เหตุผล (reasons)", *table.header])
        for item in rejected:
            cells = original.get(item["row"], ())
            writer.writerow(
                [item["row"], "; ".join(item["reasons"]), *("" if c is None else c for c in cells)]
            )
    return out


def upload(
    path: Path, intake_url: str, console: Console, token: str | None = None
) -> dict[str, Any]:
    """POST the file to ``{intake_url}/v1/imports`` as the holder of ``token``; the
    decoded summary."""
    size = path.stat().st_size
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    columns = (
        SpinnerColumn(),
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
    )
    timeout = httpx.Timeout(30.0, read=3600.0, write=600.0)
    with (
        Progress(*columns, console=console, transient=True) as progress,
        open(path, "rb") as raw,
        httpx.Client(timeout=timeout, headers=headers) as client,
    ):
        task = progress.add_task(f"uploading {path.name}", total=size)
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        watched = _Watched(raw, progress, task)
        response = client.post(
            f"{intake_url.rstrip('/')}/v1/imports",
            # _Watched reads as the IO[bytes] httpx's types ask for, without being one.
            files={"file": (path.name, watched, content_type)},  # type: ignore[dict-item]
        )
    if response.status_code != 200:
        detail = response.text
        with contextlib.suppress(ValueError):  # not JSON: the body as it came
            detail = response.json().get("detail", detail)
        raise ImportFailed(f"intake refused the file ({response.status_code}): {detail}")
    summary: dict[str, Any] = response.json()
    return summary


def run_import(
    path: Path, intake_url: str, console: Console | None = None, token: str | None = None
) -> dict[str, Any]:
    """Upload, print the summary, write the rejected rows; the summary."""
    console = console or Console()
    summary = upload(path, intake_url, console, token)
    console.print(
        f"{path.name}: {summary['rows']} rows — [green]{summary['filed']} filed[/], "
        f"{summary['duplicates']} duplicates, [red]{len(summary['rejected'])} rejected[/]"
    )
    if summary.get("ignored_columns"):
        console.print("ignored columns: " + ", ".join(summary["ignored_columns"]))
    if summary["rejected"]:
        out = write_rejected(path, summary["rejected"])
        console.print(f"rejected rows written to {out}")
    return summary
