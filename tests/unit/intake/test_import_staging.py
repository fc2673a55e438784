"""Staged imports' pure rules: the preview is what the import will do, the staged file
opens only under its job, and only its officer (or an admin) may use it."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import uuid

import pytest

from services.intake.backfill.domain.reader import stream_table
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


def _preview(chunk: int, filed_refs: set[tuple[str, str]]) -> d.PreviewCheck:
    """The preview of FILE checked ``chunk`` rows at a time, as staging does (a dict
    keeping the first rows, as the store's table does)."""
    table = stream_table(FILE)
    check = d.PreviewCheck(table, NOW, hash_key=KEYS.hash_key, district="5001")
    kept: dict[bytes, int] = {}
    while rows := list(itertools.islice(table.rows, chunk)):
        checked = check.check(rows)
        earlier = {k: kept[k] for k in checked.first if k in kept}
        for digest, row in checked.first.items():
            kept.setdefault(digest, row)
        check.settle(check.repeats(checked, earlier), set(), filed_refs)
    return check


@pytest.mark.parametrize("chunk", [1, 2, 100])
def test_the_preview_counts_rejects_and_repeats_as_the_import_will(chunk: int) -> None:
    # A repeat is found across chunks as within one (rows 3 and 4 are apart at 1 and 2).
    table = stream_table(FILE)
    whole = d.PreviewCheck(table, NOW, hash_key=KEYS.hash_key, district="5001")
    keys, refs = d.unique_keys(whole.repeats(whole.check(table.rows), {}))
    assert len(keys) == 2 and refs == [("letter", "5001:ชม 1/1")]
    check = _preview(chunk, {("letter", "5001:ชม 1/1")})
    body = check.done().body()
    assert (body["rows"], body["to_file"], body["duplicates"]) == (5, 1, 2)
    assert body["duplicate_rows"] == [
        {"row": 2, "of_row": None, "reason": "already imported"},
        {"row": 4, "of_row": 3, "reason": "same complaint as row 3"},
    ]
    assert [r["row"] for r in body["rejected"]] == [5, 6]
    assert body["rejected"][0]["reasons"] == ["district_code: 4001 is outside your district (5001)"]
    assert body["ignored_columns"] == ["หมายเหตุ"]
    assert body["columns"][0] == {"field": "letter_no", "header": "เลขที่หนังสือ"}
    # The first rows as read, whatever their verdict.
    assert [s["row"] for s in check.sample] == [2, 3, 4, 5, 6]
    assert check.sample[0] == {
        "row": 2,
        "cells": ["ชม 1/1", "1/10/2568", "หนังสือ", "5001", "ที่ดิน", "บุกรุก"],
    }


def test_the_rejected_rows_keep_the_cells_as_read() -> None:
    reasons = [{"row": 6, "reasons": ["channel: bad", "x: y"]}, {"row": 99, "reasons": ["z"]}]
    columns, rows = d.rejected_table(stream_table(FILE), reasons)
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
        },
        {"แถว (row)": 99, "เหตุผล (reasons)": "z"},  # a row the file does not hold
    ]


def test_a_sealed_file_opens_only_under_its_job_part_and_place() -> None:
    job = uuid.uuid4()
    key = d.new_job_key(KEYS, job)
    again = d.job_key(KEYS, job, key.key_id, key.wrapped_key)
    first, last = FILE[:100], FILE[100:]
    sealed = [
        d.seal_file_part(key, job, 0, first, False),
        d.seal_file_part(key, job, 1, last, True),
    ]
    assert first not in sealed[0] and "สมชาย".encode() not in d.seal(key, job, "sample", b"x")
    assert d.unseal_file_part(again, job, 0, sealed[0], False) == first
    assert d.unseal_file_part(again, job, 1, sealed[1], True) == last
    with pytest.raises(Unreadable):  # another job's key
        d.job_key(KEYS, uuid.uuid4(), key.key_id, key.wrapped_key)
    other_job = d.new_job_key(KEYS, uuid.uuid4())
    with pytest.raises(Unreadable):  # another job's part
        d.unseal_file_part(other_job, job, 0, sealed[0], False)
    with pytest.raises(Unreadable):  # parts swapped
        d.unseal_file_part(again, job, 0, sealed[1], False)
    with pytest.raises(Unreadable):  # cut after its first part: that part is not the last
        d.unseal_file_part(again, job, 0, sealed[0], True)
    with pytest.raises(Unreadable):  # a file part is not the sample
        d.unseal(again, job, "sample", sealed[0])
    with pytest.raises(Unreadable):  # a master key not configured
        d.job_key(PiiKeys.of(os.urandom(32), KEYS.hash_key), job, "other", key.wrapped_key)
    altered = sealed[1][:-1] + bytes([sealed[1][-1] ^ 1])
    with pytest.raises(Unreadable):
        d.unseal_file_part(again, job, 1, altered, True)


def test_a_file_staged_before_parts_still_opens_whole() -> None:
    job = uuid.uuid4()
    key = d.new_job_key(KEYS, job)
    whole = d.seal(key, job, "file", FILE)
    assert d.open_part(KEYS, job, key.key_id, key.wrapped_key, "file", whole) == FILE
    with pytest.raises(Unreadable):
        d.open_part(KEYS, job, key.key_id, key.wrapped_key, "sample", whole)


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
