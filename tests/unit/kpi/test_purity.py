"""The KPI core imports no web, database or broker library (STYLE.md rule 2)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import services.kpi.domain.asof as asof
import services.kpi.domain.cases as domain
import services.kpi.domain.metrics as metrics
import services.kpi.domain.timeline as timeline

FORBIDDEN = ("fastapi", "starlette", "asyncpg", "aiokafka", "structlog", "httpx", "uvicorn")
PURE = [domain, timeline, metrics, asof]
PURE_SIBLINGS = {"services.kpi.domain.cases", "services.kpi.domain.timeline", "services.kpi.domain.metrics",
                 "services.kpi.domain.asof"}


@pytest.mark.parametrize("module", PURE, ids=lambda m: m.__name__)
def test_core_imports_only_pure_modules(module: ModuleType) -> None:
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("services."):
                assert node.module in PURE_SIBLINGS, node.module
            roots.add(node.module.split(".")[0])
    assert not roots & set(FORBIDDEN), roots
    assert roots <= {"__future__", "dataclasses", "datetime", "statistics", "uuid", "math",
                     "collections", "decimal", "enum", "typing", "pydantic", "shared",
                     "services"}


def test_importing_the_core_loads_no_io_library() -> None:
    names = ", ".join(m.__name__ for m in PURE)
    code = (f"import sys, {names}; "
            f"print(sorted(m for m in {FORBIDDEN!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(domain.__file__).parents[2])
    assert out.stdout.strip() == "[]"
