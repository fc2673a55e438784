"""Dates and times as requests carry them: ISO 8601 text, as the OpenAPI schemas say.

Pydantic's lax mode also reads a number as a Unix time (``known_at=0.9`` would be
1970-01-01T00:00:00.9Z, ``as_of=0`` 1970-01-01), which no schema states and no client
means; these types refuse it with a 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_ISO = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """``value`` unchanged unless it is a number or text not starting with YYYY-MM-DD."""
    if isinstance(value, int | float) or (isinstance(value, str) and not _ISO.match(value)):
        raise ValueError("must be an ISO 8601 date (YYYY-MM-DD) or date-time")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_text)]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_text)]
