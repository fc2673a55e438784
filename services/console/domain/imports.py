"""Importing a register from the console: intake's staged import job -> what each step of
the page shows (preview, progress, result).  Pure.

Intake reads, checks and files (``/v1/imports/jobs``); the console only lays its answer
out.  A rejected row's reasons come as ``"<field>: <message>"``; the field is shown by its
name in the officer's language beside intake's message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The register template's fields, as intake names them (headers.FIELD_NAMES).
FIELDS = (
    "letter_no",
    "received_at",
    "channel",
    "district_code",
    "subdistrict_code",
    "category",
    "subject",
    "description",
    "title",
    "name",
    "national_id",
    "phone",
    "email",
    "address",
    "anonymous",
    "status",
    "status_at",
    "closed_at",
    "closure_reason",
    "reason",
    "agency",
    "due_date",
)
# The console's uploads are district registers, read whole by the console to pass on
# (its form carries the CSRF token); a national register goes through ``damrong import``,
# which intake streams.  The page's hint and its refusal say the same size.
UPLOAD_MAX_BYTES = 50 * 1024 * 1024


def upload_refused(filename: str | None, size: int | None) -> tuple[str, dict[str, str]] | None:
    """Why an upload is refused before it is sent on (no file, empty, too large), or None."""
    if not filename:
        return "imports.error.no_file", {}
    if size == 0:
        return "imports.error.empty", {}
    if size is not None and size > UPLOAD_MAX_BYTES:
        return "imports.error.too_large", {}
    return None


ACCEPTED_TYPES = (
    ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)
FINISHED = frozenset({"done", "failed"})


@dataclass(frozen=True, slots=True)
class Reason:
    field: str | None  # a template field (its label is ``imports.field.<field>``), or None
    message: str


def reason_of(text: str) -> Reason:
    """``"phone: is not valid"`` -> Reason("phone", "is not valid"); text without a known
    field stays whole."""
    name, sep, message = text.partition(": ")
    if sep and name in FIELDS:
        return Reason(name, message)
    return Reason(None, text)


@dataclass(frozen=True, slots=True)
class RejectedRow:
    row: int
    reasons: list[Reason]


def rejected_rows(items: Sequence[Mapping[str, Any]]) -> list[RejectedRow]:
    return [
        RejectedRow(int(i["row"]), [reason_of(str(r)) for r in i.get("reasons") or []])
        for i in items
    ]


@dataclass(frozen=True, slots=True)
class Sample:
    """The first rows as read: the file's own headers over their cells."""

    headers: list[str]
    fields: list[str]
    rows: list[tuple[int, list[str]]]


def sample_of(columns: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]) -> Sample:
    return Sample(
        [str(c["header"]) for c in columns],
        [str(c["field"]) for c in columns],
        [(int(r["row"]), [str(c) for c in r["cells"]]) for r in rows],
    )


@dataclass(frozen=True, slots=True)
class Counts:
    rows: int
    filed: int  # to file (preview) or filed (result)
    duplicates: int
    rejected: int


@dataclass(frozen=True, slots=True)
class JobView:
    job_id: str
    status: str  # staged, queued, running, stalled, done, failed
    counts: Counts
    rejected: list[RejectedRow]
    ignored_columns: list[str]
    sample: Sample | None
    done: int
    total: int
    expires_at: dt.datetime
    error: str | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def percent(self) -> int:
        """How far the filing is, 0-100 (100 once done)."""
        if self.status == "done":
            return 100
        return 0 if self.total <= 0 else min(100, self.done * 100 // self.total)


def job_view(job: Mapping[str, Any]) -> JobView:
    """Intake's job document as the page shows it: the result's figures once filed, the
    preview's before."""
    preview = job["preview"]
    result = job.get("result")
    progress = job["progress"]
    # A CSV imported directly (damrong import) has no preview: its rows are checked as
    # they are filed, so until it is done only its progress is known.
    source = result if result is not None else preview
    if source is None:
        source = {"rows": progress["total"], "duplicates": 0, "rejected": []}
        preview = {"to_file": progress["filed"], "columns": []}
    counts = Counts(
        rows=int(source["rows"]),
        filed=int(result["filed"] if result is not None else preview["to_file"]),
        duplicates=int(source["duplicates"]),
        rejected=len(source["rejected"]),
    )
    sample = None
    if job.get("sample") is not None:
        sample = sample_of(preview["columns"], job["sample"])
    return JobView(
        job_id=str(job["job_id"]),
        status=str(job["status"]),
        counts=counts,
        rejected=rejected_rows(source["rejected"]),
        ignored_columns=[str(c) for c in source.get("ignored_columns") or []],
        sample=sample,
        done=int(progress["done"]),
        total=int(progress["total"]),
        expires_at=dt.datetime.fromisoformat(str(job["expires_at"])),
        error=job.get("error"),
    )


def upload_problem(problem: Mapping[str, Any], status: int) -> tuple[str, dict[str, str]]:
    """The message key (and values) for a refused upload: too large, unreadable (intake's
    reason kept), or another refusal."""
    if status == 413:
        return "imports.error.too_large", {}
    for item in problem.get("errors") or []:
        if isinstance(item, Mapping) and item.get("field") == "file":
            message = str(item.get("message", ""))
            if message == "is empty":
                return "imports.error.empty", {}
            return "imports.error.unreadable", {"detail": message}
    return "imports.error.unreadable", {"detail": str(problem.get("detail") or status)}
