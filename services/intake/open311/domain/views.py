"""What the public sees of a request: our case states as GeoReport ``open``/``closed``, and
the request document's fields.

No personal data, and none of the complainant's own words: neither the subject nor the
description is published.  We are a government grievance channel that also takes
whistle-blowing; a description often names people, places and the complainant's own
situation, and we cannot review each one before it goes public (FixMyStreet can publish
descriptions because its reports are about potholes, not neighbours).  What is published:
the category, the area codes and names (public geography), dates, the status with the
closure reason's Thai label, and the agency a case was forwarded to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import geothai

from services.intake.open311.domain.catalogue import service
from services.intake.tracking.domain.view import PublicCase, open_closed
from shared.codes import CLOSURE_REASON_LABELS, CaseStatus, ClosureReason
from shared.thai_calendar import BANGKOK

# Notes for states without a closure reason: fixed Thai texts, never an officer's own note
# (a rejection's reason is free text and may name people).
_NOTES = {
    "filed": "รับเรื่องแล้ว รอเจ้าหน้าที่พิจารณา",
    "accepted": "เจ้าหน้าที่รับเรื่องไว้พิจารณาแล้ว",
    "in_progress": "อยู่ระหว่างดำเนินการ",
    "forwarded": "ส่งเรื่องให้หน่วยงานที่รับผิดชอบแล้ว",
    "reopened": "เปิดเรื่องขึ้นพิจารณาใหม่",
    "rejected": "ไม่รับไว้พิจารณา",
}


@dataclass(frozen=True, slots=True)
class PublicState:
    status: str  # "open" or "closed"
    notes: str | None
    agency: str | None


def public_state(status: str, closure_reason: str | None, agency: str | None) -> PublicState:
    """Our case ``status`` as GeoReport's: closed and rejected cases are ``closed`` (with
    the closure reason's Thai label as notes), every other state ``open``.  The agency is
    shown while the case is forwarded and after, as the one responsible."""
    try:
        state = open_closed(CaseStatus(status))
    except ValueError:  # a status newer than this code: say only that it is open
        return PublicState("open", None, agency or None)
    if status == CaseStatus.closed:
        try:
            notes: str | None = CLOSURE_REASON_LABELS[ClosureReason(closure_reason or "")][0]
        except ValueError:
            notes = None
    else:
        notes = _NOTES.get(status)
    return PublicState(state, notes, agency or None)


@dataclass(frozen=True, slots=True)
class RequestView:
    """One case as the public request view shows it (no personal data, no free text)."""

    tracking_no: str
    category: str
    district_code: str
    subdistrict_code: str | None
    status: str  # our case status
    closure_reason: str | None
    agency: str | None
    received_at: dt.datetime
    updated_at: dt.datetime


def from_public_case(case: PublicCase) -> RequestView:
    """The request view of a case in intake's public view (``services.intake.tracking``)."""
    return RequestView(
        tracking_no=case.tracking_no,
        category=case.category,
        district_code=case.district_code,
        subdistrict_code=case.subdistrict_code,
        status=case.status.value,
        closure_reason=None if case.closure_reason is None else case.closure_reason.value,
        agency=case.agency,
        received_at=case.received_at,
        updated_at=case.updated_at,
    )


def _w3(moment: dt.datetime) -> str:
    return moment.astimezone(BANGKOK).isoformat(timespec="seconds")


def _place(district_code: str, subdistrict_code: str | None) -> tuple[str | None, str | None]:
    """A readable Thai address (subdistrict, district, province) and the postal code when
    the subdistrict has exactly one."""
    district = geothai.district(district_code)
    if district is None:
        return None, None
    province = geothai.province(district.province_code)
    parts = [district.name_th, province.name_th if province else ""]
    zipcode = None
    sub = geothai.subdistrict(subdistrict_code) if subdistrict_code else None
    if sub is not None:
        parts.insert(0, sub.name_th)
        zipcode = sub.postal_codes[0] if len(sub.postal_codes) == 1 else None
    return " ".join(p for p in parts if p), zipcode


def request_fields(view: RequestView) -> dict[str, Any]:
    """The GeoReport ``request`` of a case, its fields in the specification's order."""
    state = public_state(view.status, view.closure_reason, view.agency)
    svc = service(view.category)
    address, zipcode = _place(view.district_code, view.subdistrict_code)
    return {
        "service_request_id": view.tracking_no,
        "status": state.status,
        "status_notes": state.notes,
        "service_name": svc.name if svc else view.category,
        "service_code": view.category,
        "description": None,
        "agency_responsible": state.agency,
        "service_notice": None,
        "requested_datetime": _w3(view.received_at),
        "updated_datetime": _w3(view.updated_at),
        "expected_datetime": None,
        "address": address,
        "address_id": view.subdistrict_code or view.district_code,
        "zipcode": zipcode,
        "lat": None,
        "long": None,
        "media_url": None,
    }
