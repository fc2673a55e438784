"""Staged imports, the pure half: the preview of a register, sealing the staged file, who
may use a job, and its lifetime.  No I/O besides the system's random source.

A staged import files nothing: ``plan_preview`` runs the very row checks the import runs
(``plan_import`` plus the officer's district), and ``finish_preview`` adds the rows an
earlier import already filed (found by the store), so the preview's counts are what the
confirmed import will report unless another import files the same rows in between.

The file and its first rows hold personal data, so the store keeps them only sealed:
AES-256-GCM under a fresh data key per job, the key wrapped by the personal-data master
key (``services.intake.pii``: the same keys, rotation and format of nonces), each part
bound to its job and its name as associated data.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.intake.backfill.domain.plan import (
    Duplicate,
    Rejected,
    cells_of,
    check_columns,
    outside_district,
)
from services.intake.backfill.domain.reader import Table
from services.intake.backfill.domain.rows import BackfillRow, RowRejected, parse_row
from services.intake.backfill.domain.values import cell_text
from services.intake.pii.domain.envelope import NONCE_BYTES, Unreadable
from services.intake.pii.domain.keys import KEY_BYTES, PiiKeys
from shared.auth.principal import Principal, Role

# A staged file waits a working day and a night for its confirmation; a finished job's
# file is kept as long again for the rejected rows' download, then the row is deleted.
STAGED_TTL = dt.timedelta(hours=24)
KEPT_AFTER = dt.timedelta(hours=24)
# A running job whose task has not beaten for this long died with its replica: it may be
# confirmed again (filing is idempotent: rows already filed count as already imported).
STALE_AFTER = dt.timedelta(seconds=60)
HEARTBEAT_S = 5.0
SAMPLE_ROWS = 5
STATUSES = ("staged", "running", "stalled", "done", "failed")

_WRAP_AAD = b"damrong/staged-import-key/v1\x00"
_PART_AAD = b"damrong/staged-import/v1\x00"
SEALED_V1 = b"\x01"


@dataclass(slots=True)
class Preview:
    """What confirming would do, without cell values (it is stored in clear)."""

    rows: int
    to_file: int = 0
    duplicates: list[Duplicate] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    columns: list[dict[str, str]] = field(default_factory=list)  # [{field, header}]

    def body(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "to_file": self.to_file,
            "duplicates": len(self.duplicates),
            "rejected": [{"row": r.row, "reasons": r.reasons} for r in self.rejected],
            "duplicate_rows": [
                {"row": d.row, "of_row": d.of_row, "reason": d.reason} for d in self.duplicates
            ],
            "ignored_columns": self.ignored_columns,
            "columns": self.columns,
        }


@dataclass(slots=True)
class PlannedPreview:
    """A preview before the store was asked which rows an earlier import filed."""

    preview: Preview
    accepted: list[BackfillRow]


def plan_preview(
    table: Table, now: dt.datetime, *, hash_key: bytes, district: str | None
) -> PlannedPreview:
    """Check every row of ``table`` at ``now`` as the import will (with ``district``, the
    officer's, rows of other districts are rejected); MissingColumns as the import does."""
    check_columns(table)
    columns = table.columns.columns
    preview = Preview(
        rows=len(table.rows),
        ignored_columns=table.columns.ignored + table.columns.repeated,
        columns=[
            {"field": f, "header": table.header[i]}
            for f, i in sorted(columns.items(), key=lambda c: c[1])
        ],
    )
    accepted: list[BackfillRow] = []
    first_seen: dict[str, int] = {}
    for number, row in table.rows:
        try:
            parsed = parse_row(number, cells_of(columns, row), now, hash_key=hash_key)
        except RowRejected as exc:
            preview.rejected.append(Rejected(number, exc.reasons))
            continue
        refused = outside_district(number, parsed.command.district_code, district)
        if refused is not None:
            preview.rejected.append(refused)
            continue
        earlier = first_seen.setdefault(parsed.identity, number)
        if earlier != number:
            preview.duplicates.append(Duplicate(number, earlier))
        else:
            accepted.append(parsed)
    return PlannedPreview(preview, accepted)


def unique_keys(rows: Iterable[BackfillRow]) -> tuple[list[str], list[tuple[str, str]]]:
    """The two unique keys a filed row could collide on: idempotency keys, and
    ``(channel, channel_ref)`` pairs where the row has a reference."""
    keys: list[str] = []
    refs: list[tuple[str, str]] = []
    for r in rows:
        keys.append(r.identity)
        if r.command.channel_ref is not None:
            refs.append((r.command.channel.value, r.command.channel_ref))
    return keys, refs


def finish_preview(
    planned: PlannedPreview, filed_keys: set[str], filed_refs: set[tuple[str, str]]
) -> Preview:
    """The preview with the rows already filed (by key or by reference) as duplicates."""
    preview = planned.preview
    for r in planned.accepted:
        ref = (r.command.channel.value, r.command.channel_ref or "")
        if r.identity in filed_keys or ref in filed_refs:
            preview.duplicates.append(Duplicate(r.row, None))
        else:
            preview.to_file += 1
    preview.duplicates.sort(key=lambda d: d.row)
    return preview


def sample_of(table: Table, limit: int = SAMPLE_ROWS) -> list[dict[str, Any]]:
    """The first ``limit`` data rows as read: each mapped column's cell as text, in the
    order of ``Preview.columns``."""
    order = [i for _, i in sorted(table.columns.columns.items(), key=lambda c: c[1])]
    return [
        {"row": number, "cells": [cell_text(row[i]) if i < len(row) else "" for i in order]}
        for number, row in table.rows[:limit]
    ]


def rejected_table(
    table: Table, rejected: Iterable[dict[str, Any]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """The rejected rows with their original cells, for a file to correct and import
    again: columns (row, reasons, then the file's own headers, made unique) and rows."""
    headers: list[str] = []
    for i, name in enumerate(table.header):
        label = name or f"column {i + 1}"
        headers.append(label if label not in headers else f"{label} ({i + 1})")
    columns = ["แถว (row)", "เหตุผล (reasons)", *headers]
    original = dict(table.rows)
    out: list[dict[str, Any]] = []
    for item in rejected:
        cells = original.get(int(item["row"]), ())
        row: dict[str, Any] = {columns[0]: item["row"], columns[1]: "; ".join(item["reasons"])}
        for h, cell in zip(headers, cells, strict=False):
            row[h] = "" if cell is None else cell
        out.append(row)
    return columns, out


def may_use(principal: Principal, staged_by: str) -> bool:
    """Only who staged a job, or an administrator, may read or confirm it."""
    return principal.role is Role.admin or principal.subject == staged_by


def shown_status(
    status: str,
    heartbeat_at: dt.datetime | None,
    now: dt.datetime,
    queued_since: dt.datetime | None,
) -> str:
    """The job's status as answered: a running job whose task stopped beating is
    ``stalled`` (its replica died; confirming again resumes it); one whose task beats but
    waits for its turn to file (``IMPORT_FILINGS_AT_ONCE``) is ``queued``."""
    if status == "running" and (heartbeat_at is None or now - heartbeat_at > STALE_AFTER):
        return "stalled"
    if status == "running" and queued_since is not None:
        return "queued"
    return status


@dataclass(frozen=True, slots=True)
class SealedJob:
    key_id: str
    wrapped_key: bytes
    sealed_file: bytes
    sealed_sample: bytes


def _wrap_aad(job_id: uuid.UUID, kid: str) -> bytes:
    return _WRAP_AAD + job_id.bytes + kid.encode()


def _part_aad(job_id: uuid.UUID, part: str) -> bytes:
    return _PART_AAD + job_id.bytes + part.encode()


def _seal(data_key: bytes, job_id: uuid.UUID, part: str, clear: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return SEALED_V1 + nonce + AESGCM(data_key).encrypt(nonce, clear, _part_aad(job_id, part))


def seal_job(
    keys: PiiKeys, job_id: uuid.UUID, file: bytes, sample: list[dict[str, Any]]
) -> SealedJob:
    """The staged file and its sample sealed under a fresh data key, wrapped by the
    current master key."""
    data_key = os.urandom(KEY_BYTES)
    kid = keys.current_id
    nonce = os.urandom(NONCE_BYTES)
    wrapped = nonce + AESGCM(keys.master).encrypt(nonce, data_key, _wrap_aad(job_id, kid))
    return SealedJob(
        kid,
        wrapped,
        _seal(data_key, job_id, "file", file),
        _seal(data_key, job_id, "sample", orjson.dumps(sample)),
    )


def open_part(
    keys: PiiKeys, job_id: uuid.UUID, kid: str, wrapped: bytes, part: str, sealed: bytes
) -> bytes:
    """One sealed part (``file`` or ``sample``) in clear; Unreadable for a master key not
    configured, another job's or part's bytes, or altered ones."""
    master = keys.master_for(kid)
    if master is None:
        raise Unreadable(f"master key {kid} is not configured")
    try:
        data_key = AESGCM(master).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(job_id, kid)
        )
        if sealed[:1] != SEALED_V1:
            raise Unreadable("unknown sealed format")
        return AESGCM(data_key).decrypt(
            sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :], _part_aad(job_id, part)
        )
    except InvalidTag:
        raise Unreadable("the staged import does not open") from None
