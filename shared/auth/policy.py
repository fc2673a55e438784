"""Who may do what, where: pure decisions over a principal and a resource's area.

Two questions, always in this order: does the role allow the kind of operation at all
(``permits``; no: 403, whatever the resource), and does the principal's jurisdiction cover
the resource (``covers``; no: 403 for a write, 404 for a read, so that a read never tells
whether something exists outside one's jurisdiction).  List and KPI filters are confined
to the jurisdiction by ``confine``.  No I/O; the HTTP edges turn decisions into answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from shared.auth.principal import Grant, Principal, Role


class Operation(StrEnum):
    file = "file"  # POST a complaint
    import_ = "import"  # backfill a register
    transition = "transition"  # move a case (single or bulk)
    read_case = "read_case"  # one case: intake's record, status, history
    audit = "audit"  # hash-chain verification and audit reports
    list_cases = "list_cases"  # worklists
    read_kpi = "read_kpi"  # KPI reports
    reference = "reference"  # code lists: any authenticated principal
    erase_personal_data = "erase_personal_data"  # PDPA erasure of one complainant
    read_contact = "read_contact"  # a consenting complainant's contact details, to tell them


WRITES = frozenset(
    {Operation.file, Operation.import_, Operation.transition, Operation.erase_personal_data}
)
_FILINGS = frozenset({Operation.file, Operation.import_})
_READS = frozenset(
    {Operation.read_case, Operation.list_cases, Operation.read_kpi, Operation.reference}
)
_NOTIFIER_ONLY = frozenset({Operation.read_contact})

ROLE_OPERATIONS: dict[Role, frozenset[Operation]] = {
    Role.channel: frozenset({Operation.file, Operation.reference}),
    Role.district_officer: frozenset(
        {
            Operation.file,
            Operation.import_,
            Operation.transition,
            Operation.erase_personal_data,
            *_READS,
        }
    ),
    Role.provincial_officer: frozenset({Operation.transition, *_READS}),
    Role.national_supervisor: _READS,
    Role.auditor: frozenset({Operation.audit, *_READS}),
    # Everything but contact details: a complainant's phone, e-mail and LINE id are given
    # out only to send the messages they asked for, by the notify service.
    Role.admin: frozenset(Operation) - _NOTIFIER_ONLY,
    Role.notifier: _NOTIFIER_ONLY,
}


@dataclass(frozen=True, slots=True)
class Area:
    """Where a resource belongs: a case's (or a filing's) province, district and channel,
    and its category where known (some categories are not for every officer)."""

    province_code: str
    district_code: str
    channel: str | None = None
    category: str | None = None


class Decision(Enum):
    allow = 200
    forbidden = 403
    not_found = 404


class OutOfScope(Exception):
    """A filter names an area outside the principal's jurisdiction (answered 403)."""


def permits(p: Principal, op: Operation) -> bool:
    """Whether ``p``'s role may perform ``op`` anywhere."""
    return op in ROLE_OPERATIONS[p.role]


def covers(p: Principal, area: Area) -> bool:
    """Whether ``area`` lies in ``p``'s jurisdiction."""
    if p.role is Role.channel:
        return p.channel is not None and area.channel == p.channel.value
    if p.role is Role.district_officer:
        return area.district_code == p.district_code
    if p.role is Role.provincial_officer:
        return area.province_code == p.province_code
    return True  # national supervisors, auditors and admins see the whole country


# Whistle-blower complaints against officials: the district office may be the very office
# complained about, so such cases are read and moved only at provincial level and above.
# Filing stays open to everyone who files (the complainant walks into any office).
RESTRICTED_CATEGORIES = frozenset({"official_misconduct"})
_LOCAL_ROLES = frozenset({Role.channel, Role.district_officer})


def sees_category(p: Principal, category: str | None) -> bool:
    """Whether ``p`` may read or act on cases of ``category``."""
    return category not in RESTRICTED_CATEGORIES or p.role not in _LOCAL_ROLES


def hidden_categories(p: Principal) -> frozenset[str]:
    """The categories that lists must leave out for ``p``."""
    return RESTRICTED_CATEGORIES if p.role in _LOCAL_ROLES else frozenset()


def decide(p: Principal, op: Operation, area: Area | None = None) -> Decision:
    """Allow, or how to refuse: 403 for a role that may not, or a write out of
    jurisdiction; 404 for a read out of jurisdiction (no existence leaks).  A case of a
    restricted category lies outside a district officer's jurisdiction."""
    if not permits(p, op):
        return Decision.forbidden
    if area is None or (covers(p, area) and (op in _FILINGS or sees_category(p, area.category))):
        return Decision.allow
    return Decision.forbidden if op in WRITES else Decision.not_found


def confine(
    p: Principal, province_code: str | None, district_code: str | None
) -> tuple[str | None, str | None]:
    """List/KPI filters within ``p``'s jurisdiction: an officer's missing filter becomes
    its own area; a filter naming another area raises OutOfScope."""
    if p.role is Role.district_officer:
        assert p.district_code is not None and p.province_code is not None
        if district_code not in (None, p.district_code):
            raise OutOfScope(f"district {district_code} is outside your district")
        if province_code not in (None, p.province_code):
            raise OutOfScope(f"province {province_code} is outside your district")
        return p.province_code, p.district_code
    if p.role is Role.provincial_officer:
        assert p.province_code is not None
        if province_code not in (None, p.province_code):
            raise OutOfScope(f"province {province_code} is outside your province")
        if district_code is not None and district_code[:2] != p.province_code:
            raise OutOfScope(f"district {district_code} is outside your province")
        return p.province_code, district_code
    return province_code, district_code


def import_district(p: Principal) -> str | None:
    """The only district whose rows ``p`` may import (None: any)."""
    return p.district_code if p.role is Role.district_officer else None


def sees_personal_data(p: Principal) -> bool:
    """Auditors see no complainant data unless granted ``pii_reader``."""
    return p.role is not Role.auditor or p.has(Grant.pii_reader)


def reads_clear_personal_data(p: Principal) -> bool:
    """Only ``pii_reader`` principals read complainants' clear identity (each read is
    recorded); everyone else sees masked values at most."""
    return p.has(Grant.pii_reader)
