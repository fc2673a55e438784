"""A whole register -> what to file, what repeats inside the file, what is rejected.  Pure."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.intake.backfill.domain.headers import FIELD_NAMES
from services.intake.backfill.domain.reader import Sheet, Table, UnreadableFile
from services.intake.backfill.domain.rows import BackfillRow, RowRejected, parse_row


@dataclass(frozen=True, slots=True)
class Rejected:
    row: int
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Row ``row`` is the same complaint as row ``of_row`` of the file (None: as one filed
    by an earlier import)."""

    row: int
    of_row: int | None

    @property
    def reason(self) -> str:
        if self.of_row is None:
            return "already imported"
        return f"same complaint as row {self.of_row}"


@dataclass(slots=True)
class ImportPlan:
    rows: int
    accepted: list[BackfillRow] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


class MissingColumns(UnreadableFile):
    """The header row lacks required columns."""


def check_columns(table: Sheet[Any]) -> None:
    """MissingColumns if required columns are absent (then no row can be filed)."""
    missing = table.columns.missing
    if missing:
        names = ", ".join(f"{FIELD_NAMES[f][0]} ({f})" for f in missing)
        raise MissingColumns(
            f"the header row (row {table.header_row}) lacks required columns: {names}"
        )


def outside_district(number: int, district_code: str, district: str | None) -> Rejected | None:
    """Row ``number``'s refusal when ``district`` (an officer's: the only one they may
    import) is set and the row is of another district; None when it may be filed."""
    if district is None or district_code == district:
        return None
    return Rejected(
        number, [f"district_code: {district_code} is outside your district ({district})"]
    )


def identity_digest(identity: str) -> bytes:
    """A row identity as 16 bytes, where the text is about 60: the first row of each
    identity is kept by it (by the store: ``firsts``, ``split_repeats``), and a collision
    is beyond any register's size (about 1 in 10^26 for a million rows)."""
    return hashlib.blake2b(identity.encode(), digest_size=16).digest()


def firsts(items: Sequence[tuple[int, bytes]]) -> dict[bytes, int]:
    """The first row of each identity digest among a chunk's accepted ``(row, digest)``
    items, in file order."""
    first: dict[bytes, int] = {}
    for row, digest in items:
        first.setdefault(digest, row)
    return first


def split_repeats(
    items: Sequence[tuple[int, bytes]], earlier: Mapping[bytes, int]
) -> tuple[list[int], list[Duplicate]]:
    """A chunk's accepted ``(row, digest)`` items, in file order, split into the indexes
    of the first row of each identity, and the repeats: of a row of an earlier chunk
    (``earlier``: digest -> its first row) or of a row before them in this chunk."""
    first = firsts(items)
    fresh: list[int] = []
    repeats: list[Duplicate] = []
    for index, (row, digest) in enumerate(items):
        if digest in earlier:
            repeats.append(Duplicate(row, earlier[digest]))
        elif first[digest] != row:
            repeats.append(Duplicate(row, first[digest]))
        else:
            fresh.append(index)
    return fresh, repeats


def cells_of(columns: dict[str, int], row: Sequence[Any]) -> dict[str, Any]:
    """A data row as field -> raw cell (None where the row is short)."""
    return {f: row[i] if i < len(row) else None for f, i in columns.items()}


def plan_import(table: Table, now: dt.datetime, *, hash_key: bytes) -> ImportPlan:
    """Parse every data row of ``table`` at ``now``; MissingColumns if required columns are
    absent (then no row can be filed)."""
    check_columns(table)
    plan = ImportPlan(
        rows=len(table.rows), ignored_columns=table.columns.ignored + table.columns.repeated
    )
    first_seen: dict[str, int] = {}
    for number, row in table.rows:
        try:
            parsed = parse_row(number, cells_of(table.columns.columns, row), now, hash_key=hash_key)
        except RowRejected as exc:
            plan.rejected.append(Rejected(number, exc.reasons))
            continue
        earlier = first_seen.setdefault(parsed.identity, number)
        if earlier != number:
            plan.duplicates.append(Duplicate(number, earlier))
        else:
            plan.accepted.append(parsed)
    return plan
