"""The menu: which pages a principal is shown, decided by the same policy the services
enforce (a page a role may not use is not offered; the services refuse it anyway)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth.policy import Operation, permits
from shared.auth.principal import Principal


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    key: str  # message key of its label
    operation: Operation | None  # None: every signed-in user


NAV: tuple[NavItem, ...] = (
    NavItem("/", "nav.home", None),
    NavItem("/complaints/new", "nav.file", Operation.file),
    NavItem("/imports/new", "nav.import", Operation.import_),
    NavItem("/worklists/backlog", "nav.worklists", Operation.list_cases),
    NavItem("/dashboard", "nav.dashboard", Operation.read_kpi),
    NavItem("/provinces", "nav.provinces", Operation.read_kpi),
    NavItem("/compare", "nav.compare", Operation.read_kpi),
)


# Every page under these prefixes needs the operation beside it: a role that may not is
# refused the page itself (403), not only the service calls behind it.
GATES: tuple[tuple[str, Operation], ...] = (
    ("/complaints/", Operation.file),
    ("/imports/", Operation.import_),
    ("/worklists/", Operation.list_cases),
    ("/cases/", Operation.read_case),
    ("/dashboard", Operation.read_kpi),
    ("/provinces", Operation.read_kpi),
    ("/compare", Operation.read_kpi),
)


def gate(path: str) -> Operation | None:
    """The operation a page at ``path`` needs (None: any signed-in user, or no sign-in)."""
    return next((op for prefix, op in GATES if path.startswith(prefix)), None)


def nav_items(principal: Principal) -> list[NavItem]:
    return [i for i in NAV if i.operation is None or permits(principal, i.operation)]
