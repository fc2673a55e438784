"""The parts of intake that face citizens' channels and public views, wired in one place.

Each is a sub-package with the service's floor plan (ARCHITECTURE.md §3) whose ``api``
module brings a ``router`` and, when it runs something beside the HTTP server (a receiver,
a sender), ``start(app, runtime)`` and ``stop(app)`` hooks that ``main`` calls after the
store is open and before it closes.
"""

from __future__ import annotations

from types import ModuleType

from services.intake.contacts import api as contacts
from services.intake.email import api as email
from services.intake.line import api as line
from services.intake.open311 import api as open311
from services.intake.tracking import api as tracking

EXTENSIONS: tuple[ModuleType, ...] = (open311, line, email, tracking, contacts)
