"""Which characters a stored text may hold.  Pure.

PostgreSQL's ``text`` cannot hold NUL (the insert fails, and with batched writes it would
fail the other requests of the batch too), lone surrogates cannot be encoded as UTF-8, and
other C0 control characters have no place in a complaint: they only hide text from the
officer who reads it.  Tabs and line breaks stay allowed.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None when it can."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    return (f"must not contain the control character U+{ord(found.group()):04X} "
            f"(at position {found.start() + 1})")


def _checked(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# For request models: a string the stores can keep, refused with a clear 422 otherwise.
SafeText = Annotated[str, AfterValidator(_checked)]
