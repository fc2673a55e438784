"""Secrets the embedded platform keeps in its data dir: made once, readable by the owner only.

The token secret, the personal-data keys and the event signing keys all live this way, so
that `damrong up` works with no set-up and the same secrets survive restarts.  Production
sets them from its secret store instead, and then no file is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def load_or_create(path: Path, make: Callable[[], str]) -> str:
    """The secret in ``path``; on first use a new one from ``make``, written 0600.

    Created with O_EXCL: when two launchers race, the loser reads the winner's secret."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(make() + "\n")
    return path.read_text(encoding="ascii").strip()
