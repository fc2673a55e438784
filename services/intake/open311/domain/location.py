"""Where a GeoReport request is: a district (and subdistrict where known) from
``address_id`` (a DOPA code) or ``address_string`` (matched with geothai's search).

``lat``/``long`` cannot place a request: geothai has names and codes, not boundaries, so
a request with only coordinates has no district we could know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

import geothai

MAX_TOKENS = 8  # recognised names kept (an address names four areas at most, and a postcode)
MAX_WORDS = 40  # words read (a longer address is mostly street and house)
NGRAM = 4

# Level words that come before a name; a short form needs its dot (as in geothai).
_LEVEL_WORDS = (
    ("subdistrict", ("ตำบล", "แขวง", "ต.")),
    ("district", ("กิ่งอำเภอ", "อำเภอ", "เขต", "อ.")),
    ("province", ("จังหวัด", "จ.")),
)
# Split before a level word written without a space ("ตำบลเกาะเต่าอำเภอเกาะพะงัน").
_LEVEL_SPLIT = re.compile(r"(?=ตำบล|แขวง|กิ่งอำเภอ|(?<!กิ่ง)อำเภอ|จังหวัด)")
_SEPARATORS = re.compile(r"[\s,;/()]+")
# "อ." / "ต." / "จ." followed by a space: the name is the next word.
_DANGLING = frozenset({"ต.", "อ.", "จ."})
_MARKS = re.compile(r"[\s.'\-]")
_POSTAL = re.compile(r"^[0-9]{5}$")
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_CAPITAL = frozenset({"เมือง", "mueang", "muang"})
_PROVINCE_ALIASES = {"กทม": "10", "กรุงเทพ": "10", "bangkok": "10", "อยุธยา": "14"}


class Unplaceable(ValueError):
    """The district cannot be known; ``field`` names the parameter to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True, slots=True)
class Place:
    district_code: str
    subdistrict_code: str | None = None


def from_address_id(address_id: str) -> Place:
    """A 6-digit DOPA subdistrict code or a 4-digit district code."""
    code = address_id.strip().translate(_THAI_DIGITS)
    if re.fullmatch(r"[0-9]{6}", code):
        sub = geothai.subdistrict(code)
        if sub is None:
            raise Unplaceable("address_id", f"{code} is not a current DOPA subdistrict code")
        return Place(sub.district_code, sub.code)
    if re.fullmatch(r"[0-9]{4}", code):
        if geothai.district(code) is None:
            raise Unplaceable("address_id", f"{code} is not a current DOPA district code")
        return Place(code)
    raise Unplaceable(
        "address_id", "must be a DOPA subdistrict code (6 digits) or district code (4 digits)"
    )


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    level: str | None  # the level its prefix names, if any


def _norm(text: str) -> str:
    return _MARKS.sub("", text).lower()


def _words(address: str) -> list[str]:
    words = [w for w in _SEPARATORS.split(_LEVEL_SPLIT.sub(" ", address)) if w]
    merged: list[str] = []
    for word in words:
        if merged and merged[-1] in _DANGLING:
            merged[-1] += word
        else:
            merged.append(word)
    return merged[:MAX_WORDS]


def _token(text: str) -> _Token:
    for level, prefixes in _LEVEL_WORDS:
        prefix = next((p for p in prefixes if text.startswith(p)), None)
        if prefix is not None:
            return _Token(text[len(prefix) :], level)
    return _Token(text, None)


def _recognised(address: str) -> list[tuple[_Candidate, ...]]:
    """The areas each recognised name of ``address`` may be, one list per name.

    Words are read from the left, the longest run of up to ``NGRAM`` words that names an
    area first (English names have spaces: "Ko Pha-ngan"); a word naming nothing is
    skipped."""
    words = _words(address)
    found: list[tuple[_Candidate, ...]] = []
    i = 0
    while i < len(words) and len(found) < MAX_TOKENS:
        for size in range(min(NGRAM, len(words) - i), 0, -1):
            token = _token(" ".join(words[i : i + size]))
            matches = _matches(token) if _norm(token.text) else ()
            if matches:
                found.append(matches)
                i += size
                break
        else:
            i += 1
    return found


@dataclass(frozen=True, slots=True)
class _Candidate:
    province: str
    district: str
    subdistrict: str | None
    postal_codes: tuple[str, ...] = ()


def _matches(token: _Token) -> tuple[_Candidate, ...]:
    """The areas whose name is exactly the token (at the token's level, if it names one)."""
    return _matches_of(token.text, token.level)


@lru_cache(maxsize=4096)
def _matches_of(text: str, level: str | None) -> tuple[_Candidate, ...]:
    token = _Token(text, level)
    if token.level is None and _POSTAL.match(token.text):
        return tuple(
            _Candidate(s.province_code, s.district_code, s.code, s.postal_codes)
            for s in geothai.by_postal_code(token.text)
        )
    key = _norm(token.text)
    found: list[_Candidate] = []
    if key not in _names():  # most words of an address name no area: skip the search
        return ()
    if token.level in (None, "province") and key in _PROVINCE_ALIASES:
        found.extend(_districts_of(_PROVINCE_ALIASES[key]))
    if token.level in (None, "district") and key in _CAPITAL:
        found.extend(
            _Candidate(p.code, f"{p.code}01", None) for p in geothai.provinces() if p.code != "10"
        )
    for result in geothai.search(token.text, limit=10_000):
        area = result.area
        if key not in (_norm(area.name_th), _norm(_strip_level(area.name_th)), _norm(area.name_en)):
            continue
        if token.level is not None and result.level != token.level:
            continue
        if isinstance(area, geothai.types.Subdistrict):
            found.append(
                _Candidate(area.province_code, area.district_code, area.code, area.postal_codes)
            )
        elif isinstance(area, geothai.types.District):
            found.append(_Candidate(area.province_code, area.code, None))
        else:
            found.extend(_districts_of(area.code))
    return tuple(found)


@cache
def _names() -> frozenset[str]:
    """Every area name in ``_norm`` form, and the aliases: the words worth a search."""
    areas: list[geothai.types.Province | geothai.types.District | geothai.types.Subdistrict]
    areas = [*geothai.provinces()]
    for p in geothai.provinces():
        for d in geothai.districts(p.code):
            areas.append(d)
            areas.extend(geothai.subdistricts(d.code))
    names = {_norm(n) for a in areas for n in (a.name_th, _strip_level(a.name_th), a.name_en)}
    return frozenset(names | _CAPITAL | set(_PROVINCE_ALIASES))


def _strip_level(name: str) -> str:
    # Bangkok's districts are named "เขตพระนคร" in the data; people write "พระนคร" too.
    for _, prefixes in _LEVEL_WORDS:
        for prefix in prefixes:
            if name.startswith(prefix):
                return name[len(prefix) :]
    return name


def _districts_of(province_code: str) -> list[_Candidate]:
    # A province alone: each of its districts is a candidate, marked as province-level.
    return [_Candidate(province_code, d.code, "*") for d in geothai.districts(province_code)]


def warm() -> None:
    """Build the name indexes now (geothai's and ours), not on the first request."""
    _names()
    _matches_of("สุราษฎร์ธานี", None)


def from_address_string(address: str) -> Place:
    """The one district that every place name recognised in ``address`` fits.

    Each word (split at spaces, commas and level words) that is exactly the name of a
    province, district or subdistrict, or a postal code, is a constraint; words that name
    nothing (house numbers, streets, villages) are ignored.  The district is known when
    the candidates fitting the most constraints all lie in one district; the subdistrict
    when they all agree on it too.  Raises Unplaceable otherwise.
    """
    per_token = _recognised(address)
    if not per_token:
        raise Unplaceable(
            "address_string",
            "names no Thai subdistrict, district or province we know, so the district "
            "cannot be known: add them, or give address_id (a DOPA code)",
        )
    candidates = {c for matches in per_token for c in matches if c.subdistrict != "*"}
    candidates |= {
        _Candidate(c.province, c.district, None) for matches in per_token for c in matches
    }
    scored = [(sum(_fits(c, m) for m in per_token), c) for c in candidates]
    best = max(score for score, _ in scored)
    winners = [c for score, c in scored if score == best]
    districts = sorted({c.district for c in winners})
    if len(districts) != 1:
        names = ", ".join(_district_name(d) for d in districts[:5])
        more = "" if len(districts) <= 5 else f" and {len(districts) - 5} more"
        raise Unplaceable(
            "address_string",
            f"fits several districts ({names}{more}), so the district cannot be known: "
            "add the district and province, or give address_id (a DOPA code)",
        )
    subs = {c.subdistrict for c in winners}
    return Place(districts[0], subs.pop() if len(subs) == 1 else None)


def _fits(candidate: _Candidate, matches: tuple[_Candidate, ...]) -> bool:
    for m in matches:
        if m.subdistrict == "*":  # a province name
            if m.province == candidate.province:
                return True
        elif m.subdistrict is None:  # a district name
            if m.district == candidate.district:
                return True
        elif m.subdistrict == candidate.subdistrict:
            return True
    return False


def _district_name(code: str) -> str:
    d = geothai.district(code)
    p = geothai.province(d.province_code) if d else None
    return f"{d.name_th} {p.name_th if p else ''} ({code})" if d else code
