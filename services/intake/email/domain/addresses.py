"""Which centre an e-mail address names.  Pure (geothai is an in-memory look-up).

``d<4 digits>@<domain>``: the district's centre, when the code is a current DOPA district.
``p<2 digits>@<domain>``: the provincial centre, filed in the province's capital district
(``<province>01``: the DOPA numbering puts the capital first in every province).
Letters compare without case; anything else (sub-addresses, other domains) names nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import geothai

_LOCAL = re.compile(r"^([dp])(\d{4}|\d{2})$")


@dataclass(frozen=True, slots=True)
class Centre:
    """The centre an address names and the district a complaint to it is filed in."""

    kind: str  # "district" or "province"
    code: str  # the DOPA code in the address
    district_code: str


def centre_of(address: str, domain: str) -> Centre | None:
    """The centre ``address`` (an addr-spec, no angle brackets) names, or None."""
    local, at, host = address.strip().rpartition("@")
    if not at or host.lower().rstrip(".") != domain.lower():
        return None
    found = _LOCAL.match(local.lower())
    if found is None:
        return None
    kind, code = found.groups()
    if kind == "d" and len(code) == 4:
        district = geothai.district(code)
        return None if district is None else Centre("district", code, district.code)
    if kind == "p" and len(code) == 2:
        if geothai.province(code) is None:
            return None
        capital = geothai.district(f"{code}01")
        return None if capital is None else Centre("province", code, capital.code)
    return None


def is_own_address(address: str, domain: str) -> bool:
    """True for any address in our own domain (a centre's or the receiver's own)."""
    _, at, host = address.strip().rpartition("@")
    return bool(at) and host.lower().rstrip(".") == domain.lower()
