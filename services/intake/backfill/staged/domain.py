"""Staged imports, the pure half: the preview of a register, sealing the staged file, who
may use a job, and its lifetime.  No I/O besides the system's random source.

A staged import files nothing: ``PreviewCheck`` runs the very row checks the import runs
(``parse_row`` plus the officer's district, repeats told by ``split_repeats``) and adds the
rows an earlier import already filed (found by the store), so the preview's counts are what
the confirmed import will report unless another import files the same rows in between.  It
checks a chunk of rows at a time, as the import files them: a register of a million rows
is never held whole, as text, as rows or as the preview's accepted rows.

The file and its first rows hold personal data, so the store keeps them only sealed:
AES-256-GCM under a fresh data key per job, the key wrapped by the personal-data master
key (``services.intake.pii``: the same keys, rotation and format of nonces), each part
bound to its job and its name as associated data.  The file is sealed in parts of
``PART_BYTES`` as the upload streams in; each part's name holds its place and whether it
is the last, so parts cannot be reordered, swapped between jobs or cut off the end
unnoticed.  (A file staged before parts is one part named ``file``.)
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.intake.backfill.domain.plan import (
    Duplicate,
    Rejected,
    cells_of,
    check_columns,
    firsts,
    identity_digest,
    outside_district,
    split_repeats,
)
from services.intake.backfill.domain.reader import Row, Sheet
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
# Clear bytes per sealed part of a staged file: what an upload holds at a time.
PART_BYTES = 4 << 20


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


@dataclass(frozen=True, slots=True)
class Checked:
    """A chunk's rows that passed every check, in file order, with their identities'
    digests (``items``) and the first row of each (``first``), for the store to record."""

    rows: list[BackfillRow]
    items: list[tuple[int, bytes]]
    first: dict[bytes, int]


class PreviewCheck:
    """The preview of a register checked a chunk of rows at a time, in row order.

    ``check`` runs every row of a chunk through the import's own checks at ``now`` (with
    ``district``, the officer's, rows of other districts are rejected); ``repeats`` takes
    out the repeats of earlier rows (the store answers which identities earlier chunks
    had, as the import's does); ``settle`` counts the rows the store found filed by an
    earlier import as duplicates and the rest as to be filed.  MissingColumns as the
    import does, before any row."""

    def __init__(
        self, table: Sheet[Any], now: dt.datetime, *, hash_key: bytes, district: str | None
    ) -> None:
        check_columns(table)
        self._columns = table.columns.columns
        self._order = [i for _, i in sorted(self._columns.items(), key=lambda c: c[1])]
        self._now, self._hash_key, self._district = now, hash_key, district
        self.preview = Preview(
            rows=0,
            ignored_columns=table.columns.ignored + table.columns.repeated,
            columns=[
                {"field": f, "header": table.header[i]}
                for f, i in sorted(self._columns.items(), key=lambda c: c[1])
            ],
        )
        self.sample: list[dict[str, Any]] = []  # the first rows as read, for the preview

    def check(self, rows: Iterable[Row]) -> Checked:
        preview = self.preview
        passed: list[BackfillRow] = []
        for number, row in rows:
            preview.rows += 1
            if len(self.sample) < SAMPLE_ROWS:
                cells = [cell_text(row[i]) if i < len(row) else "" for i in self._order]
                self.sample.append({"row": number, "cells": cells})
            try:
                parsed = parse_row(
                    number, cells_of(self._columns, row), self._now, hash_key=self._hash_key
                )
            except RowRejected as exc:
                preview.rejected.append(Rejected(number, exc.reasons))
                continue
            refused = outside_district(number, parsed.command.district_code, self._district)
            if refused is not None:
                preview.rejected.append(refused)
                continue
            passed.append(parsed)
        items = [(r.row, identity_digest(r.identity)) for r in passed]
        return Checked(passed, items, firsts(items))

    def repeats(self, checked: Checked, earlier: Mapping[bytes, int]) -> list[BackfillRow]:
        """``checked``'s rows less the repeats (counted as duplicates); ``earlier``: the
        digests earlier chunks had, with their first rows."""
        kept, repeats = split_repeats(checked.items, earlier)
        self.preview.duplicates.extend(repeats)
        return [checked.rows[i] for i in kept]

    def settle(
        self,
        accepted: Iterable[BackfillRow],
        filed_keys: set[str],
        filed_refs: set[tuple[str, str]],
    ) -> None:
        """Of ``repeats``' rows, those filed already (by key or by reference) are
        duplicates; the others are to be filed."""
        for r in accepted:
            ref = (r.command.channel.value, r.command.channel_ref or "")
            if r.identity in filed_keys or ref in filed_refs:
                self.preview.duplicates.append(Duplicate(r.row, None))
            else:
                self.preview.to_file += 1

    def done(self) -> Preview:
        self.preview.duplicates.sort(key=lambda d: d.row)
        self.preview.rejected.sort(key=lambda r: r.row)
        return self.preview


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


def rejected_columns(header: list[str]) -> list[str]:
    """The rejected rows' download columns: row, reasons, then the file's own headers
    (made unique)."""
    headers: list[str] = []
    for i, name in enumerate(header):
        label = name or f"column {i + 1}"
        headers.append(label if label not in headers else f"{label} ({i + 1})")
    return ["แถว (row)", "เหตุผล (reasons)", *headers]


def rejected_table(
    table: Sheet[Any], rejected: Iterable[dict[str, Any]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """The rejected rows with their original cells, for a file to correct and import
    again: ``rejected_columns`` and the rows, in the order of ``rejected``.  The table's
    rows are read once; only the rejected ones are kept."""
    columns = rejected_columns(table.header)
    headers = columns[2:]
    reasons = {int(item["row"]): item["reasons"] for item in rejected}
    found: dict[int, dict[str, Any]] = {}
    rows: Iterator[Row] = iter(table.rows)
    for number, cells in rows:
        if number not in reasons:
            continue
        row: dict[str, Any] = {columns[0]: number, columns[1]: "; ".join(reasons[number])}
        for h, cell in zip(headers, cells, strict=False):
            row[h] = "" if cell is None else cell
        found[number] = row
    return columns, [
        found.get(number) or {columns[0]: number, columns[1]: "; ".join(why)}
        for number, why in reasons.items()
    ]


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
class JobKey:
    """A job's fresh data key, and the same key wrapped by the master key (stored)."""

    key_id: str
    wrapped_key: bytes
    data_key: bytes = field(repr=False)


def _wrap_aad(job_id: uuid.UUID, kid: str) -> bytes:
    return _WRAP_AAD + job_id.bytes + kid.encode()


def _part_aad(job_id: uuid.UUID, part: str) -> bytes:
    return _PART_AAD + job_id.bytes + part.encode()


def _file_part(index: int, last: bool) -> str:
    return f"file/{index}/last" if last else f"file/{index}"


def new_job_key(keys: PiiKeys, job_id: uuid.UUID) -> JobKey:
    """A fresh data key for ``job_id``, wrapped by the current master key."""
    data_key = os.urandom(KEY_BYTES)
    kid = keys.current_id
    nonce = os.urandom(NONCE_BYTES)
    wrapped = nonce + AESGCM(keys.master).encrypt(nonce, data_key, _wrap_aad(job_id, kid))
    return JobKey(kid, wrapped, data_key)


def job_key(keys: PiiKeys, job_id: uuid.UUID, kid: str, wrapped: bytes) -> JobKey:
    """The stored key of ``job_id`` unwrapped; Unreadable for a master key not
    configured, or another job's or altered key."""
    master = keys.master_for(kid)
    if master is None:
        raise Unreadable(f"master key {kid} is not configured")
    try:
        data_key = AESGCM(master).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(job_id, kid)
        )
    except InvalidTag:
        raise Unreadable("the staged import does not open") from None
    return JobKey(kid, wrapped, data_key)


def seal(key: JobKey, job_id: uuid.UUID, part: str, clear: bytes) -> bytes:
    """One part (``sample``, or a file part: see ``seal_file_part``) sealed."""
    nonce = os.urandom(NONCE_BYTES)
    return SEALED_V1 + nonce + AESGCM(key.data_key).encrypt(nonce, clear, _part_aad(job_id, part))


def unseal(key: JobKey, job_id: uuid.UUID, part: str, sealed: bytes) -> bytes:
    """One sealed part in clear; Unreadable for another job's or part's bytes, or altered
    ones."""
    if sealed[:1] != SEALED_V1:
        raise Unreadable("unknown sealed format")
    try:
        return AESGCM(key.data_key).decrypt(
            sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :], _part_aad(job_id, part)
        )
    except InvalidTag:
        raise Unreadable("the staged import does not open") from None


def seal_file_part(key: JobKey, job_id: uuid.UUID, index: int, clear: bytes, last: bool) -> bytes:
    """Part ``index`` (from 0) of a staged file, ``last`` if no part follows it."""
    return seal(key, job_id, _file_part(index, last), clear)


def unseal_file_part(
    key: JobKey, job_id: uuid.UUID, index: int, sealed: bytes, last: bool
) -> bytes:
    """Part ``index`` of a staged file of ``index + 1`` parts or more (``last``: exactly);
    Unreadable if it is not that part of that job's file."""
    return unseal(key, job_id, _file_part(index, last), sealed)


def open_part(
    keys: PiiKeys, job_id: uuid.UUID, kid: str, wrapped: bytes, part: str, sealed: bytes
) -> bytes:
    """One sealed part (``sample``, or ``file`` staged before parts) in clear; Unreadable
    for a master key not configured, another job's or part's bytes, or altered ones."""
    return unseal(job_key(keys, job_id, kid, wrapped), job_id, part, sealed)
