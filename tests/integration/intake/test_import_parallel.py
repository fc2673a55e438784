"""The chunked import path: worker processes, duplicates across chunk boundaries, rejected
rows in several chunks, and a re-import, with exact counts (use case called directly)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from services.intake.backfill import usecases as imports
from services.intake.store import IntakeStore
from shared.db import create_pool
from tests.integration.intake.conftest import IntakeService

pytestmark = pytest.mark.integration

HEADER = "เลขที่หนังสือ,วันที่รับเรื่อง,ช่องทาง,อำเภอ,ประเภทเรื่อง,เรื่อง,สถานะ,วันที่ยุติเรื่อง,ผลการยุติเรื่อง"


def register(tag: str) -> bytes:
    """25 data rows (rows 2..26): every 5th row (7, 12, 17, 22) names a bad district,
    rows 9 and 24 repeat rows 2 and 3's letters, row 26 repeats row 25's content."""
    lines = [HEADER]
    for i in range(25):
        row = i + 2
        district = "9999" if row % 5 == 2 and row > 2 else "5001"
        letter = {9: 0, 24: 1}.get(row, i)
        if row == 26:
            lines.append(lines[-1])
            continue
        letter_no = f"มท {tag}/{letter}" if row < 25 else ""
        closed = ",ยุติเรื่อง,๒๐/๑๑/๒๕๖๗,แก้ไขแล้ว" if row % 2 else ",,,"
        lines.append(f"{letter_no},๑๕/๑๐/๒๕๖๗,หนังสือ,{district},ที่ดิน,{tag} เรื่อง {i}{closed}")
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


@pytest.fixture
async def store(intake: IntakeService) -> AsyncIterator[IntakeStore]:
    pool = await create_pool(intake.settings.database_url, "intake", max_size=4)
    try:
        yield IntakeStore(pool)
    finally:
        await pool.close()


@pytest.mark.parametrize("workers", [0, 2])
async def test_chunked_import_counts_every_row_once(
    intake: IntakeService, store: IntakeStore, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK", 4)  # 25 rows -> 7 chunks; duplicates span them
    tag = uuid.uuid4().hex[:8]
    now = dt.datetime.now(dt.UTC)
    data = register(tag)
    first = await imports.import_file(store, intake.settings, data, now, workers=workers)
    body = first.body()
    assert (body["rows"], body["filed"], body["duplicates"]) == (25, 18, 3)
    assert [r["row"] for r in body["rejected"]] == [7, 12, 17, 22]
    assert body["rejected"][0]["reasons"] == ["district_code: is not a current DOPA district code"]
    assert body["duplicate_rows"] == [
        {"row": 9, "of_row": 2, "reason": "same complaint as row 2"},
        {"row": 24, "of_row": 3, "reason": "same complaint as row 3"},
        {"row": 26, "of_row": 25, "reason": "same complaint as row 25"},
    ]
    filed = await intake.db.fetchval(
        "SELECT count(*) FROM complaints WHERE subject LIKE $1", f"{tag} %"
    )
    outbox = await intake.db.fetchval(
        "SELECT count(*) FROM outbox o JOIN complaints c "
        "ON o.key = convert_to(c.complaint_id::text, 'UTF8') WHERE c.subject LIKE $1",
        f"{tag} %",
    )
    assert (filed, outbox) == (18, 18)
    # The run's identities were kept by the database, and are gone with the run.
    left = "SELECT count(*) FROM import_identities WHERE run_id = $1"
    assert await intake.db.fetchval(left, first.import_id) == 0

    again = (await imports.import_file(store, intake.settings, data, now, workers=workers)).body()
    assert (again["filed"], again["duplicates"], len(again["rejected"])) == (0, 21, 4)
    assert [d["row"] for d in again["duplicate_rows"] if d["of_row"] is None] == [
        r for r in range(2, 27) if r not in (7, 12, 17, 22, 9, 24, 26)
    ]


@pytest.mark.parametrize("at_once", [1, 2])
async def test_imports_file_as_many_at_once_as_the_setting_allows(
    intake: IntakeService, store: IntakeStore, at_once: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two registers imported at once by one process: with one filing at a time, every
    # chunk of one is written before any of the other's; with two, their chunks mix.
    monkeypatch.setattr(imports, "CHUNK", 4)
    settings = intake.settings.model_copy(update={"import_filings_at_once": at_once})
    now = dt.datetime.now(dt.UTC)
    written: list[str] = []
    began = {"a": asyncio.Event(), "b": asyncio.Event()}

    def progress(name: str) -> Callable[[int, int], Awaitable[None]]:
        async def note(_done: int, _filed: int) -> None:
            written.append(name)
            began[name].set()
            if at_once == 2:
                # Two may file at once, but one may also finish before the other starts: each
                # waits after its first chunk until the other has written one. Were they
                # still filed one at a time, this would fail after 30 s instead of passing.
                other = began["b" if name == "a" else "a"]
                await asyncio.wait_for(other.wait(), 30)

        return note

    results = await asyncio.gather(
        *(
            imports.import_file(
                store, settings, register(uuid.uuid4().hex[:8]), now, progress=progress(name)
            )
            for name in ("a", "b")
        )
    )
    assert [r.filed for r in results] == [18, 18]
    assert sorted(written) == ["a"] * 7 + ["b"] * 7  # 25 rows in chunks of 4, each
    one_after_other = written in (["a"] * 7 + ["b"] * 7, ["b"] * 7 + ["a"] * 7)
    assert one_after_other == (at_once == 1), written
