"""The pure core of the status service: no I/O, no logging, time passed in.

* ``cases``: the case state machine (``decide`` / ``evolve``), re-exported here;
* ``outcomes``: the events that bring a backfilled filing to its recorded outcome;
* ``worklists``: what counts as open, stale, overdue, and how old a case is.
"""

from services.status.domain.cases import (
    CLOCK_SKEW,
    OPEN_STATES,
    TRANSITIONS,
    Action,
    CaseState,
    DomainError,
    IllegalTransition,
    InvalidField,
    MissingField,
    TransitionCommand,
    TransitionEvent,
    decide,
    effective_time,
    evolve,
    fold,
)
from shared.codes import CaseStatus

__all__ = [
    "CLOCK_SKEW",
    "OPEN_STATES",
    "TRANSITIONS",
    "Action",
    "CaseState",
    "CaseStatus",
    "DomainError",
    "IllegalTransition",
    "InvalidField",
    "MissingField",
    "TransitionCommand",
    "TransitionEvent",
    "decide",
    "effective_time",
    "evolve",
    "fold",
]
