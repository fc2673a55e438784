"""Consent to be told (PDPA): the channels a complainant chose at filing, and the contact
details each one needs.  Pure: no I/O.

The choice is kept with the identity, sealed under the complainant's data key: erasing the
complainant ends the messages too.  What ``disclosed`` returns is all that intake ever gives
the notify service: the consent list and, of the contact details, only those of the
channels consented to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.intake.domain.filing import Complainant

# The channels a complainant may be told through, and the identity field each one needs.
CHANNEL_FIELDS: dict[str, str] = {"line": "line_user_id", "email": "email", "sms": "phone"}
NOTIFY_CHANNELS = tuple(CHANNEL_FIELDS)
# A LINE user id as LINE gives it to a bot: "U" and 32 hexadecimal digits.
LINE_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
# Identity keys of the sealed record (beside the complainant's own fields).
NOTIFY_KEY = "notify"
LINE_KEY = "line_user_id"


@dataclass(frozen=True, slots=True)
class ConsentingComplainant(Complainant):
    """A named complainant and the channels they chose to be told through (may be none)."""

    notify: tuple[str, ...] = ()
    line_user_id: str | None = None

    def identity(self) -> dict[str, str]:
        """The identity to seal: the complainant's fields, the LINE user id, and the
        consent list (comma-separated, in the order of ``NOTIFY_CHANNELS``)."""
        out = Complainant.identity(self)
        if self.line_user_id is not None:
            out[LINE_KEY] = self.line_user_id
        if self.notify:
            out[NOTIFY_KEY] = ",".join(self.notify)
        return out


def consent_of(identity: dict[str, str]) -> tuple[str, ...]:
    """The channels an opened identity consented to (none for one filed before consent
    existed), each only if its contact detail is there."""
    chosen = [c for c in identity.get(NOTIFY_KEY, "").split(",") if c in CHANNEL_FIELDS]
    return tuple(c for c in NOTIFY_CHANNELS if c in chosen and identity.get(CHANNEL_FIELDS[c]))


def disclosed(identity: dict[str, str]) -> dict[str, str]:
    """Of an opened identity, only the contact details of the consented channels."""
    return {CHANNEL_FIELDS[c]: identity[CHANNEL_FIELDS[c]] for c in consent_of(identity)}
