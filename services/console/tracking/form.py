"""The tracking form's rules (pure): what the citizen typed, made into intake's query.

Thai digits are read as digits and spaces and dashes as typed are tolerated, since a
tracking number is often copied from a paper receipt; the shapes intake accepts are
checked here only to name the field to correct (intake checks them again).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_TRACKING_RE = re.compile(r"[0-9]{4}-[0-9]{4}-[0-9]{7,12}")
_LAST4_RE = re.compile(r"[0-9]{4}")
MAX_FIELD = 64  # longer than any valid value: a longer one is refused before any work


@dataclass(frozen=True, slots=True)
class TrackForm:
    """The form as typed (shown back on an error; never the secret)."""

    tracking_no: str = ""
    phone_last4: str = ""
    secret: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # field -> message key

    @property
    def query(self) -> dict[str, str]:
        """Intake's query parameters (only when ``errors`` is empty)."""
        if self.secret:
            return {"secret": self.secret}
        return {"phone_last4": self.phone_last4}


def _text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def normalise_number(text: str) -> str:
    """``๕๐๐๑ - ๒๕๖๙ - ๐๐๐๐๐๑๒`` -> ``5001-2569-0000012``."""
    return re.sub(r"\s*-\s*", "-", text.translate(_THAI_DIGITS)).replace(" ", "")


def parse_form(form: Mapping[str, object]) -> TrackForm:
    """The submitted form, with a message key for each field to correct."""
    raw_no, raw_phone, raw_secret = (
        _text(form, "tracking_no"),
        _text(form, "phone_last4"),
        _text(form, "secret"),
    )
    errors: dict[str, str] = {}
    number = normalise_number(raw_no[: MAX_FIELD + 1])
    phone = raw_phone[: MAX_FIELD + 1].translate(_THAI_DIGITS).replace(" ", "")
    secret = raw_secret[: MAX_FIELD + 1]
    if not number:
        errors["tracking_no"] = "tracking.error.tracking_no_missing"
    elif len(number) > MAX_FIELD or not _TRACKING_RE.fullmatch(number):
        errors["tracking_no"] = "tracking.error.tracking_no_shape"
    if phone and secret:
        errors["phone_last4"] = "tracking.error.both"
    elif not phone and not secret:
        errors["phone_last4"] = "tracking.error.proof_missing"
    elif phone and not _LAST4_RE.fullmatch(phone):
        errors["phone_last4"] = "tracking.error.phone_shape"
    elif len(secret) > MAX_FIELD:
        errors["secret"] = "tracking.error.secret_shape"
    return TrackForm(
        tracking_no=number if len(number) <= MAX_FIELD else "",
        phone_last4=phone if len(phone) <= MAX_FIELD else "",
        secret=secret if len(secret) <= MAX_FIELD else "",
        errors=errors,
    )


def wait_minutes(retry_after: str | None) -> int:
    """Whole minutes to wait, from intake's ``Retry-After`` seconds (at least 1)."""
    try:
        seconds = int(retry_after or "60")
    except ValueError:
        seconds = 60
    return max(1, math.ceil(seconds / 60))
