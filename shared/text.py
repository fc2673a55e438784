"""Which characters a stored text may hold.  Pure.

PostgreSQL's ``text`` cannot hold NUL (the insert fails, and with batched writes it would
fail the other requests of the batch too), lone surrogates cannot be encoded as UTF-8, and
other C0 control characters have no place in a complaint: they only hide text from the
officer who reads it.  Tabs and line breaks stay allowed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic_core import CoreSchema

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# The same rule as a JSON Schema pattern, escaped, for the OpenAPI documents; without
# the lone surrogates, which UTF-8 JSON cannot carry (and which fuzzers mishandle).
FORBIDDEN_CLASS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff"
PATTERN = rf"^[^{FORBIDDEN_CLASS}]*$"


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None when it can."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    return (
        f"must not contain the control character U+{ord(found.group()):04X} "
        f"(at position {found.start() + 1})"
    )


def _checked(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class _Documented:
    """Puts ``PATTERN`` in a field's JSON schema; the check itself stays ``_checked``,
    whose message names the character and its position."""

    def __get_pydantic_json_schema__(
        self, core: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {**handler(core), "pattern": PATTERN}


# For request models: a string the stores can keep, refused with a clear 422 otherwise.
SafeText = Annotated[str, AfterValidator(_checked), _Documented()]
