"""`damrong import FILE`: upload a register to intake's ``POST /v1/imports`` and report.

The file goes over the public API (no database access needed on the officer's machine).
One bar follows the upload; intake answers with a job, and a second bar follows the rows
as intake files them (``GET /v1/imports/{id}``), through a restart of intake if one
happens (another replica, or the restarted one, resumes the job).  Rejected rows are
written to ``<FILE stem>.rejected.csv`` beside the input: row number, reasons and the
row's original columns, in UTF-8 with a BOM so that Excel shows the Thai text.
"""

from __future__ import annotations

import contextlib
import csv
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
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


POLL_S = 0.5  # how often the rows' bar asks intake for the job


class ImportFailed(RuntimeError):
    pass


class _Watched:
    """A file whose reads advance a progress bar (httpx streams multipart files by read)."""

    def __init__(self, raw: BinaryIO, progress: Progress, task: TaskID) -> None:
        self._raw, self._progress, self._task = raw, progress, task

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._progress.advance(self._task, len(chunk))
        if not chunk:  # all sent: intake now reads and checks every row
            self._progress.update(self._task, description="intake is checking the rows")
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()


def rejected_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejected.csv")


def write_rejected(path: Path, rejected: list[dict[str, Any]]) -> Path:
    """Write the rejected rows beside ``path`` with their original columns; the path.
    The register is read as the server reads it, a part at a time: only the rejected
    rows are held."""
    # The same reader and download as the server's.
    from services.intake.backfill.domain.reader import stream_table
    from services.intake.backfill.staged.domain import rejected_table

    def parts() -> Iterator[bytes]:
        with open(path, "rb") as f:
            yield from iter(lambda: f.read(1 << 20), b"")

    columns, rows = rejected_table(stream_table(parts), rejected)
    out = rejected_path(path)
    with open(out, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
    return out


def _refusal(response: httpx.Response) -> ImportFailed:
    detail = response.text
    with contextlib.suppress(ValueError, AttributeError):  # not a problem document: as is
        problem = response.json()
        detail = problem.get("detail", detail)
        fields = [e["field"] for e in problem.get("errors", [])]
        if fields:
            detail = f"{detail} (field: {', '.join(fields)})"
    return ImportFailed(f"intake refused the file ({response.status_code}): {detail}")


def upload(path: Path, client: httpx.Client, console: Console) -> tuple[str, dict[str, Any]]:
    """POST the file to ``/v1/imports``; the job's URL and document."""
    size = path.stat().st_size
    columns = (
        SpinnerColumn(),
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
    )
    with (
        Progress(*columns, console=console, transient=True) as progress,
        open(path, "rb") as raw,
    ):
        task = progress.add_task(f"uploading {path.name}", total=size)
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        watched = _Watched(raw, progress, task)
        response = client.post(
            "/v1/imports",
            # _Watched reads as the IO[bytes] httpx's types ask for, without being one.
            files={"file": (path.name, watched, content_type)},  # type: ignore[dict-item]
        )
    if response.status_code != 202:
        raise _refusal(response)
    job: dict[str, Any] = response.json()
    return response.headers.get("location", f"/v1/imports/{job['job_id']}"), job


def follow(
    url: str,
    job: dict[str, Any],
    client: httpx.Client,
    console: Console,
    poll_s: float = POLL_S,
) -> dict[str, Any]:
    """Show the rows going through until the job is done; its summary.  ImportFailed
    when the job failed or intake refuses to show it."""
    columns = (
        SpinnerColumn(),
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        "rows",
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("กำลังบันทึก (filing)", total=job["progress"]["total"])
        while True:
            done = job["progress"]
            progress.update(
                task,
                completed=done["done"],
                total=done["total"],  # a CSV's is counted by line ends until it is done
                description={
                    "stalled": "intake stopped: waiting for it to resume the import",
                    "queued": "รอคิว (queued): another import is being filed first",
                }.get(job["status"], f"กำลังบันทึก (filing): {done['filed']} filed"),
            )
            if job["status"] in ("done", "failed"):
                break
            time.sleep(poll_s)
            response = client.get(url)
            if response.status_code != 200:
                raise _refusal(response)
            job = response.json()
    if job["status"] == "failed":
        raise ImportFailed(f"intake could not file the import {job['job_id']}: {job['error']}")
    summary: dict[str, Any] = job["result"]
    return summary


def run_import(
    path: Path,
    intake_url: str,
    console: Console | None = None,
    token: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Upload, follow the job, print the summary, write the rejected rows; the summary.
    ImportFailed, with a message for the officer, for any refusal or an unreachable intake."""
    console = console or Console()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx.Timeout(30.0, read=600.0, write=600.0)
    try:
        with httpx.Client(
            base_url=intake_url.rstrip("/"), timeout=timeout, headers=headers, transport=transport
        ) as client:
            url, job = upload(path, client, console)
            summary = follow(url, job, client, console)
    except httpx.HTTPError as exc:
        raise ImportFailed(f"intake at {intake_url} did not answer: {exc}") from None
    console.print(summary_text(path.name, summary))
    if summary.get("ignored_columns"):
        console.print("คอลัมน์ที่ไม่ได้ใช้ (ignored columns): " + ", ".join(summary["ignored_columns"]))
    if summary["rejected"]:
        out = write_rejected(path, summary["rejected"])
        console.print(f"แถวที่ไม่ผ่านอยู่ในไฟล์ (rejected rows written to) {out}")
    return summary


def summary_text(name: str, summary: dict[str, Any]) -> str:
    """The summary in one line, Thai first."""
    return (
        f"{name}: {summary['rows']} แถว (rows) — "
        f"[green]บันทึกแล้ว {summary['filed']} (filed)[/], "
        f"ซ้ำ {summary['duplicates']} (duplicates), "
        f"[red]ไม่ผ่าน {len(summary['rejected'])} (rejected)[/]"
    )
