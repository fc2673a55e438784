"""A whole register -> what to file, what repeats inside the file, what is rejected.  Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from services.intake.backfill.headers import FIELD_NAMES
from services.intake.backfill.reader import Table, UnreadableFile
from services.intake.backfill.rows import BackfillRow, RowRejected, parse_row


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


def plan_import(table: Table, now: dt.datetime) -> ImportPlan:
    """Parse every data row of ``table`` at ``now``; MissingColumns if required columns are
    absent (then no row can be filed)."""
    missing = table.columns.missing
    if missing:
        names = ", ".join(f"{FIELD_NAMES[f][0]} ({f})" for f in missing)
        raise MissingColumns(f"the header row (row {table.header_row}) lacks required "
                             f"columns: {names}")
    plan = ImportPlan(rows=len(table.rows),
                      ignored_columns=table.columns.ignored + table.columns.repeated)
    first_seen: dict[str, int] = {}
    columns = table.columns.columns.items()
    for number, row in table.rows:
        cells = {f: row[i] if i < len(row) else None for f, i in columns}
        try:
            parsed = parse_row(number, cells, now)
        except RowRejected as exc:
            plan.rejected.append(Rejected(number, exc.reasons))
            continue
        earlier = first_seen.setdefault(parsed.identity, number)
        if earlier != number:
            plan.duplicates.append(Duplicate(number, earlier))
        else:
            plan.accepted.append(parsed)
    return plan
