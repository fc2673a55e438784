"""Staged imports over HTTP on the real PostgreSQL: the preview files nothing, the staged
file is kept only sealed, only its officer (or an admin) reads or confirms it, and the
confirmed job files the rows the preview promised, once."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from typing import Any

import asyncpg
import pytest

from services.intake.backfill import usecases as imports
from services.intake.backfill.staged import api as staged_api
from services.intake.backfill.staged import usecases as staged_usecases
from services.intake.backfill.staged.domain import job_key, unseal_file_part
from services.intake.backfill.staged.store import JobStore
from services.intake.backfill.staged.usecases import resume_orphans
from services.intake.pii.domain.keys import PiiKeys
from services.intake.store import IntakeStore
from shared.auth.principal import Role
from tests.auth import bearer, token
from tests.integration.intake.conftest import IntakeService
from tests.integration.intake.test_import import EXPECTED_REJECTED, malformed_file
from tests.waiting import eventually

pytestmark = pytest.mark.integration


def officer(subject: str, district: str = "5001") -> dict[str, str]:
    return bearer(token(Role.district_officer, subject, district_code=district))


async def stage(
    intake: IntakeService, data: bytes, headers: dict[str, str], name: str = "r.csv"
) -> dict[str, Any]:
    r = await intake.client.post("/v1/imports/jobs", files={"file": (name, data)}, headers=headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def subjects(intake: IntakeService, tag: str) -> list[str]:
    rows = await intake.db.fetch(
        "SELECT subject FROM complaints WHERE subject LIKE $1 ORDER BY subject", f"{tag}%"
    )
    return [r["subject"] for r in rows]


async def reaches(
    intake: IntakeService, job_id: str, headers: dict[str, str], *statuses: str
) -> Any:
    """The job once its status is one of ``statuses``."""

    async def probe() -> Any:
        return (await intake.client.get(f"/v1/imports/jobs/{job_id}", headers=headers)).json()

    return await eventually(probe, lambda job: job["status"] in statuses)


async def finished(intake: IntakeService, job_id: str, headers: dict[str, str]) -> Any:
    return await reaches(intake, job_id, headers, "done", "failed")


async def test_the_preview_files_nothing_and_the_confirmation_files_what_it_promised(
    intake: IntakeService,
) -> None:
    tag = uuid.uuid4().hex[:8]
    me = officer(f"officer-{tag}", "5001")
    job = await stage(intake, malformed_file(tag), me)
    assert job["status"] == "staged"
    preview = job["preview"]
    # Rows 10 (district 4001) is outside the officer's district: rejected as the import does.
    assert (preview["rows"], preview["to_file"], preview["duplicates"]) == (11, 2, 1)
    rejected = {r["row"]: r["reasons"] for r in preview["rejected"]}
    assert rejected[10] == ["district_code: 4001 is outside your district (5001)"]
    assert [r for r in preview["rejected"] if r["row"] != 10] == EXPECTED_REJECTED
    assert job["sample"][0]["row"] == 2 and f"{tag} ทวงหนี้" in job["sample"][0]["cells"]
    assert {c["field"] for c in preview["columns"]} >= {"district_code", "subject"}

    assert await subjects(intake, tag) == []  # NOTHING is filed before the confirmation
    sealed = await intake.db.fetchrow(
        "SELECT sealed_sample, preview::text AS preview, file_parts, "
        "(SELECT array_agg(sealed ORDER BY part) FROM import_job_parts AS p "
        "  WHERE p.job_id = j.job_id) AS parts "
        "FROM import_jobs AS j WHERE job_id = $1",
        uuid.UUID(job["job_id"]),
    )
    assert sealed is not None
    assert "สมชาย" not in sealed["preview"]  # kept in clear: counts and reasons only
    assert sealed["file_parts"] == len(sealed["parts"]) == 1
    for kept in (sealed["sealed_sample"], *sealed["parts"]):
        assert "สมชาย".encode() not in bytes(kept)

    rejected_csv = await intake.client.get(f"/v1/imports/jobs/{job['job_id']}/rejected", headers=me)
    assert rejected_csv.status_code == 200
    table = list(csv.reader(io.StringIO(rejected_csv.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["แถว (row)", "เหตุผล (reasons)", "เลขที่หนังสือ"]
    assert [int(r[0]) for r in table[1:]] == [3, 4, 5, 6, 10, 11, 12, 13]
    assert f"{tag} บัตรผิด" in table[2]

    first = await intake.client.post(f"/v1/imports/jobs/{job['job_id']}/confirm", headers=me)
    again = await intake.client.post(f"/v1/imports/jobs/{job['job_id']}/confirm", headers=me)
    assert first.status_code == 202 and again.status_code == 202
    done = await finished(intake, job["job_id"], me)
    assert done["status"] == "done"
    assert done["result"]["filed"] == 2 and done["progress"]["done"] == 11
    assert await subjects(intake, tag) == [f"{tag} ทวงหนี้", f"{tag} หนังสือ"]
    late = await intake.client.post(f"/v1/imports/jobs/{job['job_id']}/confirm", headers=me)
    assert late.status_code == 409

    # Staged again, the same file has nothing left to file: every good row is known.
    repeat = await stage(intake, malformed_file(tag), me)
    assert repeat["preview"]["to_file"] == 0 and repeat["preview"]["duplicates"] == 3


async def test_another_officer_can_neither_confirm_nor_read_a_staged_import(
    intake: IntakeService,
) -> None:
    tag = uuid.uuid4().hex[:8]
    owner, other = officer(f"owner-{tag}"), officer(f"other-{tag}")
    job = await stage(intake, malformed_file(tag), owner)
    url = f"/v1/imports/jobs/{job['job_id']}"
    refused = await intake.client.post(url + "/confirm", headers=other)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await intake.client.get(url, headers=other)).status_code == 404
    assert (await intake.client.get(url + "/rejected", headers=other)).status_code == 404
    channel = bearer(token(Role.channel, f"line-{tag}", channel="line"))
    assert (await intake.client.post(url + "/confirm", headers=channel)).status_code == 403
    assert await subjects(intake, tag) == []
    status = await intake.db.fetchval(
        "SELECT status FROM import_jobs WHERE job_id = $1", uuid.UUID(job["job_id"])
    )
    assert status == "staged"

    # An administrator may confirm it; the rows are filed as the staging officer's.
    assert (await intake.client.post(url + "/confirm")).status_code == 202
    done = await finished(intake, job["job_id"], owner)
    assert done["result"]["filed"] == 2
    filed_by = await intake.db.fetch(
        "SELECT DISTINCT filed_by FROM complaints WHERE subject LIKE $1", f"{tag}%"
    )
    assert [r["filed_by"] for r in filed_by] == [f"owner-{tag}"]


async def test_an_unreadable_file_is_a_problem_naming_the_file_field(
    intake: IntakeService,
) -> None:
    me = officer("officer-unreadable")
    for data in (b"", b"just,some\nwords,here\n", b"PK\x03\x04broken"):
        r = await intake.client.post(
            "/v1/imports/jobs", files={"file": ("r.csv", data)}, headers=me
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in r.json()["errors"]] == ["file"]
    missing = await intake.client.get(f"/v1/imports/jobs/{uuid.uuid4()}", headers=me)
    assert missing.status_code == 404


async def test_the_staged_file_opens_only_under_its_own_job(intake: IntakeService) -> None:
    tag = uuid.uuid4().hex[:8]
    job = await stage(intake, malformed_file(tag), officer(f"o-{tag}"))
    job_id = uuid.UUID(job["job_id"])
    row = await intake.db.fetchrow(
        "SELECT key_id, wrapped_key, sealed FROM import_jobs JOIN import_job_parts "
        "USING (job_id) WHERE job_id = $1 AND part = 0",
        job_id,
    )
    assert row is not None
    keys = PiiKeys.from_settings(intake.settings)
    key = job_key(keys, job_id, row["key_id"], bytes(row["wrapped_key"]))
    assert unseal_file_part(key, job_id, 0, bytes(row["sealed"]), True) == malformed_file(tag)
    from services.intake.pii.domain.envelope import Unreadable

    with pytest.raises(Unreadable):
        job_key(keys, uuid.uuid4(), row["key_id"], bytes(row["wrapped_key"]))


async def test_an_expired_job_is_gone_with_its_file(intake: IntakeService) -> None:
    tag = uuid.uuid4().hex[:8]
    me = officer(f"o-{tag}")
    job = await stage(intake, malformed_file(tag), me)
    job_id = uuid.UUID(job["job_id"])
    await intake.db.execute(
        "UPDATE import_jobs SET expires_at = now() - interval '1 minute' WHERE job_id = $1",
        job_id,
    )
    assert (await intake.client.get(f"/v1/imports/jobs/{job_id}", headers=me)).status_code == 404
    assert (
        await intake.client.post(f"/v1/imports/jobs/{job_id}/confirm", headers=me)
    ).status_code == 404
    # The parts of an upload that never became a job (its intake died mid-upload), older
    # than a staged job lives, and a younger one's (an upload under way elsewhere).
    orphan, under_way = uuid.uuid4(), uuid.uuid4()
    for lost, age in ((orphan, "25 hours"), (under_way, "1 minute")):
        await intake.db.execute(
            "INSERT INTO import_job_parts (job_id, part, created_at, sealed) "
            f"VALUES ($1, 0, now() - interval '{age}', '\\x01')",
            lost,
        )
    await stage(intake, malformed_file(uuid.uuid4().hex[:8]), me)  # staging purges
    assert (
        await intake.db.fetchval("SELECT count(*) FROM import_jobs WHERE job_id = $1", job_id) == 0
    )
    parts = await intake.db.fetch(
        "SELECT job_id FROM import_job_parts WHERE job_id = ANY($1::uuid[])",
        [job_id, orphan, under_way],
    )
    assert [r["job_id"] for r in parts] == [under_way]
    assert await subjects(intake, tag) == []


async def test_a_file_in_many_parts_previews_and_files_as_one(
    intake: IntakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parts of 97 bytes: every part boundary falls inside a row, most inside a Thai
    # character (three bytes in UTF-8).
    monkeypatch.setattr(staged_api, "PART_BYTES", 97)
    tag = uuid.uuid4().hex[:8]
    me = officer(f"o-{tag}")
    data = malformed_file(tag)
    job = await stage(intake, data, me)
    count = await intake.db.fetchval(
        "SELECT file_parts FROM import_jobs WHERE job_id = $1", uuid.UUID(job["job_id"])
    )
    assert count == -(-len(data) // 97) and count > 20
    preview = job["preview"]
    assert (preview["rows"], preview["to_file"], preview["duplicates"]) == (11, 2, 1)
    rejected = await intake.client.get(f"/v1/imports/jobs/{job['job_id']}/rejected", headers=me)
    rows = list(csv.reader(io.StringIO(rejected.content.decode("utf-8-sig"))))
    assert [int(r[0]) for r in rows[1:]] == [3, 4, 5, 6, 10, 11, 12, 13]
    assert f"{tag} บัตรผิด" in rows[2]
    await intake.client.post(f"/v1/imports/jobs/{job['job_id']}/confirm", headers=me)
    done = await finished(intake, job["job_id"], me)
    assert done["status"] == "done" and done["result"]["filed"] == 2
    assert await subjects(intake, tag) == [f"{tag} ทวงหนี้", f"{tag} หนังสือ"]
    # A part taken away: the file no longer reads, and the job says it failed.
    again = await stage(intake, malformed_file(uuid.uuid4().hex[:8]), me)
    await intake.db.execute(
        "DELETE FROM import_job_parts WHERE job_id = $1 AND part = 3", uuid.UUID(again["job_id"])
    )
    await intake.client.post(f"/v1/imports/jobs/{again['job_id']}/confirm", headers=me)
    failed = await finished(intake, again["job_id"], me)
    assert (failed["status"], failed["error"]) == ("failed", "LookupError")


async def test_an_upload_without_its_file_or_too_large_for_its_kind_is_refused(
    intake: IntakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = officer("officer-uploads")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"data": {"note": "x"}, "files": {"other": ("r.csv", b"x")}}, "is required"),
        ({"content": b"just bytes", "headers": {"content-type": "text/csv"}}, "multipart"),
    ]
    for request, says in cases:
        r = await intake.client.post(
            "/v1/imports/jobs", headers={**me, **request.pop("headers", {})}, **request
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "file" and says in r.json()["errors"][0]["message"]
    # An .xlsx is read whole: it has a limit of its own, and nothing of it is kept.
    monkeypatch.setattr(staged_usecases, "XLSX_MAX_BYTES", 1000)
    before = await intake.db.fetchval("SELECT count(*) FROM import_job_parts")
    big = b"PK\x03\x04" + bytes(2000)
    r = await intake.client.post("/v1/imports/jobs", files={"file": ("r.xlsx", big)}, headers=me)
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "CSV" in r.json()["detail"]
    assert await intake.db.fetchval("SELECT count(*) FROM import_job_parts") == before


class Finishes(JobStore):
    """A job store that counts the runs that reach the end."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.finished: list[uuid.UUID] = []

    async def finish(self, job_id: uuid.UUID, **kwargs: Any) -> None:
        self.finished.append(job_id)
        await super().finish(job_id, **kwargs)


async def test_two_replicas_resuming_one_orphaned_job_file_it_once(intake: IntakeService) -> None:
    """A job left running by a dead replica (its lock free), resumed by two replicas at
    the same moment: one runs it, the other stands aside; every row filed once."""
    tag = uuid.uuid4().hex[:8]
    me = officer(f"o-{tag}")
    job = await stage(intake, malformed_file(tag), me)
    job_id = uuid.UUID(job["job_id"])
    await intake.db.execute(
        "UPDATE import_jobs SET status = 'running', confirmed_at = now(), "
        "heartbeat_at = now() - interval '2 minutes' WHERE job_id = $1",
        job_id,
    )
    pool = await asyncpg.create_pool(
        intake.settings.database_url,
        server_settings={"search_path": "intake"},
        min_size=1,
        max_size=6,
    )
    assert pool is not None
    keys = PiiKeys.from_settings(intake.settings)
    replicas: list[set[asyncio.Task[None]]] = [set(), set()]
    try:
        store, jobs = IntakeStore(pool), Finishes(pool)
        resumed = await asyncio.gather(
            *(resume_orphans(r, jobs, store, intake.settings, keys) for r in replicas)
        )
        assert sum(resumed) >= 1
        await asyncio.gather(*(t for r in replicas for t in r))
        assert jobs.finished == [job_id]  # one runner filed it to the end
    finally:
        await pool.close()
    done = await finished(intake, job["job_id"], me)
    assert done["status"] == "done" and done["result"]["filed"] == 2
    assert done["result"]["duplicates"] == 1  # row 9 repeats row 2: none already imported
    assert await subjects(intake, tag) == [f"{tag} ทวงหนี้", f"{tag} หนังสือ"]


async def test_a_job_waits_queued_while_another_import_files(intake: IntakeService) -> None:
    # The intake's one turn to file (IMPORT_FILINGS_AT_ONCE, 1) is held as by another
    # import: the confirmed job says it is queued, files nothing, keeps beating (it is not
    # taken for stalled), and files once the turn is free.
    tag = uuid.uuid4().hex[:8]
    me = officer(f"queued-{tag}")
    job = await stage(intake, malformed_file(tag), me)
    url = f"/v1/imports/jobs/{job['job_id']}"
    slots = imports._filing_slots(intake.settings.import_filings_at_once)
    async with slots:
        r = await intake.client.post(f"{url}/confirm", headers=me)
        assert r.status_code == 202, r.text
        waiting = await reaches(intake, job["job_id"], me, "queued")
        assert waiting["progress"]["done"] == 0
        plain = await intake.client.get(f"/v1/imports/{job['job_id']}", headers=me)
        assert plain.json()["status"] == "queued"
        assert await subjects(intake, tag) == []
    done = await finished(intake, job["job_id"], me)
    assert done["status"] == "done" and done["result"]["filed"] == 2
    since = await intake.db.fetchval(
        "SELECT queued_since FROM import_jobs WHERE job_id = $1", uuid.UUID(job["job_id"])
    )
    assert since is None  # its turn came


async def test_a_direct_imports_rejected_rows_are_known_once_it_is_filed(
    intake: IntakeService,
) -> None:
    # A CSV sent to POST /v1/imports is checked as it is filed, not before: while it waits
    # for its turn nothing about its rows is known, and asking for them says so.
    tag = uuid.uuid4().hex[:8]
    me = officer(f"direct-{tag}")
    slots = imports._filing_slots(intake.settings.import_filings_at_once)
    async with slots:
        r = await intake.client.post(
            "/v1/imports", files={"file": ("r.csv", malformed_file(tag))}, headers=me
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        url = f"/v1/imports/jobs/{job_id}"
        waiting = await reaches(intake, job_id, me, "queued")
        assert waiting["preview"] is None
        early = await intake.client.get(f"{url}/rejected", headers=me)
        assert early.status_code == 409
        assert early.headers["content-type"].startswith("application/problem+json")
        assert "known once it is done" in early.json()["detail"]
    done = await finished(intake, job_id, me)
    assert done["status"] == "done" and done["result"]["filed"] == 2
    rejected = await intake.client.get(f"{url}/rejected", headers=me)
    assert rejected.status_code == 200
    rows = list(csv.reader(io.StringIO(rejected.content.decode("utf-8-sig"))))
    assert [int(x[0]) for x in rows[1:]] == [3, 4, 5, 6, 10, 11, 12, 13]
