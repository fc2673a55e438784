"""Translations: Thai first, English by choice, one catalogue of message keys.

The catalogue is a mapping ``key -> {"th": ..., "en": ...}`` (loaded by the adapter from
``messages/*.toml``).  A missing English text falls back to Thai, and a missing key shows
itself (``[key]``) rather than failing a page: the unit tests keep both from happening.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("th", "en")
DEFAULT_LANGUAGE = "th"

Catalogue = Mapping[str, Mapping[str, str]]


def language(offered: str | None) -> str:
    """The language to use for a requested one (cookie or query): th unless en is asked."""
    return offered if offered in LANGUAGES else DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Translator:
    catalogue: Catalogue
    lang: str

    def __call__(self, key: str, **values: Any) -> str:
        texts = self.catalogue.get(key)
        if texts is None:
            return f"[{key}]"
        text = texts.get(self.lang) or texts.get(DEFAULT_LANGUAGE) or f"[{key}]"
        return text.format(**values) if values else text


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, dict[str, str]]:
    """``{"nav": {"file": {"th": .., "en": ..}}}`` -> ``{"nav.file": {"th": .., "en": ..}}``."""
    out: dict[str, dict[str, str]] = {}
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping) and set(value) and set(value) <= set(LANGUAGES):
            out[key] = {lang: str(text) for lang, text in value.items()}
        elif isinstance(value, Mapping):
            out.update(flatten(value, key + "."))
        else:
            raise ValueError(f"message {key}: expected a table of th/en texts")
    return out
