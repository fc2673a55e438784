"""The SLA policy: days to close per category, as the policy file states them.  Pure: the
file is read by ``services.kpi.deps.load_sla``."""

from __future__ import annotations

import tomllib

from services.kpi.domain.metrics import SlaPolicy
from shared.codes import CategoryCode


def parse(text: str) -> SlaPolicy:
    """The policy a TOML document states; ValueError for an unknown category or a
    number of days that is not a positive integer."""
    doc = tomllib.loads(text)
    default = doc.get("default_days", 30)
    by_category = doc.get("categories", {})
    for name, days in [("default_days", default), *by_category.items()]:
        if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
            raise ValueError(f"SLA days for {name!r} must be a positive integer")
    unknown = set(by_category) - {c.value for c in CategoryCode}
    if unknown:
        raise ValueError(f"unknown categories in SLA policy: {sorted(unknown)}")
    return SlaPolicy(default, dict(by_category))
