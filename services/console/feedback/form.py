"""The feedback form's rules (pure): what the complainant ticked, made into status's body.

Only two inputs count: ``score`` (a radio button, "1".."5"; Thai digits read as digits)
and ``not_solved`` (a checkbox).  Anything else sent is ignored; a value that is not one
the form offers is refused with a message key naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCORES = ("5", "4", "3", "2", "1")  # as offered, best first
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
MAX_TOKEN = 1024  # longer than any feedback link's token: refused before any call


@dataclass(frozen=True, slots=True)
class FeedbackForm:
    """The form as ticked (shown back on an error)."""

    score: int | None = None
    not_solved: bool = False
    errors: dict[str, str] = field(default_factory=dict)  # field -> message key

    def body(self, token: str) -> dict[str, Any]:
        """Status's ``POST /v1/feedback`` body (only when ``errors`` is empty)."""
        out: dict[str, Any] = {"token": token, "not_solved": self.not_solved}
        if self.score is not None:
            out["score"] = self.score
        return out


def _one(form: Mapping[str, object], name: str) -> str | None:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else None


def parse_form(form: Mapping[str, object], *, rated: bool, disputed: bool) -> FeedbackForm:
    """The submitted form; ``rated`` / ``disputed`` say which parts the closure already has
    (those inputs are not offered again, and are ignored if sent)."""
    errors: dict[str, str] = {}
    raw = None if rated else _one(form, "score")
    score: int | None = None
    if raw:
        digit = raw[:2].translate(_THAI_DIGITS)
        if digit in SCORES:
            score = int(digit)
        else:
            errors["score"] = "feedback.error.score"
    not_solved = not disputed and _one(form, "not_solved") in ("yes", "on", "1", "true")
    if not errors and score is None and not not_solved:
        errors["score"] = "feedback.error.nothing"
    return FeedbackForm(score=score, not_solved=not_solved, errors=errors)


def plausible_token(token: str) -> bool:
    """Shaped like a token (three base64url parts): anything else is not sent to status."""
    if not token or len(token) > MAX_TOKEN:
        return False
    parts = token.split(".")
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return len(parts) == 3 and all(p and set(p) <= allowed for p in parts)
