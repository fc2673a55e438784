"""The filing a conversation ends in, as the body of intake's REST filing (validated by
``parse_complaint`` like every other channel's)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.intake.line.domain.conversation import Filing


def complaint_body(
    filing: Filing, received_at: dt.datetime, line_user_id: str | None = None
) -> dict[str, Any]:
    """The REST filing body of ``filing``.  A named complainant with ``line_user_id``
    consents to be told on LINE (``notify``); without a name the complaint is anonymous."""
    d = filing.draft
    complainant: dict[str, Any] = {"anonymous": True}
    if d.name is not None:
        complainant = {"anonymous": False, "name": d.name}
        if line_user_id is not None:
            complainant |= {"notify": ["line"], "line_user_id": line_user_id}
    return {
        "channel": "line",
        "district_code": d.district_code,
        "category": d.category,
        "subject": d.subject,
        "description": d.description,
        "received_at": received_at.isoformat(),
        "complainant": complainant,
        "channel_ref": filing.channel_ref,
    }
