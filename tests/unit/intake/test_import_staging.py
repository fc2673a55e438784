"""Staged imports' pure rules: the preview is what the import will do, the staged file
opens only under its job, and only its officer (or an admin) may use it."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest

from services.intake.backfill.domain.reader import read_table
from services.intake.backfill.staged import domain as d
from services.intake.pii.domain.envelope import Unreadable
from services.intake.pii.domain.keys import PiiKeys
from shared.auth.principal import Principal, Role

NOW = dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC)
KEYS = PiiKeys.of(os.urandom(32), os.urandom(32))
FILE = (
    "เลขที่หนังสือ,วันที่รับเรื่อง,ช่องทาง,อำเภอ,ประเภทเรื่อง,เรื่อง,หมายเหตุ\n"
    "ชม 1/1,1/10/2568,หนังสือ,5001,ที่ดิน,บุกรุก,x\n"  # 2
    ",1/10/2568,หนังสือ,5001,ที่ดิน,ทวงหนี้,\n"  # 3
    ",1/10/2568,หนังสือ,5001,ที่ดิน,ทวงหนี้,\n"  # 4: repeats 3
    ",1/10/2568,หนังสือ,4001,ที่ดิน,อำเภออื่น,\n"  # 5: another district
    ",1/10/2568,นกพิราบ,5001,ที่ดิน,ช่องทางแปลก,\n"  # 6
).encode()


def test_the_preview_counts_rejects_and_repeats_as_the_import_will() -> None:
    planned = d.plan_preview(read_table(FILE), NOW, hash_key=KEYS.hash_key, district="5001")
    keys, refs = d.unique_keys(planned.accepted)
    assert len(keys) == 2 and refs == [("letter", "5001:ชม 1/1")]
    preview = d.finish_preview(planned, set(), {("letter", "5001:ชม 1/1")})
    body = preview.body()
    assert (body["rows"], body["to_file"], body["duplicates"]) == (5, 1, 2)
    assert body["duplicate_rows"] == [
        {"row": 2, "of_row": None, "reason": "already imported"},
        {"row": 4, "of_row": 3, "reason": "same complaint as row 3"},
    ]
    assert [r["row"] for r in body["rejected"]] == [5, 6]
    assert body["rejected"][0]["reasons"] == ["district_code: 4001 is outside your district (5001)"]
    assert body["ignored_columns"] == ["หมายเหตุ"]
    assert body["columns"][0] == {"field": "letter_no", "header": "เลขที่หนังสือ"}


def test_the_sample_and_the_rejected_rows_keep_the_cells_as_read() -> None:
    table = read_table(FILE)
    assert d.sample_of(table, 1) == [
        {"row": 2, "cells": ["ชม 1/1", "1/10/2568", "หนังสือ", "5001", "ที่ดิน", "บุกรุก"]}
    ]
    columns, rows = d.rejected_table(table, [{"row": 6, "reasons": ["channel: bad", "x: y"]}])
    assert columns[:3] == ["แถว (row)", "เหตุผล (reasons)", "เลขที่หนังสือ"]
    assert rows == [
        {
            "แถว (row)": 6,
            "เหตุผล (reasons)": "channel: bad; x: y",
            "เลขที่หนังสือ": "",
            "วันที่รับเรื่อง": "1/10/2568",
            "ช่องทาง": "นกพิราบ",
            "อำเภอ": "5001",
            "ประเภทเรื่อง": "ที่ดิน",
            "เรื่อง": "ช่องทางแปลก",
            "หมายเหตุ": "",
        }
    ]


def test_a_sealed_file_opens_only_under_its_job_and_part() -> None:
    job = uuid.uuid4()
    sealed = d.seal_job(KEYS, job, FILE, [{"row": 2, "cells": ["สมชาย"]}])
    assert "สมชาย".encode() not in sealed.sealed_sample
    args = (sealed.key_id, sealed.wrapped_key)
    assert d.open_part(KEYS, job, *args, "file", sealed.sealed_file) == FILE
    with pytest.raises(Unreadable):
        d.open_part(KEYS, uuid.uuid4(), *args, "file", sealed.sealed_file)
    with pytest.raises(Unreadable):
        d.open_part(KEYS, job, *args, "sample", sealed.sealed_file)
    other = PiiKeys.of(os.urandom(32), KEYS.hash_key)
    with pytest.raises(Unreadable):
        d.open_part(other, job, *args, "file", sealed.sealed_file)


def test_only_the_staging_officer_or_an_admin_may_use_a_job() -> None:
    assert d.may_use(Principal("o1", Role.district_officer, district_code="5001"), "o1")
    assert not d.may_use(Principal("o2", Role.district_officer, district_code="5001"), "o1")
    assert d.may_use(Principal("root", Role.admin), "o1")


def test_a_running_job_without_a_heartbeat_shows_as_stalled() -> None:
    beat, since = NOW - dt.timedelta(seconds=5), NOW - dt.timedelta(minutes=1)
    assert d.shown_status("running", beat, NOW, None) == "running"
    assert d.shown_status("running", beat, NOW, since) == "queued"  # waits for its turn
    assert d.shown_status("running", NOW - d.STALE_AFTER * 2, NOW, None) == "stalled"
    assert d.shown_status("running", NOW - d.STALE_AFTER * 2, NOW, since) == "stalled"
    assert d.shown_status("done", None, NOW, None) == "done"
