"""``python -m shared.healthcheck [PORT ...]``: the container image's health check.

Exit 0 when a service on this host answers 200 on ``/healthz``, else 1.  The one image runs
any of the services, so without arguments it asks each service port from the settings
(INTAKE_PORT, STATUS_PORT, KPI_PORT, CONSOLE_PORT): only the service running in this
container listens.  It imports no service code: a check costs an interpreter start and,
without arguments, the settings.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence

TIMEOUT_S = 3.0


def healthy(ports: Iterable[int], host: str = "127.0.0.1", timeout: float = TIMEOUT_S) -> bool:
    """Whether ``GET /healthz`` answers 200 on any of ``ports``."""
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=timeout) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            continue  # 503 (an HTTPError), refused or timed out: not this one
    return False


def main(argv: Sequence[str]) -> int:
    if argv:
        ports = [int(a) for a in argv]
    else:
        from shared.config import Settings  # only when needed: pydantic costs ~0.3 s

        s = Settings()
        # The console has settings of its own (services/console/config.py): its port only.
        console = int(os.environ.get("CONSOLE_PORT") or 8004)
        ports = [s.intake_port, s.status_port, s.kpi_port, console]
    return 0 if healthy(ports) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
