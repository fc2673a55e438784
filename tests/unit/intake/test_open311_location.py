"""Placing a GeoReport request: DOPA codes and addresses matched with geothai (pure)."""

from __future__ import annotations

import time

import pytest

from services.intake.open311.domain.location import (
    Place,
    Unplaceable,
    from_address_id,
    from_address_string,
)


@pytest.mark.parametrize(
    ("address", "place"),
    [
        ("ต.เกาะเต่า อ.เกาะพะงัน จ.สุราษฎร์ธานี", Place("8405", "840503")),
        ("ตำบลเกาะเต่าอำเภอเกาะพะงันจังหวัดสุราษฎร์ธานี", Place("8405", "840503")),
        ("99/1 หมู่ 2 ต. เกาะเต่า อ. เกาะพะงัน สุราษฎร์ธานี 84360", Place("8405", "840503")),
        ("123 ถนนสุขุมวิท แขวงคลองตัน เขตคลองเตย กรุงเทพมหานคร", Place("1033", "103302")),
        ("Ko Tao, Ko Pha-ngan, Surat Thani", Place("8405", "840503")),
        ("Khlong Toei, Bangkok", Place("1033")),
        ("ต.ตลาด อ.เมือง จ.สุราษฎร์ธานี", Place("8401", "840101")),
        ("อ.เกาะพะงัน", Place("8405")),
        ("84360", Place("8405", "840503")),
        # A district and a subdistrict share the name: the district, not a guess.
        ("เกาะพะงัน", Place("8405")),
        ("วังทอง พิษณุโลก", Place("6508")),
    ],
)
def test_addresses_are_placed(address: str, place: Place) -> None:
    assert from_address_string(address) == place


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("บ้านเลขที่ 5 หมู่ 3", "names no Thai subdistrict, district or province we know"),
        ("สุราษฎร์ธานี", "fits several districts"),
        ("วังทอง", "fits several districts"),
        ("", "names no Thai subdistrict"),
        ("1234 5th street", "names no Thai subdistrict"),  # the specification's example
    ],
)
def test_an_address_whose_district_cannot_be_known_says_so(address: str, says: str) -> None:
    with pytest.raises(Unplaceable) as exc:
        from_address_string(address)
    assert exc.value.field == "address_string"
    assert says in exc.value.message
    assert "the district cannot be known" in exc.value.message


def test_an_ambiguous_address_lists_some_candidates() -> None:
    with pytest.raises(Unplaceable) as exc:
        from_address_string("สุราษฎร์ธานี")
    assert "เกาะพะงัน สุราษฎร์ธานี (8405)" in exc.value.message
    assert "and 14 more" in exc.value.message


def test_codes_are_placed() -> None:
    assert from_address_id("840503") == Place("8405", "840503")
    assert from_address_id(" 8405 ") == Place("8405")
    with pytest.raises(Unplaceable):
        from_address_id("8405031")


@pytest.mark.parametrize(
    "address",
    [
        "ก " * 5_000,
        "เมือง " * 400,
        "บางรัก " * 400,
        "ต." * 3_000,
        "[" * 10_000,
        "\u0e01\u0e31" * 3_000,
    ],
)
def test_hostile_addresses_are_refused_quickly(address: str) -> None:
    started = time.perf_counter()
    with pytest.raises(Unplaceable):
        from_address_string(address)
    assert time.perf_counter() - started < 2.0
