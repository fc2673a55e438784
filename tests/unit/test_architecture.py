"""The floor plan, held by the import graph (docs/ARCHITECTURE.md, "The arrows").

* ``shared`` is the ground floor: it imports nothing from ``services`` or ``damrong``.
* A service imports only ``shared`` and itself: no service reads another's code (they
  meet only on the topic and over HTTP), and none imports ``damrong``, the top floor
  that composes them.
* Pure modules (every ``domain`` package, and the pure part of ``shared``) import no
  web, database, broker, logging or process library, and from the project only other
  pure modules.

Imports inside functions count too: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services", "damrong")

# The pure part of the ground floor: the event contract and the arithmetic on it.
PURE_SHARED = {
    "shared.chain",
    "shared.thai_calendar",
    "shared.canonical_json",
    "shared.codes",
    "shared.events",
    "shared.upcasting",
    "shared.text",
    "shared.envelope_codec",
    "shared.auth.principal",
    "shared.auth.policy",
    "shared.contract",
    "shared.feedback_links",
}
# Libraries that do I/O, log, or run processes or event loops.  A pure module that needs
# one of them has I/O in it: the I/O belongs in a store, an adapter or a use case.
IMPURE_LIBRARIES = {
    "fastapi",
    "starlette",
    "asyncpg",
    "aiokafka",
    "httpx",
    "uvicorn",
    "structlog",
    "logging",
    "asyncio",
    "socket",
    "subprocess",
    "multiprocessing",
    "threading",
    "sqlite3",
    "urllib",
    "http",
    "requests",
    "psutil",
    "typer",
    "rich",
    "shutil",
    "tempfile",
    "signal",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (``from a import b``: ``a`` and
    ``a.b``, since ``b`` may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(_without_type_checking(tree)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module not in PACKAGES:  # ``from shared import x`` imports ``shared.x``
                found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _without_type_checking(tree: ast.Module) -> ast.Module:
    """``tree`` less its ``if TYPE_CHECKING:`` blocks: imports for annotations only are
    no arrow at run time."""

    class Strip(ast.NodeTransformer):
        def visit_If(self, node: ast.If) -> ast.AST | None:
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
            return None if name == "TYPE_CHECKING" else self.generic_visit(node)

    stripped = Strip().visit(tree)
    assert isinstance(stripped, ast.Module)
    return stripped


def project_graph() -> dict[str, set[str]]:
    graph = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            graph[module_name(path)] = imports_of(path)
    return graph


def is_pure(module: str) -> bool:
    return module in PURE_SHARED or (".domain." in f".{module}." and module.startswith("services."))


# Parts of an I/O library that only compute (building a query string does no I/O).
PURE_PARTS = ("urllib.parse",)


def violations(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Every arrow that breaks the floor plan, as ``importer -> imported: why``."""
    known = set(graph)
    found = []
    for module, imported in graph.items():
        top = module.split(".")[0]
        for name in sorted(imported):
            root = name.split(".")[0]
            if top == "shared" and root in ("services", "damrong"):
                found.append(f"{module} -> {name}: shared is the ground floor")
            if top == "services" and root == "damrong":
                found.append(f"{module} -> {name}: services never import the top floor")
            if top == "services" and root == "services":
                own, other = module.split(".")[1], name.split(".")[1] if "." in name else ""
                if other and other != own:
                    found.append(f"{module} -> {name}: one service never imports another")
            if is_pure(module):
                if root in IMPURE_LIBRARIES and not name.startswith(PURE_PARTS):
                    found.append(f"{module} -> {name}: a pure module does no I/O")
                elif name in known and root in PACKAGES and not is_pure(name):
                    found.append(f"{module} -> {name}: a pure module imports only pure ones")
    return found


def test_the_project_keeps_its_floor_plan() -> None:
    graph = project_graph()
    assert len(graph) > 100  # the walk found the project
    assert violations(graph) == []


def test_every_service_has_a_pure_domain_package() -> None:
    for service in ("intake", "status", "kpi"):
        assert (ROOT / "services" / service / "domain" / "__init__.py").exists(), service
    pure = [m for m in project_graph() if is_pure(m)]
    assert {m.split(".")[1] for m in pure if m.startswith("services.")} >= {
        "intake",
        "status",
        "kpi",
    }


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"shared.outbox": {"services.status.store"}}, "shared is the ground floor"),
        ({"shared.cli": {"damrong.cli.main"}}, "shared is the ground floor"),
        ({"services.kpi.api": {"damrong.embedded.platform"}}, "never import the top floor"),
        ({"services.kpi.store": {"services.status.store"}}, "one service never imports another"),
        ({"services.status.domain.cases": {"asyncpg"}}, "a pure module does no I/O"),
        ({"services.intake.backfill.domain.rows": {"logging"}}, "a pure module does no I/O"),
        (
            {"services.kpi.domain.metrics": {"services.kpi.store"}, "services.kpi.store": set()},
            "a pure module imports only pure ones",
        ),
        (
            {"shared.chain": {"shared.outbox"}, "shared.outbox": set()},
            "a pure module imports only pure ones",
        ),
    ],
)
def test_each_kind_of_wrong_arrow_is_caught(graph: dict[str, set[str]], expected: str) -> None:
    found = violations(graph)
    assert len(found) == 1 and expected in found[0], found


def test_allowed_arrows_pass() -> None:
    assert (
        violations(
            {
                "damrong.cli.main": {"services.kpi.rebuild.usecases", "shared.config"},
                "services.kpi.store": {"services.kpi.domain.cases", "shared.events", "asyncpg"},
                "services.kpi.domain.cases": {"services.kpi.domain.timeline", "shared.events"},
                "services.kpi.domain.timeline": set(),
                "shared.events": {"pydantic", "shared.codes"},
                "shared.codes": set(),
            }
        )
        == []
    )


def test_the_import_walk_sees_lazy_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    import aiokafka\n"
        "def f():\n    from services.status import store\n    import asyncpg\n"
    )
    found = imports_of(source)
    assert {"services.status", "services.status.store", "asyncpg"} <= found
    assert "aiokafka" not in found  # for annotations only: no arrow at run time


def test_importing_every_pure_module_loads_no_io_library() -> None:
    # The text walk above misses what a pure module's imports pull in at run time.  Only
    # the service libraries are checked here: data libraries a pure module may use
    # (geothai, python-stdnum, openpyxl) load stdlib modules such as socket for their own
    # purposes, without doing I/O for us.
    service_libraries = [
        "fastapi",
        "starlette",
        "asyncpg",
        "aiokafka",
        "httpx",
        "uvicorn",
        "structlog",
        "requests",
        "psutil",
        "typer",
        "rich",
    ]
    pure = sorted(m for m in project_graph() if is_pure(m))
    code = (
        "import sys, json\n"
        + "".join(f"import {m}\n" for m in pure)
        + f"print(json.dumps([m for m in {service_libraries!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert len(pure) > 20
    assert orjson.loads(out.stdout) == []
