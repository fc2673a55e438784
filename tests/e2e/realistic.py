"""Schema-valid requests made real: the rules the services check beyond their OpenAPI
schemas, applied to the data schemathesis generates as valid.

JSON Schema states a filing's fields and a register's media type; it cannot state that a
subdistrict lies inside the district, that a time is not in the future, a national ID's
checksum, a real Thai number, a register's header row, or that a period does not end
before it starts.  Schemathesis's positive data would be refused for those (422, its
"schema-valid request rejected"), so a positive case gets them right here, and only them;
its other fields stay as generated.  Invalid data is left alone: the services must refuse
it.  Anything else the services refuse of positive data is a finding: a rule the schema
does not state.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Callable
from typing import Any

import geothai

from shared import feedback_links

NATIONAL_ID = "1101700230708"  # a valid checksum
PHONE = "0812345678"
EMAIL = "somchai@example.com"
RECEIVED_AT = "2024-01-02T09:30:00+07:00"
REGISTER_HEADER = ("เขต", "วันที่รับเรื่อง", "ประเภท", "ช่องทาง", "เรื่อง")


def _given(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _complaint(case: Any) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    if body.get("subdistrict_code") is not None:
        inside = geothai.subdistricts(body["district_code"])
        body["subdistrict_code"] = inside[0].code if inside else None
    if body.get("received_at") is not None:
        body["received_at"] = RECEIVED_AT
    who = body["complainant"]
    if who["anonymous"]:
        body["complainant"] = {"anonymous": True}
        return
    if not _given(who.get("name")):
        who["name"] = "สมชาย"
    for key, real in (("national_id", NATIONAL_ID), ("phone", PHONE), ("email", EMAIL)):
        if _given(who.get(key)):
            who[key] = real


def _register(case: Any) -> None:
    """The generated file's text becomes the subject of a one-row register (a row that
    breaks the row rules is reported in the answer, not refused)."""
    body = case.body
    if not isinstance(body, dict) or "file" not in body:
        return
    raw = body["file"]
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REGISTER_HEADER)
    writer.writerow(("5001", "1/1/2567", "land", "walk_in", text))
    body["file"] = out.getvalue().encode("utf-8")


def _period(case: Any) -> None:
    query = case.query
    if query["to"] < query["from"]:  # ISO dates of the same width sort as they fall
        query["from"], query["to"] = query["to"], query["from"]


def _track(case: Any) -> None:
    """Public tracking takes one proof, the phone's last four digits or the secret (an
    unknown number then answers 404, as a wrong proof does)."""
    case.query = {"phone_last4": "1234"}


# The hostile platform's secret of feedback links (tests/e2e/test_hostile.py).
FEEDBACK_LINK_SECRET = "hostile-feedback-link-secret-of-32-characters-or-more"


def _feedback_token() -> str:
    """A genuine link to a case nobody filed: answered 404, as any unknown resource."""
    return feedback_links.issue(uuid.uuid4(), 5, FEEDBACK_LINK_SECRET, dt.datetime.now(dt.UTC))


def _feedback(case: Any) -> None:
    if isinstance(case.body, dict):
        case.body["token"] = _feedback_token()
        case.body.setdefault("score", 3)


def _feedback_view(case: Any) -> None:
    case.path_parameters = {**(case.path_parameters or {}), "token": _feedback_token()}


REPAIRS: dict[str, Callable[[Any], None]] = {
    "POST /v1/feedback": _feedback,
    "GET /v1/feedback/{token}": _feedback_view,
    "GET /v1/track/{tracking_no}": _track,
    "POST /v1/complaints": _complaint,
    "POST /v1/imports": _register,
    "POST /v1/imports/jobs": _register,
    "GET /v1/reports/cases": _period,
}


def map_case(context: Any, case: Any) -> Any:
    """Schemathesis hook: a positive case of an operation in ``REPAIRS`` made real."""
    repair = REPAIRS.get(case.operation.label)
    if repair is not None and case.meta is not None and case.meta.generation.mode.is_positive:
        repair(case)
    return case
