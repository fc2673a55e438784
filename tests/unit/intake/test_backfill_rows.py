"""Backfill rows -> filings: validation reused, outcomes, row identity, the file plan."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.intake.backfill.domain.plan import (
    MissingColumns,
    firsts,
    identity_digest,
    plan_import,
    split_repeats,
)
from services.intake.backfill.domain.reader import read_table
from services.intake.backfill.domain.rows import RowRejected, parse_row
from shared.codes import ChannelCode, ClosureReason
from shared.thai_calendar import BANGKOK

NOW = dt.datetime(2026, 11, 25, 5, tzinfo=dt.UTC)
KEY = b"k" * 32
PIN = "1101700230708"


def cells(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "channel": "มาด้วยตนเอง",
        "district_code": "5001",
        "subdistrict_code": "500101",
        "category": "หนี้นอกระบบ",
        "subject": "ถูกทวงหนี้",
        "description": "",
        "received_at": "๑/๑๐/๒๕๖๗",
        "name": "นายสมชาย ใจดี",
        "national_id": PIN,
        "phone": 812345678.0,
    }
    row.update(overrides)
    return row


def reasons(**overrides: Any) -> list[str]:
    with pytest.raises(RowRejected) as info:
        parse_row(2, cells(**overrides), NOW, hash_key=KEY)
    return info.value.reasons


def test_a_good_row_is_a_backfilled_filing_with_its_original_date() -> None:
    row = parse_row(2, cells(), NOW, hash_key=KEY)
    cmd = row.command
    assert cmd.backfilled and cmd.channel is ChannelCode.walk_in
    assert cmd.received_at == dt.datetime(2024, 10, 1, tzinfo=BANGKOK)
    assert cmd.description == "ถูกทวงหนี้"  # the subject stands in for a blank description
    assert cmd.complainant.phone == "+66812345678"  # Excel's lost leading zero restored
    assert not cmd.complainant.anonymous and cmd.province_code == "50"
    assert row.outcome is None
    assert row.identity.startswith("backfill:5001:row:")


def test_district_and_subdistrict_by_name() -> None:
    cmd = parse_row(
        2, cells(district_code="อ.เมืองเชียงใหม่", subdistrict_code="ต.ศรีภูมิ"), NOW, hash_key=KEY
    ).command
    assert (cmd.district_code, cmd.subdistrict_code) == ("5001", "500101")


def test_every_problem_of_a_row_is_reported_once() -> None:
    assert reasons(
        district_code="9999",
        national_id="1101700230709",
        category="เรื่องผี",
        received_at="1/1/2600",
        channel="นกพิราบ",
    ) == [
        "channel: unknown channel 'นกพิราบ'; use a code or label of /v1/reference/channels",
        "category: unknown category 'เรื่องผี'; use a code or label of /v1/reference/categories",
        "district_code: is not a current DOPA district code",
        "received_at: must not be in the future",
        "national_id: is not a valid 13-digit Thai national ID",
    ]


def test_missing_fields_and_anonymity_rules() -> None:
    assert reasons(subject="", category="", received_at="", channel="") == [
        "channel: is required (or give the letter number of a letter)",
        "category: is required",
        "received_at: is required",
        "subject: is required",
        "description: is required",
    ]
    assert reasons(anonymous="ใช่") == [
        "name: must not be given for an anonymous complaint",
        "national_id: must not be given for an anonymous complaint",
        "phone: must not be given for an anonymous complaint",
    ]
    anon = parse_row(2, cells(name="", national_id="", phone=""), NOW, hash_key=KEY)
    assert anon.command.complainant.anonymous


def test_closed_outcome_with_original_date_and_reason() -> None:
    row = parse_row(
        2,
        cells(status="ยุติเรื่อง", closed_at="15/11/2567", closure_reason="ไกล่เกลี่ยสำเร็จ"),
        NOW,
        hash_key=KEY,
    )
    assert row.outcome is not None
    assert row.outcome.status == "closed"
    assert row.outcome.at == dt.datetime(2024, 11, 15, tzinfo=BANGKOK)
    assert row.outcome.closure_reason is ClosureReason.mediated
    # A closed date alone implies the status.
    implied = parse_row(
        2, cells(closed_at="2/10/2567", closure_reason="resolved"), NOW, hash_key=KEY
    )
    assert implied.outcome is not None and implied.outcome.status == "closed"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"status": "ยุติเรื่อง"},
            [
                "closed_at: is required for a closed case",
                "closure_reason: is required for a closed case",
            ],
        ),
        (
            {"status": "ยุติ", "closed_at": "1/9/2567", "closure_reason": "resolved"},
            ["closed_at: is before the received date"],
        ),
        (
            {"status": "ยุติ", "closed_at": "1/9/2600", "closure_reason": "resolved"},
            ["closed_at: must not be in the future"],
        ),
        (
            {"status": "ยุติ", "closed_at": "2/10/2567", "closure_reason": "หายไปเอง"},
            ["closure_reason: unknown closure reason 'หายไปเอง'"],
        ),
        (
            {"status": "งง"},
            [
                "status: unknown status 'งง' (use e.g. รับเรื่อง, "
                "อยู่ระหว่างดำเนินการ, ส่งต่อ, ยุติเรื่อง, ไม่รับเรื่อง)"
            ],
        ),
        (
            {"status": "อยู่ระหว่างดำเนินการ", "closed_at": "2/10/2567"},
            ["status: is in_progress, but a closed date or closure reason is given"],
        ),
        (
            {"status": "ส่งต่อ"},
            [
                "agency: is required for a forwarded case",
                "due_date: is required for a forwarded case (is empty)",
            ],
        ),
        ({"status": "ไม่รับเรื่อง"}, ["reason: is required for a rejected case"]),
    ],
)
def test_outcome_rules(overrides: dict[str, Any], expected: list[str]) -> None:
    assert reasons(**overrides) == expected


def test_forwarded_outcome_dated_by_status_date() -> None:
    row = parse_row(
        2,
        cells(status="ส่งต่อ", agency="สำนักงานที่ดิน", due_date="1/12/2567", status_at="3/10/2567"),
        NOW,
        hash_key=KEY,
    )
    assert row.outcome is not None
    assert (row.outcome.status, row.outcome.agency) == ("forwarded", "สำนักงานที่ดิน")
    assert row.outcome.due_date == dt.date(2024, 12, 1)
    assert row.outcome.at == dt.datetime(2024, 10, 3, tzinfo=BANGKOK)


def test_identity_by_letter_number_or_normalised_content() -> None:
    a = parse_row(2, cells(letter_no="ชม 0018/123", channel=""), NOW, hash_key=KEY)
    b = parse_row(
        9, cells(letter_no="ชม  0018/๑๒๓", channel="", subject="อีกเรื่อง"), NOW, hash_key=KEY
    )
    assert a.command.channel is ChannelCode.letter
    assert a.command.channel_ref == "5001:ชม 0018/123"
    assert a.identity == b.identity and a.identity.startswith("backfill:5001:letter:")
    # Same content written differently (Thai digits, BE vs CE, label vs code) -> same row;
    # the outcome is not part of the identity.
    c = parse_row(2, cells(), NOW, hash_key=KEY)
    d = parse_row(
        3,
        cells(received_at="2024-10-01", channel="walk_in", phone="081-234-5678", status="รับเรื่อง"),
        NOW,
        hash_key=KEY,
    )
    assert c.identity == d.identity
    assert parse_row(4, cells(subject="อื่น"), NOW, hash_key=KEY).identity != c.identity
    # Keyed: without the key, the identity (which covers the national ID) cannot be
    # recomputed by trying IDs.
    assert parse_row(2, cells(), NOW, hash_key=b"j" * 32).identity != c.identity


def test_plan_counts_duplicates_and_rejections_by_row_number() -> None:
    data = (
        "อำเภอ,ประเภทเรื่อง,เรื่อง,วันที่รับเรื่อง,ช่องทาง,หมายเหตุ\n"
        "5001,ที่ดิน,บุกรุก,1/10/2567,หนังสือ,x\n"
        ",,,,,\n"
        "9999,ที่ดิน,บุกรุก,1/10/2567,หนังสือ,\n"
        "5001,ที่ดิน,บุกรุก,2024-10-01,letter,y\n"
    ).encode()
    plan = plan_import(read_table(data), NOW, hash_key=KEY)
    assert plan.rows == 3
    assert [r.row for r in plan.accepted] == [2]
    assert [(d.row, d.of_row, d.reason) for d in plan.duplicates] == [
        (5, 2, "same complaint as row 2")
    ]
    assert [(r.row, r.reasons) for r in plan.rejected] == [
        (4, ["district_code: is not a current DOPA district code"])
    ]
    assert plan.ignored_columns == ["หมายเหตุ"]
    with pytest.raises(MissingColumns, match="วันที่รับเรื่อง"):
        plan_import(read_table("อำเภอ,ประเภทเรื่อง,เรื่อง\n5001,ที่ดิน,x\n".encode()), NOW, hash_key=KEY)


def test_the_row_hash_is_kept_for_filing_only_when_the_identity_needed_it() -> None:
    by_hash = parse_row(2, cells(letter_no=""), NOW, hash_key=KEY)
    assert by_hash.request_hash == by_hash.command.request_hash(KEY)
    assert by_hash.identity.endswith(by_hash.request_hash.hex()[:40])
    by_letter = parse_row(2, cells(letter_no="มท 0307/123"), NOW, hash_key=KEY)
    assert by_letter.request_hash is None and ":letter:" in by_letter.identity


def test_repeats_are_told_by_the_first_row_of_each_identity() -> None:
    a, b, c = b"a" * 16, b"b" * 16, b"c" * 16
    items = [(10, a), (11, b), (12, a), (13, c), (14, a)]
    # ``c`` was in an earlier chunk (first at row 3): every row of it is a repeat of 3.
    fresh, repeats = split_repeats(items, {c: 3})
    assert fresh == [0, 1]
    assert [(d.row, d.of_row) for d in repeats] == [(12, 10), (13, 3), (14, 10)]
    assert firsts(items) == {a: 10, b: 11, c: 13}
    assert identity_digest("x") != identity_digest("y") and len(identity_digest("x")) == 16
