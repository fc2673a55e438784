"""The files the console serves from others are the pinned ones its licence notes name."""

from __future__ import annotations

import hashlib

from services.console.templating import STATIC

PINNED = {
    "vendor/htmx-2.0.11.min.js": "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717",
    "fonts/sarabun-latin-400-normal.woff2": (
        "04548534510686923239aeda26dd40fa57bf6cc55166204ef52b483bcf9e4228"
    ),
    "fonts/sarabun-latin-700-normal.woff2": (
        "b7e814f0f8a07648c77837917ff896c819d44ed4688a83f49b9cb29fdf7898fb"
    ),
    "fonts/sarabun-thai-400-normal.woff2": (
        "444ccfffc6e9201b86993a233a42481bee7fe485fe5f330d956f22356249b392"
    ),
    "fonts/sarabun-thai-700-normal.woff2": (
        "1ca031c8d598e7435f653e44f592fe0ac64e9e402066719fe061fdfe833cca1e"
    ),
}


def test_vendored_files_are_the_pinned_ones_and_licensed() -> None:
    notes = (STATIC / "LICENSES.md").read_text("utf-8")
    for name, digest in PINNED.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name
        assert name.split("/")[0] in notes
    assert (STATIC / "vendor/htmx-LICENSE.txt").exists()
    assert (STATIC / "fonts/Sarabun-OFL.txt").exists()


def test_no_page_loads_anything_from_another_site() -> None:
    for path in (STATIC.parent / "templates").rglob("*.html"):
        text = path.read_text("utf-8")
        assert "https://" not in text and "http://" not in text and "//cdn" not in text, path
