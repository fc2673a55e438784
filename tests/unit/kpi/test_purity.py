"""The KPI core imports no web, database or broker library (STYLE.md rule 2)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import services.kpi.domain as domain

FORBIDDEN = ("fastapi", "starlette", "asyncpg", "aiokafka", "structlog", "httpx", "uvicorn")


def test_domain_imports_only_pure_modules() -> None:
    tree = ast.parse(Path(domain.__file__).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert not roots & set(FORBIDDEN), roots
    assert roots <= {"__future__", "dataclasses", "datetime", "statistics", "uuid",
                     "collections", "decimal", "enum", "pydantic", "shared"}


def test_importing_domain_loads_no_io_library() -> None:
    code = ("import sys, services.kpi.domain; "
            f"print(sorted(m for m in {FORBIDDEN!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(domain.__file__).parents[2])
    assert out.stdout.strip() == "[]"
