"""Backfill import over HTTP on the real PostgreSQL and broker: every rejection reason,
every good row filed and published with its original dates and outcome, re-import files
nothing twice, .xlsx works, and the CLI's rejected-rows file keeps the original columns."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import orjson
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from damrong.cli.importer import write_rejected
from services.intake.backfill import api as backfill_api
from services.intake.backfill.domain.values import parse_date
from shared.auth.principal import Role
from tests.auth import bearer, token
from tests.integration.intake.conftest import IntakeService
from tests.waiting import eventually

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[3] / "examples" / "backfill-example.csv"
HEADER = (
    "เลขที่หนังสือ,วันที่รับเรื่อง,ช่องทาง,อำเภอ,ประเภทเรื่อง,เรื่อง,ชื่อผู้ร้อง,"
    "เลขประจำตัวประชาชน,ไม่ประสงค์ออกนาม,สถานะ,วันที่ยุติเรื่อง,ผลการยุติเรื่อง"
)


def malformed_file(tag: str) -> bytes:
    """Rows 2, 10 and 14 are good; 9 repeats 2; 7 and 8 are empty; the rest are bad."""
    lines = [
        HEADER,
        f",๑๕/๑๐/๒๕๖๗,หนังสือ,5001,หนี้นอกระบบ,{tag} ทวงหนี้,นายสมชาย ใจดี,๑๑๐๑๗๐๐๒๓๐๗๐๘,"
        "ไม่,ยุติเรื่อง,๒๐/๑๑/๒๕๖๗,ไกล่เกลี่ยสำเร็จ",  # 2
        f",1/10/2567,หนังสือ,9999,ที่ดิน,{tag} ผิดอำเภอ,,,ใช่,,,",  # 3
        f",1/10/2567,หนังสือ,5001,ที่ดิน,{tag} บัตรผิด,นายก ข,1101700230709,,,,",  # 4
        f",1/1/2600,หนังสือ,5001,ที่ดิน,{tag} อนาคต,,,ใช่,,,",  # 5
        f",1/10/2567,นกพิราบ,5001,เรื่องผี,{tag} ป้ายแปลก,,,ใช่,,,",  # 6
        ",,,,,,,,,,,",  # 7
        "",  # 8
        f",15/10/2567,letter,5001,informal_debt,{tag} ทวงหนี้,นายสมชาย ใจดี,1101700230708,"
        "N,closed,2024-11-20,mediated",  # 9
        f",3 ม.ค. 2568,สายด่วน 1567,4001,เหตุเดือดร้อนรำคาญ,{tag} เสียงดัง,,,ใช่,อยู่ระหว่างดำเนินการ,,",  # 10
        f",1/10/2567,หนังสือ,5001,ที่ดิน,{tag} ปิดไม่มีเหตุ,,,ใช่,ยุติเรื่อง,2/10/2567,",  # 11
        f",1/10/2567,หนังสือ,5001,ที่ดิน,{tag} ปิดก่อนรับ,,,ใช่,ยุติเรื่อง,1/9/2567,resolved",  # 12
        f",1/10/2567,หนังสือ,5001,ที่ดิน,{tag} ปิดอนาคต,,,ใช่,ยุติ,1/1/2600,resolved",  # 13
        f"ชม 0018/{tag},2024-09-30,,5001,อื่นๆ,{tag} หนังสือ,,,ใช่,,,",  # 14
    ]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


EXPECTED_REJECTED = [
    {"row": 3, "reasons": ["district_code: is not a current DOPA district code"]},
    {"row": 4, "reasons": ["national_id: is not a valid 13-digit Thai national ID"]},
    {"row": 5, "reasons": ["received_at: must not be in the future"]},
    {
        "row": 6,
        "reasons": [
            "channel: unknown channel 'นกพิราบ'; use a code or label of /v1/reference/channels",
            "category: unknown category 'เรื่องผี'; use a code or label of /v1/reference/categories",
        ],
    },
    {"row": 11, "reasons": ["closure_reason: is required for a closed case"]},
    {"row": 12, "reasons": ["closed_at: is before the received date"]},
    {"row": 13, "reasons": ["closed_at: must not be in the future"]},
]


async def upload(intake: IntakeService, data: bytes, name: str) -> dict[str, Any]:
    """Import ``data`` as a job (202), follow it to the end; its summary."""
    r = await intake.client.post("/v1/imports", files={"file": (name, data)})
    assert r.status_code == 202, r.text
    return await follow(intake, r)


async def follow(intake: IntakeService, r: httpx.Response) -> dict[str, Any]:
    """Follow the job ``r`` answered to the end; its summary."""
    job = r.json()
    assert r.headers["location"] == f"/v1/imports/{job['job_id']}"
    assert job["status"] == "running" and job["result"] is None

    async def probe() -> dict[str, Any]:
        got = await intake.client.get(r.headers["location"])
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    done = await eventually(probe, lambda j: j["status"] in ("done", "failed"))
    assert done["status"] == "done", done
    assert done["progress"]["done"] == done["progress"]["total"] == done["result"]["rows"]
    assert done["progress"]["filed"] == done["result"]["filed"]
    summary: dict[str, Any] = done["result"]
    return summary


async def published(intake: IntakeService, ids: set[bytes]) -> dict[bytes, dict[str, Any]]:
    async def probe() -> dict[bytes, dict[str, Any]]:
        return {m.key: orjson.loads(m.value) for m in await intake.records() if m.key in ids}

    return await eventually(probe, lambda found: len(found) == len(ids))


async def test_malformed_file_rejects_each_bad_row_and_files_every_good_one(
    intake: IntakeService,
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:8]
    data = malformed_file(tag)
    body = await upload(intake, data, "register.csv")
    assert (body["rows"], body["filed"], body["duplicates"]) == (11, 3, 1)
    assert body["rejected"] == EXPECTED_REJECTED
    assert body["duplicate_rows"] == [{"row": 9, "of_row": 2, "reason": "same complaint as row 2"}]

    rows = await intake.db.fetch(
        "SELECT complaint_id, subject, received_at, recorded_at, backfilled, channel, "
        "channel_ref FROM complaints WHERE subject LIKE $1 ORDER BY received_at",
        f"{tag}%",
    )
    assert [r["subject"] for r in rows] == [f"{tag} หนังสือ", f"{tag} ทวงหนี้", f"{tag} เสียงดัง"]
    assert all(r["backfilled"] for r in rows)
    bkk = dt.timezone(dt.timedelta(hours=7))
    assert [r["received_at"] for r in rows] == [
        dt.datetime(2024, 9, 30, tzinfo=bkk),
        dt.datetime(2024, 10, 15, tzinfo=bkk),
        dt.datetime(2025, 1, 3, tzinfo=bkk),
    ]
    assert rows[0]["channel"] == "letter" and rows[0]["channel_ref"] == f"5001:ชม 0018/{tag}"
    now = dt.datetime.now(dt.UTC)
    assert all(now - r["recorded_at"] < dt.timedelta(minutes=5) for r in rows)

    events = await published(intake, {str(r["complaint_id"]).encode() for r in rows})
    by_subject = {r["subject"]: events[str(r["complaint_id"]).encode()] for r in rows}
    assert all(e["backfilled"] is True for e in events.values())
    closed = by_subject[f"{tag} ทวงหนี้"]
    assert closed["received_at"] == "2024-10-14T17:00:00Z"
    assert closed["outcome"] == {
        "status": "closed",
        "at": "2024-11-20T00:00:00+07:00",
        "closure_reason": "mediated",
        "reason": None,
        "agency": None,
        "due_date": None,
    }
    assert by_subject[f"{tag} เสียงดัง"]["outcome"]["status"] == "in_progress"
    assert by_subject[f"{tag} หนังสือ"]["outcome"] is None

    # Importing the same file again files nothing: every good row is a duplicate now.
    again = await upload(intake, data, "register.csv")
    assert (again["rows"], again["filed"], again["duplicates"]) == (11, 0, 4)
    assert again["rejected"] == EXPECTED_REJECTED
    assert [(d["row"], d["of_row"]) for d in again["duplicate_rows"]] == [
        (2, None),
        (9, 2),
        (10, None),
        (14, None),
    ]
    assert (
        await intake.db.fetchval("SELECT count(*) FROM complaints WHERE subject LIKE $1", f"{tag}%")
        == 3
    )
    await published(intake, {str(r["complaint_id"]).encode() for r in rows})

    # The CLI's rejected-rows file: row number, reasons, original columns.
    source = tmp_path / "register.csv"
    source.write_bytes(data)
    out = write_rejected(source, body["rejected"])
    assert out == tmp_path / "register.rejected.csv"
    written = read_csv(out)
    assert written[0][2:] == HEADER.split(",")
    assert [w[0] for w in written[1:]] == ["3", "4", "5", "6", "11", "12", "13"]
    assert written[2][1] == "national_id: is not a valid 13-digit Thai national ID"
    assert written[2][8:10] == ["นายก ข", "1101700230709"]


def read_csv(path: Path) -> list[list[str]]:
    """The rows of a UTF-8 (BOM) CSV file, as text."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def example_xlsx() -> bytes:
    header, *rows = read_csv(EXAMPLE)
    book = openpyxl.Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.append(["ทะเบียนรับเรื่องร้องเรียน"])  # a title line above the table
    sheet.append(header)
    for row in rows:
        sheet.append(
            [
                parse_date(v) if header[i].startswith("วันที่") and v else (v or None)
                for i, v in enumerate(row)
            ]
        )
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


async def test_xlsx_import_and_the_same_register_as_csv_files_nothing_twice(
    intake: IntakeService,
) -> None:
    # An .xlsx (at most 50 MiB) is still checked row by row before the 202.
    r = await intake.client.post("/v1/imports", files={"file": ("register.xlsx", example_xlsx())})
    assert r.status_code == 202, r.text
    assert r.json()["expected"] == {"to_file": 6, "duplicates": 0, "rejected": 0}
    assert r.json()["progress"]["total"] == 6
    body = await follow(intake, r)
    assert (body["rows"], body["filed"], body["duplicates"], body["rejected"]) == (6, 6, 0, [])
    count = await intake.db.fetchval(
        "SELECT count(*) FROM complaints WHERE backfilled AND district_code IN "
        "('5001', '4001', '9011', '1001') AND idempotency_key LIKE 'backfill:%'"
    )
    assert count >= 6
    # The example CSV is the same register: its rows are recognised, whatever the format.
    again = await upload(intake, EXAMPLE.read_bytes(), "backfill-example.csv")
    assert (again["rows"], again["filed"], again["duplicates"]) == (6, 0, 6)


async def test_unreadable_upload_is_a_problem_naming_the_file(intake: IntakeService) -> None:
    for wait in ("false", "true"):
        r = await intake.client.post(
            "/v1/imports", params={"wait": wait}, files={"file": ("x.csv", b"a,b\n1,2\n")}
        )
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "no header row" in r.json()["detail"]
        assert [e["field"] for e in r.json()["errors"]] == ["file"]
        r = await intake.client.post(
            "/v1/imports",
            params={"wait": wait},
            files={"file": ("x.csv", "อำเภอ,เรื่อง\n5001,x\n".encode())},
        )
        assert r.status_code == 422 and "ประเภทเรื่อง (category)" in r.json()["detail"]
        # Good rows, then a byte neither encoding has: the file as a whole is unreadable.
        garbled = malformed_file(uuid.uuid4().hex[:8]) + b"\x81\n"
        r = await intake.client.post(
            "/v1/imports", params={"wait": wait}, files={"file": ("x.csv", garbled)}
        )
        assert r.status_code == 422 and "neither UTF-8" in r.json()["detail"], r.text
    empty = await intake.client.post("/v1/imports", files={"file": ("x.csv", b"")})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "file"
    bad_id = await intake.client.get("/v1/imports/not-a-job")
    assert bad_id.status_code == 422
    assert bad_id.headers["content-type"].startswith("application/problem+json")
    assert "job_id" in bad_id.text
    assert (await intake.client.get(f"/v1/imports/{uuid.uuid4()}")).status_code == 404


async def test_wait_true_answers_the_summary_in_the_request(intake: IntakeService) -> None:
    tag = uuid.uuid4().hex[:8]
    r = await intake.client.post(
        "/v1/imports", params={"wait": "true"}, files={"file": ("r.csv", malformed_file(tag))}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["filed"], body["duplicates"]) == (11, 3, 1)
    assert body["rejected"] == EXPECTED_REJECTED
    assert "location" not in r.headers
    # Filed before the answer: the same file as a job finds every good row imported.
    again = await upload(intake, malformed_file(tag), "r.csv")
    assert (again["filed"], again["duplicates"]) == (0, 4)


async def test_wait_true_takes_a_file_it_can_hold_and_says_how_to_send_a_larger_one(
    intake: IntakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backfill_api, "WAIT_MAX_BYTES", 1000)
    data = malformed_file(uuid.uuid4().hex[:8])
    assert len(data) > 1000
    r = await intake.client.post(
        "/v1/imports", params={"wait": "true"}, files={"file": ("r.csv", data)}
    )
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "without wait" in r.json()["detail"]
    # The same file as a job is taken.
    job = await intake.client.post("/v1/imports", files={"file": ("r.csv", data)})
    assert job.status_code == 202, job.text


async def test_an_import_job_is_its_uploaders_and_shows_what_it_expects(
    intake: IntakeService,
) -> None:
    tag = uuid.uuid4().hex[:8]
    owner = bearer(token(Role.district_officer, f"owner-{tag}", district_code="5001"))
    other = bearer(token(Role.district_officer, f"other-{tag}", district_code="5001"))
    r = await intake.client.post(
        "/v1/imports", files={"file": ("r.csv", malformed_file(tag))}, headers=owner
    )
    assert r.status_code == 202, r.text
    # A CSV's rows are checked once, as they are filed: none is checked before the 202,
    # and its rows are its line ends (the two blank ones included) until it is done.
    assert r.json()["expected"] is None
    assert r.json()["progress"]["total"] == 13
    url = r.headers["location"]
    refused = await intake.client.get(url, headers=other)
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    done = await eventually(
        lambda: intake.client.get(url, headers=owner), lambda j: j.json()["status"] == "done"
    )
    # Row 10 (district 4001) is outside the officer's district.
    result = done.json()["result"]
    assert (result["filed"], result["duplicates"], len(result["rejected"])) == (2, 1, 8)
    assert done.json()["progress"] == {"total": 11, "done": 11, "filed": 2}
    assert (await intake.client.get(url)).status_code == 200  # an administrator
    # The job's rejected rows download as a staged job's do.
    rejected = await intake.client.get(f"/v1/imports/jobs/{r.json()['job_id']}/rejected")
    assert rejected.status_code == 200
    rows = list(csv.reader(io.StringIO(rejected.content.decode("utf-8-sig"))))
    assert [int(x[0]) for x in rows[1:]] == [3, 4, 5, 6, 10, 11, 12, 13]
