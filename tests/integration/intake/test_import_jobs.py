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
from services.intake.backfill.staged.domain import open_part
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


async def finished(intake: IntakeService, job_id: str, headers: dict[str, str]) -> Any:
    async def probe() -> Any:
        return (await intake.client.get(f"/v1/imports/jobs/{job_id}", headers=headers)).json()

    return await eventually(probe, lambda job: job["status"] in ("done", "failed"))


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
        "SELECT sealed_file, sealed_sample, preview::text AS preview FROM import_jobs "
        "WHERE job_id = $1",
        uuid.UUID(job["job_id"]),
    )
    assert sealed is not None
    assert "สมชาย" not in sealed["preview"]  # kept in clear: counts and reasons only
    for column in ("sealed_file", "sealed_sample"):
        assert "สมชาย".encode() not in bytes(sealed[column])

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
    row = await intake.db.fetchrow(
        "SELECT key_id, wrapped_key, sealed_file FROM import_jobs WHERE job_id = $1",
        uuid.UUID(job["job_id"]),
    )
    assert row is not None
    keys = PiiKeys.from_settings(intake.settings)
    args = (row["key_id"], bytes(row["wrapped_key"]), "file", bytes(row["sealed_file"]))
    assert open_part(keys, uuid.UUID(job["job_id"]), *args) == malformed_file(tag)
    from services.intake.pii.domain.envelope import Unreadable

    with pytest.raises(Unreadable):
        open_part(keys, uuid.uuid4(), *args)


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
    await stage(intake, malformed_file(uuid.uuid4().hex[:8]), me)  # staging purges
    assert (
        await intake.db.fetchval("SELECT count(*) FROM import_jobs WHERE job_id = $1", job_id) == 0
    )
    assert await subjects(intake, tag) == []


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

        async def probe() -> Any:
            return (await intake.client.get(url, headers=me)).json()

        waiting = await eventually(probe, lambda j: j["status"] == "queued")
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
