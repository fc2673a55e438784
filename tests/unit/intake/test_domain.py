"""Intake's pure core: fiscal years, tracking numbers, request hashes, masking, the event."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import pytest

from services.intake.domain import filing as domain
from services.intake.domain.filing import (
    fiscal_year,
    mask_email,
    mask_name,
    mask_national_id,
    mask_phone,
    masked_complainant,
    tracking_no,
)
from services.intake.domain.validation import parse_complaint
from shared import canonical_json
from shared.events import ComplaintFiled
from shared.thai_calendar import BANGKOK

NOW = dt.datetime(2026, 3, 1, 5, 0, tzinfo=dt.UTC)
KEY = b"k" * 32


@pytest.mark.parametrize(
    "local,fy",
    [
        (dt.datetime(2025, 9, 30, 23, 59, 59), 2568),
        (dt.datetime(2025, 10, 1, 0, 0, 0), 2569),
        (dt.datetime(2026, 9, 30, 23, 59, 59), 2569),
        (dt.datetime(2026, 10, 1, 0, 0), 2570),
        (dt.datetime(2026, 1, 1, 0, 0), 2569),
    ],
)
def test_fiscal_year_boundaries_in_bangkok(local: dt.datetime, fy: int) -> None:
    assert fiscal_year(local.replace(tzinfo=BANGKOK)) == fy
    assert fiscal_year(local) == fy  # naive means Bangkok


def test_fiscal_year_reads_utc_in_bangkok_time() -> None:
    # 30 Sep 17:30 UTC is already 1 Oct 00:30 in Bangkok: the new fiscal year.
    assert fiscal_year(dt.datetime(2025, 9, 30, 17, 30, tzinfo=dt.UTC)) == 2569
    assert fiscal_year(dt.datetime(2025, 9, 30, 16, 59, tzinfo=dt.UTC)) == 2568


def test_tracking_no_format() -> None:
    assert tracking_no("5001", dt.datetime(2025, 10, 1, tzinfo=BANGKOK), 123) == "5001-2569-0000123"
    assert (
        tracking_no("1001", dt.datetime(2025, 9, 1, tzinfo=BANGKOK), 12345678)
        == "1001-2568-12345678"
    )


def _cmd(**overrides: object) -> domain.FileComplaint:
    data: dict[str, object] = {
        "channel": "line",
        "district_code": "5001",
        "category": "drugs",
        "subject": "s",
        "description": "d",
        "complainant": {"anonymous": False, "name": "สมชาย", "phone": "0812345678"},
    }
    data.update(overrides)
    return parse_complaint(data, NOW)


def test_request_hash_is_canonical() -> None:
    assert _cmd().request_hash(KEY) == _cmd(subject="  s ").request_hash(KEY)
    assert _cmd().request_hash(KEY) == _cmd(
        complainant={"anonymous": False, "name": "สมชาย", "phone": "081-234-5678"}
    ).request_hash(KEY)
    assert _cmd().request_hash(KEY) != _cmd(subject="t").request_hash(KEY)
    assert _cmd().request_hash(KEY) != _cmd(received_at="2026-01-01T00:00:00+07:00").request_hash(
        KEY
    )


def test_request_hash_is_keyed() -> None:
    # A plain digest of a request naming a 13-digit national ID could be reversed by
    # trying every ID; without the key it cannot even be recomputed.
    assert _cmd().request_hash(KEY) != _cmd().request_hash(b"j" * 32)
    assert (
        _cmd().request_hash(KEY) != hashlib.sha256(canonical_json.dumps({"subject": "s"})).digest()
    )


def test_request_hash_ignores_the_idempotency_key() -> None:
    a = parse_complaint(
        {
            "channel": "web",
            "district_code": "5001",
            "category": "other",
            "subject": "s",
            "description": "d",
            "complainant": {"anonymous": True},
        },
        NOW,
        idempotency_key="k1",
    )
    b = parse_complaint(
        {
            "channel": "web",
            "district_code": "5001",
            "category": "other",
            "subject": "s",
            "description": "d",
            "complainant": {"anonymous": True},
        },
        NOW,
        idempotency_key="k2",
    )
    assert a.request_hash(KEY) == b.request_hash(KEY)


def test_event_has_no_personal_data() -> None:
    cmd = _cmd(
        complainant={
            "anonymous": False,
            "name": "สมชาย",
            "national_id": "1101700230708",
            "phone": "0812345678",
            "email": "s@x.th",
            "address": "บ้านเลขที่ 9",
        }
    )
    env = domain.complaint_filed(
        cmd,
        complaint_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        tracking="5001-2569-0000001",
        received_at=NOW,
        recorded_at=NOW,
        correlation_id="c1",
    )
    text = env.model_dump_json()
    for secret in ("สมชาย", "1101700230708", "+66812345678", "s@x.th", "บ้านเลขที่", '"s"', '"d"'):
        assert secret not in text
    assert env.version == 1 and env.occurred_at == NOW and env.source == "/damrong/intake"
    assert env.type == "th.go.dopa.damrong.complaint.filed.v1"
    assert isinstance(env.data, ComplaintFiled)
    assert env.data.province_code == "50" and env.data.anonymous is False


def test_masks() -> None:
    assert mask_national_id("1101700230708") == "1-xxxx-xxxxx-70-8"
    assert mask_phone("+66812341234") == "08x-xxx-1234"
    assert mask_phone("+6621234567") == "02x-xx-4567"
    assert mask_name("สมชาย ใจดี") == "ส***"
    assert mask_email("somchai@example.co.th") == "s***@example.co.th"


def test_masked_complainant_hides_every_identifier() -> None:
    stored = {
        "anonymous": False,
        "title": "นาย",
        "name": "สมชาย",
        "national_id": "1101700230708",
        "phone": "+66812341234",
        "email": "s@x.th",
        "address": "บ้านเลขที่ 9",
    }
    masked = masked_complainant(stored)
    assert masked["address"] == "***" and masked["title"] == "นาย"
    for key in ("name", "national_id", "phone", "email", "address"):
        assert masked[key] != stored[key]
    assert masked_complainant({"anonymous": True}) == {
        "anonymous": True,
        "erased": False,
        "name": None,
        "national_id": None,
        "phone": None,
        "email": None,
        "title": None,
        "address": None,
    }
    assert domain.erased_complainant()["erased"] is True
    assert not any(v for k, v in domain.erased_complainant().items() if k != "erased")
