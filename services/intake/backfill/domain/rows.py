"""One register row -> a validated, backfilled ``FileComplaint`` and its outcome.  Pure.

The filing itself goes through intake's own validation (``parse_complaint``), so an
imported complaint obeys exactly the rules of one filed over the API; this module only
turns spreadsheet cells into that request and adds the outcome rules.  Every problem of a
row is reported, each as ``"<field>: <message>"``.

Row identity (what makes a re-import file nothing twice): the district and the letter
number when the row has one, otherwise a keyed hash (HMAC, the request hash) of the
normalised complaint (channel, category, area, subject, description, complainant, received
time; not the outcome, so a re-import after more cases were closed still finds them).
Keyed because the complainant's national ID is part of it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import geothai

from services.intake.backfill.domain import values as v
from services.intake.domain.filing import FileComplaint
from services.intake.domain.validation import InvalidComplaint, parse_complaint
from shared.codes import ChannelCode
from shared.events import BackfilledOutcome
from shared.text import text_problem
from shared.thai_calendar import BANGKOK

_AREA_PREFIX = re.compile(r"^(?:อำเภอ|อ\.|เขต|ตำบล|ต\.|แขวง)\s*")
_PARSE_FIELD = {"channel_ref": "letter_no"}


class RowRejected(ValueError):
    """The row cannot be filed; ``reasons`` lists every problem."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True, slots=True)
class BackfillRow:
    """A row ready to file: ``command.idempotency_key`` is the row identity."""

    row: int
    command: FileComplaint
    outcome: BackfilledOutcome | None
    # The keyed request hash, when the identity needed it (no letter number): filing
    # reuses it rather than hashing the row a second time.
    request_hash: bytes | None = None

    @property
    def identity(self) -> str:
        assert self.command.idempotency_key is not None
        return self.command.idempotency_key


@cache
def _districts_by_name() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for province in geothai.provinces():
        for d in geothai.districts(province.code):
            for name in (d.name_th, d.name_en):
                names.setdefault(v.match_key(name), []).append(d.code)
    return names


def _district(text: str) -> tuple[str | None, str | None]:
    """(code, error): a 4-digit code as given (validated later), or a unique district name."""
    if not text or re.fullmatch(r"\d{4}", text):
        return (text or None), None
    codes = _districts_by_name().get(v.match_key(_AREA_PREFIX.sub("", text)), [])
    if len(codes) == 1:
        return codes[0], None
    if codes:
        return None, f"district name {text!r} is ambiguous; use the 4-digit district code"
    return None, f"{text!r} is neither a DOPA district code nor a district name"


def _subdistrict(text: str, district: str | None) -> tuple[str | None, str | None]:
    if not text or re.fullmatch(r"\d{6}", text) or district is None:
        return (text or None), None
    wanted = v.match_key(_AREA_PREFIX.sub("", text))
    for s in geothai.subdistricts(district):
        if wanted in (v.match_key(s.name_th), v.match_key(s.name_en)):
            return s.code, None
    return None, f"{text!r} is neither a subdistrict code nor a subdistrict of {district}"


def _phone(text: str) -> str:
    # Excel drops the leading zero of a number typed into a numeric cell.
    return "0" + text if re.fullmatch(r"[1-9]\d{7,8}", text) else text


def _moment(
    cells: Mapping[str, Any], field: str, errors: list[tuple[str, str]]
) -> dt.datetime | None:
    raw = cells.get(field)
    if not v.cell_text(raw) and not isinstance(raw, (dt.date, int, float)):
        return None
    try:
        return v.parse_moment(raw)
    except ValueError as exc:
        errors.append((field, str(exc)))
        return None


def parse_row(
    number: int, cells: Mapping[str, Any], now: dt.datetime, *, hash_key: bytes
) -> BackfillRow:
    """Row ``number``'s cells (field -> raw value) as a filing; RowRejected otherwise.
    ``hash_key`` keys the request hash that names a row without a letter number."""
    errors: list[tuple[str, str]] = []
    text = {field: v.cell_text(raw) for field, raw in cells.items()}
    letter_no = re.sub(r"\s+", " ", text.get("letter_no", "")) or None

    district, problem = _district(text.get("district_code", ""))
    if problem:
        errors.append(("district_code", problem))
    subdistrict, problem = _subdistrict(text.get("subdistrict_code", ""), district)
    if problem:
        errors.append(("subdistrict_code", problem))

    channel: ChannelCode | None = None
    if text.get("channel"):
        channel = v.lookup(v.CHANNELS, text["channel"])
        if channel is None:
            errors.append(
                (
                    "channel",
                    f"unknown channel {text['channel']!r}; use a code or "
                    "label of /v1/reference/channels",
                )
            )
    elif letter_no:
        channel = ChannelCode.letter  # a register row with a letter number came by letter
    else:
        errors.append(("channel", "is required (or give the letter number of a letter)"))

    category = None
    if text.get("category"):
        category = v.lookup(v.CATEGORIES, text["category"])
        if category is None:
            errors.append(
                (
                    "category",
                    f"unknown category {text['category']!r}; use a code "
                    "or label of /v1/reference/categories",
                )
            )
    else:
        errors.append(("category", "is required"))

    received_at = _moment(cells, "received_at", errors)
    if received_at is None and not any(f == "received_at" for f, _ in errors):
        errors.append(("received_at", "is required"))

    anonymous = not text.get("name")
    if text.get("anonymous"):
        try:
            anonymous = v.parse_flag(cells["anonymous"])
        except ValueError as exc:
            errors.append(("anonymous", str(exc)))
    identity = {
        k: text.get(k) or None for k in ("title", "name", "national_id", "email", "address")
    }
    identity["phone"] = _phone(text["phone"]) if text.get("phone") else None
    request: dict[str, Any] = {
        "channel": (channel or ChannelCode.letter).value,
        "category": category.value if category else "other",
        "district_code": district,
        "subdistrict_code": subdistrict,
        "subject": text.get("subject") or None,
        # Registers often keep only a subject line: it then stands for the description.
        "description": text.get("description") or text.get("subject") or None,
        "received_at": received_at.isoformat() if received_at else None,
        "channel_ref": f"{district}:{letter_no}" if letter_no and district else None,
        "complainant": {
            "anonymous": anonymous,
            **{k: val for k, val in identity.items() if val is not None},
        },
    }
    command: FileComplaint | None = None
    try:
        command = parse_complaint(request, now, backfilled=True)
    except InvalidComplaint as exc:
        reported = {field for field, _ in errors}
        for e in exc.errors:
            field = e.field.removeprefix("complainant.")
            field = _PARSE_FIELD.get(field, field)
            if field not in reported:
                errors.append((field, e.message))

    # The outcome's free texts go to status as they are; the request's went through
    # parse_complaint, which refuses characters a store cannot keep.
    for field in ("reason", "agency"):
        problem = text_problem(text.get(field, ""))
        if problem:
            errors.append((field, problem))
    outcome = _outcome(cells, text, received_at, now, errors)
    if errors or command is None:
        raise RowRejected([f"{field}: {message}" for field, message in errors])
    digest = None if letter_no else command.request_hash(hash_key)
    key = (
        f"backfill:{command.district_code}:letter:{_digest(v.match_key(letter_no))}"
        if digest is None
        else f"backfill:{command.district_code}:row:{digest.hex()[:40]}"
    )
    return BackfillRow(number, dataclasses.replace(command, idempotency_key=key), outcome, digest)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _outcome(
    cells: Mapping[str, Any],
    text: Mapping[str, str],
    received_at: dt.datetime | None,
    now: dt.datetime,
    errors: list[tuple[str, str]],
) -> BackfilledOutcome | None:
    """The case's outcome so far from status / closed_at / closure_reason / ... cells."""
    status: str | None = None
    if text.get("status"):
        status = v.STATUSES.get(v.match_key(text["status"]))
        if status is None:
            errors.append(
                (
                    "status",
                    f"unknown status {text['status']!r} (use e.g. "
                    "รับเรื่อง, อยู่ระหว่างดำเนินการ, ส่งต่อ, ยุติเรื่อง, "
                    "ไม่รับเรื่อง)",
                )
            )
            return None
    closed_at = _moment(cells, "closed_at", errors)
    reason = None
    if text.get("closure_reason"):
        reason = v.lookup(v.CLOSURE_REASONS, text["closure_reason"])
        if reason is None:
            errors.append(("closure_reason", f"unknown closure reason {text['closure_reason']!r}"))
    if status is None and (closed_at or text.get("closure_reason")):
        status = "closed"
    if status in (None, "filed"):
        if closed_at or text.get("closure_reason"):
            errors.append(
                (
                    "status",
                    "says the case is not closed, but a closed date or closure reason is given",
                )
            )
        return None
    if status != "closed" and (closed_at or text.get("closure_reason")):
        errors.append(("status", f"is {status}, but a closed date or closure reason is given"))
        return None

    at: dt.datetime | None
    due = None
    if status == "closed":
        at = closed_at
        if closed_at is None and not any(f == "closed_at" for f, _ in errors):
            errors.append(("closed_at", "is required for a closed case"))
        if reason is None and not text.get("closure_reason"):
            errors.append(("closure_reason", "is required for a closed case"))
        field = "closed_at"
    else:
        at = _moment(cells, "status_at", errors) or received_at
        field = "status_at"
        if status == "rejected" and not text.get("reason"):
            errors.append(("reason", "is required for a rejected case"))
        if status == "forwarded":
            if not text.get("agency"):
                errors.append(("agency", "is required for a forwarded case"))
            try:
                due = v.parse_date(cells.get("due_date"))
            except ValueError as exc:
                errors.append(("due_date", f"is required for a forwarded case ({exc})"))
    if at is None or received_at is None:
        return None
    if at > now:
        errors.append((field, "must not be in the future"))
        return None
    if at.astimezone(BANGKOK).date() < received_at.astimezone(BANGKOK).date():
        errors.append((field, "is before the received date"))
        return None
    try:
        return BackfilledOutcome(
            status=status,  # type: ignore[arg-type]  # checked against STATUSES above
            at=max(at, received_at),
            closure_reason=reason,
            reason=text.get("reason") or None,
            agency=text.get("agency") or None,
            due_date=due,
        )
    except ValueError as exc:  # pydantic: a field the checks above did not foresee
        errors.append(("status", str(exc)))
        return None
