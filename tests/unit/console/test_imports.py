"""The register import's pages from intake's job documents: pure layout decisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.console.domain import imports as im
from services.console.templating import load_catalogue

PREVIEW: dict[str, Any] = {
    "rows": 5,
    "to_file": 2,
    "duplicates": 1,
    "rejected": [
        {"row": 4, "reasons": ["national_id: is not a valid 13-digit Thai national ID"]},
        {"row": 6, "reasons": ["the row is odd", "status: unknown status 'x'"]},
    ],
    "duplicate_rows": [{"row": 5, "of_row": 2, "reason": "same complaint as row 2"}],
    "ignored_columns": ["หมายเหตุ"],
    "columns": [
        {"field": "district_code", "header": "อำเภอ"},
        {"field": "subject", "header": "เรื่อง"},
    ],
}


def job(**changes: Any) -> dict[str, Any]:
    return {
        "job_id": "5b0f6a52-8a1c-4d3f-9b2e-6f1c1d7e3a57",
        "status": "staged",
        "expires_at": "2026-12-05T03:00:00+00:00",
        "progress": {"total": 5, "done": 0, "filed": 0},
        "preview": PREVIEW,
        "sample": [{"row": 2, "cells": ["5001", "บุกรุก"]}],
        "result": None,
        "error": None,
        **changes,
    }


def test_a_staged_job_shows_its_preview_and_sample() -> None:
    view = im.job_view(job())
    assert view.counts == im.Counts(rows=5, filed=2, duplicates=1, rejected=2)
    assert view.sample == im.Sample(
        ["อำเภอ", "เรื่อง"], ["district_code", "subject"], [(2, ["5001", "บุกรุก"])]
    )
    assert view.rejected[0].reasons == [
        im.Reason("national_id", "is not a valid 13-digit Thai national ID")
    ]
    assert view.rejected[1].reasons == [
        im.Reason(None, "the row is odd"),
        im.Reason("status", "unknown status 'x'"),
    ]
    assert view.expires_at == dt.datetime(2026, 12, 5, 3, tzinfo=dt.UTC)
    assert not view.finished and view.percent == 0


def test_a_finished_job_shows_the_result_not_the_preview() -> None:
    result = {**PREVIEW, "filed": 1, "duplicates": 2, "rejected": PREVIEW["rejected"][:1]}
    view = im.job_view(job(status="done", result=result, sample=None))
    assert view.counts == im.Counts(rows=5, filed=1, duplicates=2, rejected=1)
    assert view.finished and view.percent == 100 and view.sample is None


def test_a_direct_import_being_filed_shows_its_progress_so_far() -> None:
    # Sent by `damrong import`: no preview (its rows are checked as they are filed).
    progress = {"total": 40, "done": 10, "filed": 7}
    view = im.job_view(job(status="running", preview=None, sample=None, progress=progress))
    assert view.counts == im.Counts(rows=40, filed=7, duplicates=0, rejected=0)
    assert view.rejected == [] and view.sample is None and view.percent == 25


def test_progress_is_a_bounded_percentage() -> None:
    assert (
        im.job_view(job(status="running", progress={"total": 3, "done": 2, "filed": 1})).percent
        == 66
    )
    assert (
        im.job_view(job(status="running", progress={"total": 0, "done": 0, "filed": 0})).percent
        == 0
    )


def test_a_refused_upload_names_its_reason() -> None:
    assert im.upload_problem({}, 413) == ("imports.error.too_large", {})
    unreadable = {"errors": [{"field": "file", "message": "no header row"}]}
    assert im.upload_problem(unreadable, 422) == (
        "imports.error.unreadable",
        {"detail": "no header row"},
    )
    empty = {"errors": [{"field": "file", "message": "is empty"}]}
    assert im.upload_problem(empty, 422) == ("imports.error.empty", {})


def test_an_upload_is_refused_before_it_is_sent_when_it_cannot_be_taken() -> None:
    assert im.upload_refused("", 10) == ("imports.error.no_file", {})
    assert im.upload_refused("r.csv", 0) == ("imports.error.empty", {})
    too_large = im.upload_refused("r.csv", im.UPLOAD_MAX_BYTES + 1)
    assert too_large == ("imports.error.too_large", {})
    assert im.upload_refused("r.csv", im.UPLOAD_MAX_BYTES) is None
    assert im.upload_refused("r.csv", None) is None  # size unknown: intake decides


def test_every_register_field_has_both_texts() -> None:
    catalogue = load_catalogue()
    for name in (*im.FIELDS, "file"):
        texts = catalogue[f"imports.field.{name}"]
        assert texts["th"] and texts["en"], name
    for status in ("staged", "queued", "running", "stalled", "done", "failed"):
        assert catalogue[f"imports.status.{status}"]["th"], status
        assert catalogue[f"imports.status.{status}"]["en"], status
