"""``GET /v1/reports/cases``: a district's cases of a period, from the stored events.

The very report ``damrong audit replay`` prints from the topic alone (both are
``domain.report.case_report``), so an auditor can check the live service against the log.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from services.status.deps import Pool
from services.status.domain.report import case_report
from services.status.reports.schemas import CaseReportOut
from services.status.reports.store import district_streams
from shared.auth.deps import Caller, confined
from shared.auth.policy import Operation
from shared.http import Problem, problem_type
from shared.iso_dates import IsoDate

router = APIRouter(prefix="/v1/reports", tags=["reports"])
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9998, 12, 31)
# The same bounds for the OpenAPI schema (JSON Schema has no range for dates): years
# 1900 to 9998.
DAY_PATTERN = r"^(19\d{2}|[2-8]\d{3}|9[0-8]\d{2}|99[0-8]\d|999[0-8])-\d{2}-\d{2}$"


@router.get("/cases", response_model=CaseReportOut)
async def get_case_report(
    pool: Pool,
    principal: Caller,
    district_code: Annotated[str, Query(pattern=r"^\d{4}$")],
    date_from: Annotated[
        IsoDate,
        Query(
            alias="from",
            description="first day (Bangkok)",
            json_schema_extra={"pattern": DAY_PATTERN},
        ),
    ],
    date_to: Annotated[
        IsoDate,
        Query(
            alias="to", description="last day (Bangkok)", json_schema_extra={"pattern": DAY_PATTERN}
        ),
    ],
) -> CaseReportOut:
    """Cases received in the district from ``from`` to ``to`` (Bangkok days, both included):
    how many, open and closed by status, transitions by type, closures by reason."""
    confined(principal, Operation.audit, None, district_code)  # auditors and admins
    for name, day in (("from", date_from), ("to", date_to)):
        if not FIRST_DAY <= day <= LAST_DAY:  # beyond, the bounds overflow timestamptz
            message = f"must be from {FIRST_DAY} to {LAST_DAY}"
            raise Problem(
                422,
                "Invalid request",
                f"query.{name}: {message}",
                type_=problem_type("validation"),
                errors=[{"field": f"query.{name}", "message": message}],
            )
    if date_to < date_from:
        raise Problem(
            422,
            "Invalid request",
            "query.to: is before from",
            type_=problem_type("validation"),
            errors=[{"field": "query.to", "message": "is before from"}],
        )
    streams = await district_streams(pool, district_code, date_from, date_to)
    report = case_report(streams, district_code, date_from, date_to)
    return CaseReportOut.model_validate(report.as_dict())
