"""`damrong import` against a scripted intake: the upload, the rows' bar following the job
through a stall to its end, the Thai-first summary, the rejected rows' file, and readable
failures."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from damrong.cli import importer
from damrong.cli.importer import ImportFailed, run_import

REGISTER = (
    "อำเภอ,วันที่รับเรื่อง,ประเภท,ช่องทาง,เรื่อง\n"
    "5001,1/1/2567,land,walk_in,ก\n"
    "9999,1/1/2567,land,walk_in,ข\n"
)
JOB = str(uuid.uuid4())
SUMMARY = {
    "import_id": str(uuid.uuid4()),
    "rows": 2,
    "filed": 1,
    "duplicates": 0,
    "rejected": [{"row": 3, "reasons": ["district_code: is not a current DOPA district code"]}],
    "duplicate_rows": [],
    "ignored_columns": [],
}


def job(status: str, done: int, filed: int, result: Any = None, error: Any = None) -> Any:
    return {
        "job_id": JOB,
        "status": status,
        "progress": {"total": 2, "done": done, "filed": filed},
        "expected": {"to_file": 1, "duplicates": 0, "rejected": 1},
        "result": result,
        "error": error,
    }


class Intake:
    """Answers the upload with a job, then each poll with the next state of ``states``."""

    def __init__(self, states: list[Any], upload: httpx.Response | None = None) -> None:
        self.states: Iterator[Any] = iter(states)
        self.upload = upload
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "POST":
            if self.upload is not None:
                return self.upload
            return httpx.Response(
                202, json=job("running", 0, 0), headers={"Location": f"/v1/imports/{JOB}"}
            )
        assert request.url.path == f"/v1/imports/{JOB}"
        return httpx.Response(200, json=next(self.states))


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "POLL_S", 0.0)


def run(path: Path, intake: Intake) -> tuple[dict[str, Any], str]:
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False)
    summary = run_import(
        path, "http://intake.test", console, "t0ken", transport=httpx.MockTransport(intake)
    )
    return summary, out.getvalue()


def test_follows_the_job_through_a_stall_and_reports_thai_first(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text(REGISTER, encoding="utf-8")
    intake = Intake(
        [
            job("queued", 0, 0),
            job("running", 1, 1),
            job("stalled", 1, 1),
            job("done", 2, 1, result=SUMMARY),
        ]
    )
    summary, printed = run(path, intake)
    assert summary == SUMMARY
    assert [r.method for r in intake.requests] == ["POST", "GET", "GET", "GET", "GET"]
    assert intake.requests[0].headers["authorization"] == "Bearer t0ken"
    assert "register.csv: 2 แถว (rows) — บันทึกแล้ว 1 (filed), ซ้ำ 0 (duplicates)" in printed
    assert "ไม่ผ่าน 1 (rejected)" in printed
    rejected = (tmp_path / "register.rejected.csv").read_text(encoding="utf-8-sig")
    assert rejected.splitlines()[1].startswith("3,district_code: is not a current DOPA")


def test_the_rows_bar_counts_the_rows_intake_went_through(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text(REGISTER, encoding="utf-8")
    seen: list[tuple[float, float | None]] = []
    real_update = importer.Progress.update

    def update(self: Any, task: Any, **kwargs: Any) -> None:
        real_update(self, task, **kwargs)
        if "completed" in kwargs:
            t = self.tasks[0]
            seen.append((t.completed, t.total))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(importer.Progress, "update", update)
        run(path, Intake([job("running", 1, 1), job("done", 2, 1, result=SUMMARY)]))
    assert seen == [(0, 2), (1, 2), (2, 2)]


def test_a_refusal_names_the_field_and_a_failed_job_says_so(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text(REGISTER, encoding="utf-8")
    problem = httpx.Response(
        422,
        json={"detail": "file: no header row", "errors": [{"field": "file", "message": "x"}]},
        headers={"content-type": "application/problem+json"},
    )
    with pytest.raises(ImportFailed, match=r"\(422\): file: no header row \(field: file\)"):
        run(path, Intake([], upload=problem))
    with pytest.raises(ImportFailed, match=r"could not file the import .*: Unreadable"):
        run(path, Intake([job("failed", 1, 0, error="Unreadable")]))
    assert not (tmp_path / "register.rejected.csv").exists()


def test_an_unreachable_intake_is_a_readable_failure(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text(REGISTER, encoding="utf-8")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ImportFailed, match=r"intake at http://intake\.test did not answer"):
        run_import(
            path,
            "http://intake.test",
            Console(file=io.StringIO()),
            None,
            transport=httpx.MockTransport(refuse),
        )
