"""Jinja2 set-up: autoescaping everywhere, Thai dates and numbers as filters, and the
message catalogue loaded from ``messages/*.toml``."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

from services.console.domain import dates
from services.console.domain.i18n import Catalogue, flatten

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
MESSAGES = HERE / "messages"
STATIC = HERE / "static"


def load_catalogue(folder: Path = MESSAGES) -> Catalogue:
    """Every ``*.toml`` under ``folder`` (one per area of the console) as one catalogue;
    a key defined twice is an error, not a silent override."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as f:
            part = flatten(tomllib.load(f))
        clash = out.keys() & part.keys()
        if clash:
            raise ValueError(f"{path.name}: message keys defined twice: {sorted(clash)}")
        out.update(part)
    return out


def number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def percent(value: Any, digits: int = 1) -> str:
    """A rate in [0, 1] as ``87.5%``; ``–`` when there is nothing to rate."""
    if value is None:
        return "–"
    return f"{float(value) * 100:.{digits}f}%"


def be_date_text(value: str | None, lang: str = "th") -> str:
    """An ISO date or date-time as a service sends it, as ``be_date`` shows it."""
    if not value:
        return "–"
    moment = dt.datetime.fromisoformat(value)
    return dates.be_date(moment.date() if len(value) == 10 else moment, lang)


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.autoescape = True  # every template, whatever its extension: user text is data
    env.trim_blocks = True
    env.lstrip_blocks = True
    env.filters.update(
        be_date=dates.be_date,
        be_datetime=dates.be_datetime,
        be_month=dates.be_month,
        be_date_text=be_date_text,
        number=number,
        percent=percent,
    )
    env.globals["fiscal_year_of"] = dates.current_fiscal_year
    return templates
