"""GeoReport v2 errors: an HTTP status and a list of ``{code, description}``.

The specification's rule: 404 for a resource that does not exist, 403 for a missing or
wrong ``api_key``, 400 for any other request that cannot be fulfilled.  The ``code`` in
the body may be more specific than the status (413 for a body over the size limit).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorItem:
    code: int
    description: str


class Open311Error(Exception):
    """A request refused with ``status``; ``errors`` says why, one item per problem."""

    def __init__(self, status: int, errors: Iterable[ErrorItem]) -> None:
        self.status, self.errors = status, list(errors)
        super().__init__("; ".join(e.description for e in self.errors))

    @classmethod
    def one(cls, status: int, description: str, code: int | None = None) -> Open311Error:
        return cls(status, [ErrorItem(code or status, description)])


def bad_fields(problems: Iterable[tuple[str, str]]) -> Open311Error:
    """400 naming every bad parameter: ``(parameter, what is wrong)`` pairs."""
    return Open311Error(400, [ErrorItem(400, f"{field}: {message}") for field, message in problems])


def error_body(errors: Iterable[ErrorItem]) -> list[dict[str, object]]:
    """The ``errors`` document's body (``<errors><error>`` in XML, an array in JSON)."""
    return [{"code": e.code, "description": e.description} for e in errors]
