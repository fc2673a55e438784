"""The message templates, read once from ``templates/messages.toml`` (Thai)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from services.notify.domain.decisions import TEMPLATES
from services.notify.domain.rendering import LINK_SUFFIX, Template, parse_templates

TEMPLATE_FILE = Path(__file__).parent / "templates" / "messages.toml"


@cache
def load_templates(path: Path = TEMPLATE_FILE) -> dict[str, Template]:
    """Every template; ValueError if one an event needs is missing (a broken release must
    not start rather than fail at the first send)."""
    templates = parse_templates(tomllib.loads(path.read_text(encoding="utf-8")))
    missing = {*TEMPLATES.values(), f"closed{LINK_SUFFIX}"} - templates.keys()
    if missing:
        raise ValueError(f"{path}: no template for {', '.join(sorted(missing))}")
    return templates
