"""Run the `damrong` command line as a process, the way cron or a CI job does: output
captured (no terminal) and an 80-column COLUMNS, without blocking the test's event loop
(the services and consumers a test runs keep working meanwhile)."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[1]


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str


async def damrong(*args: str, env: dict[str, str], timeout: float = 120) -> Ran:
    """``damrong ARGS`` with ``env`` added to this process's environment."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "damrong.cli.main",
        *args,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "80", "TERM": "dumb", **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())
