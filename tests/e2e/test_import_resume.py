"""An import job survives its intake being killed (SIGKILL) mid-import: the intake that
starts next takes the job over at once (its runner's advisory lock died with it) and
finishes it; every valid row is filed and published exactly once and the summary is the
one an uninterrupted import gives."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from damrong.cli.main import app as cli
from damrong.embedded.platform import Platform
from tests.e2e.platforms import platform_for_tests
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

ROWS = 3000
CHUNK = 25  # rows per statement: 120 writes, so the kill lands between two of them
BAD_EVERY = 100  # rows 2, 102, ...: a district that does not exist
REPEAT_EVERY = 150  # rows 4, 154, ...: the same complaint as the row before them


def register(tag: str) -> tuple[bytes, int, int]:
    """The register, how many rows it rejects and how many repeat the row before them."""
    lines = ["district_code,category,subject,received_at,channel,letter_no"]
    rejected = repeated = 0
    for i in range(ROWS):
        if i % BAD_EVERY == 0:
            lines.append(f"9999,land,{tag} เรื่องที่ {i},01/10/2567,letter,{tag}/{i}")
            rejected += 1
        elif i % REPEAT_EVERY == 2:
            lines.append(lines[-1])
            repeated += 1
        else:
            lines.append(f"5001,land,{tag} เรื่องที่ {i},01/10/2567,letter,{tag}/{i}")
    return ("\n".join(lines) + "\n").encode(), rejected, repeated


@pytest.fixture
async def intake_only(tmp_path: Path, shared_infra: dict[str, str] | None) -> Any:
    env = {"IMPORT_CHUNK_ROWS": str(CHUNK)}
    async with platform_for_tests(tmp_path, shared_infra, services=["intake"], env=env) as p:
        yield p


async def test_an_import_killed_mid_way_resumes_and_files_every_row_once(
    intake_only: Platform, tmp_path: Path
) -> None:
    platform = intake_only
    tag = uuid.uuid4().hex[:8]
    data, rejected, repeated = register(tag)
    valid = ROWS - rejected - repeated
    async with httpx.AsyncClient(
        base_url=platform.url("intake"), headers=platform.auth_headers(), timeout=30
    ) as client:
        r = await client.post("/v1/imports", files={"file": ("r.csv", data, "text/csv")})
        assert r.status_code == 202, r.text
        url = r.headers["location"]

        async def job() -> dict[str, Any]:
            got = await client.get(url)
            assert got.status_code == 200, got.text
            body: dict[str, Any] = got.json()
            return body

        # A sixth in: far enough that a run starting again from zero would show it.
        at_kill = await eventually(job, lambda j: j["progress"]["filed"] >= 500, interval=0.02)
        assert platform.kill_service("intake", signal.SIGKILL) == -signal.SIGKILL
        assert at_kill["status"] == "running"

        db = await asyncpg.connect(platform.database_url, server_settings={"search_path": "intake"})
        try:
            left = await db.fetchrow(
                "SELECT status, rows_done, filed FROM import_jobs WHERE job_id = $1",
                uuid.UUID(at_kill["job_id"]),
            )
            assert left is not None
            # Killed mid-way: some rows filed, not all (else the test proves nothing).
            filed_before = await count(db, tag)
            assert left["status"] == "running" and 0 < filed_before < valid, filed_before

            # The job's progress as the resumed run writes it, watched from the start.
            job_id = uuid.UUID(at_kill["job_id"])
            seen: list[tuple[int, int]] = []

            async def watch() -> None:
                while True:
                    row = await db.fetchrow(
                        "SELECT rows_done, filed FROM import_jobs WHERE job_id = $1", job_id
                    )
                    assert row is not None
                    seen.append((row["rows_done"], row["filed"]))
                    await asyncio.sleep(0.002)

            watching = asyncio.create_task(watch())
            await platform.start_service("intake")
            done = await eventually(job, lambda j: j["status"] in ("done", "failed"), timeout=60)
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)  # db is free again
            # It goes through the file again from its start, but what the officer sees
            # never goes back (a bar falling to zero reads as work lost).
            assert seen[0] == (left["rows_done"], left["filed"])
            assert all(d >= seen[0][0] and f >= seen[0][1] for d, f in seen), sorted(set(seen))[:5]
            assert done["status"] == "done", done
            summary = done["result"]
            assert (summary["rows"], summary["filed"]) == (ROWS, valid)
            assert summary["duplicates"] == repeated
            assert all(d["of_row"] is not None for d in summary["duplicate_rows"])
            assert len(summary["rejected"]) == rejected
            assert [x["row"] for x in summary["rejected"]] == list(range(2, ROWS + 2, BAD_EVERY))

            # Every valid row once: one complaint each, one ComplaintFiled outbox row each.
            assert await count(db, tag) == valid
            assert (
                await db.fetchval(
                    "SELECT count(DISTINCT channel_ref) FROM complaints WHERE subject LIKE $1",
                    f"{tag}%",
                )
                == valid
            )
            outbox = await db.fetchrow(
                "SELECT count(*) AS n, count(DISTINCT o.key) AS keys FROM outbox o "
                "JOIN complaints c ON o.key = convert_to(c.complaint_id::text, 'UTF8') "
                "WHERE c.subject LIKE $1",
                f"{tag}%",
            )
            assert outbox is not None and (outbox["n"], outbox["keys"]) == (valid, valid)

            # The command line follows a job to its end too: the same register again files
            # nothing, and its rejected rows go beside the file.
            source = tmp_path / "register.csv"
            source.write_bytes(data)
            bearer = platform.auth_headers()["Authorization"].removeprefix("Bearer ")
            args = ["import", str(source), "--intake-url", platform.url("intake")]
            ran = await asyncio.to_thread(
                CliRunner().invoke, cli, [*args, "--token", bearer], env={"COLUMNS": "200"}
            )
            assert ran.exit_code == 0, ran.output
            assert f"{ROWS} แถว (rows) — บันทึกแล้ว 0 (filed)" in ran.output
            assert f"ซ้ำ {valid + repeated} (duplicates)" in ran.output
            written = (tmp_path / "register.rejected.csv").read_text(encoding="utf-8-sig")
            assert len(written.splitlines()) == rejected + 1
            assert await count(db, tag) == valid
        finally:
            await db.close()


async def count(db: asyncpg.Connection, tag: str) -> int:
    n: int = await db.fetchval("SELECT count(*) FROM complaints WHERE subject LIKE $1", f"{tag}%")
    return n
