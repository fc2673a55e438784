"""Which district a citizen means: by name (geothai's search) or by a shared location's
address text.  geothai has no coordinates, so a location is placed only when its address
names one district and its province; otherwise the conversation asks for the name."""

from __future__ import annotations

import geothai
from geothai import District

from services.intake.line.domain.texts import place_name

SEARCH_LIMIT = 200


def districts_named(text: str) -> list[District]:
    """The current districts ``text`` can mean, best first (empty: none).

    A district's own name wins; failing that, the districts of subdistricts of that name.
    ``"เมือง เชียงใหม่"`` and ``"สันทราย จังหวัดเชียงใหม่"`` narrow by the province named.
    """
    found = _search(text)
    if not found and " " in text.strip():
        first, rest = text.strip().split(None, 1)
        found = [d for d in _search(first) if _names_province(rest, d)]
    return found


def _search(query: str) -> list[District]:
    results = geothai.search(query, limit=SEARCH_LIMIT)
    districts = [r.area for r in results if isinstance(r.area, District)]
    if not districts:  # a subdistrict's name: the districts it lies in
        codes = dict.fromkeys(
            r.area.district_code for r in results if isinstance(r.area, geothai.Subdistrict)
        )
        districts = [d for code in codes if (d := geothai.district(code)) is not None]
    return districts


def _names_province(text: str, d: District) -> bool:
    province = geothai.province(d.province_code)
    return province is not None and province.name_th in text


def district_at(address: str) -> District | None:
    """The one district whose name and province both appear in a location's address."""
    found = []
    for province in geothai.provinces():
        if province.name_th not in address:
            continue
        for d in geothai.districts(province.code):
            bare = d.name_th.removeprefix("เขต")
            if bare and bare in address:
                found.append(d)
    # "เมืองเชียงใหม่" also contains a shorter district's name only by accident: the
    # longest match is the one meant.
    found.sort(key=lambda d: len(d.name_th), reverse=True)
    if not found:
        return None
    best = found[0]
    if any(len(d.name_th) == len(best.name_th) and d.code != best.code for d in found[1:]):
        return None
    return best


def describe(district_code: str) -> str:
    """``เขตบางรัก กรุงเทพมหานคร`` / ``อำเภอสันทราย จังหวัดเชียงใหม่``."""
    d = geothai.district(district_code)
    if d is None:
        return district_code
    p = geothai.province(d.province_code)
    return place_name(d.name_th, p.name_th if p else "", bangkok=d.province_code == "10")
