"""``POST requests``: the form-encoded body read into the REST filing document.

The result is the dict ``POST /v1/complaints`` takes, so that a GeoReport request is
validated and filed exactly as every other filing (``parse_complaint``).  Names, phone
and e-mail become the complainant (kept only in intake's encrypted store); ``device_id``,
``account_id`` and ``media_url`` are not kept.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from services.intake.open311.domain.catalogue import Attribute, Service, service
from services.intake.open311.domain.errors import Open311Error, bad_fields
from services.intake.open311.domain.location import (
    Place,
    Unplaceable,
    from_address_id,
    from_address_string,
)
from shared.text import text_problem

MAX_FIELDS = 100
DESCRIPTION_MAX = 4000  # the specification's limit
SUBJECT_MAX = 120
ADDRESS_MAX = 500
NAME_MAX = 100
FORM_TYPE = "application/x-www-form-urlencoded"
# attribute[code] and attribute[code][] (a multivaluelist's values)
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
# parse_complaint's field names as the GeoReport parameters a client sent.
_PARAMETER = {
    "complainant.name": "first_name",
    "complainant.phone": "phone",
    "complainant.email": "email",
    "subject": "description",
    "district_code": "address_id",
    "subdistrict_code": "address_id",
    "category": "service_code",
}

Form = Mapping[str, list[str]]


def read_form(body: bytes, content_type: str | None) -> dict[str, list[str]]:
    """The fields of a form-encoded UTF-8 body; Open311Error (400) for anything else."""
    media, _, params = (content_type or "").partition(";")
    if media.strip().lower() != FORM_TYPE:
        raise Open311Error.one(400, f"the body must be {FORM_TYPE} (GeoReport v2 POST)")
    charset = re.search(r"charset\s*=\s*\"?([\w-]+)", params, re.IGNORECASE)
    if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise Open311Error.one(400, "the body must be UTF-8 (charset=utf-8)")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError:
        raise Open311Error.one(400, "the body is not UTF-8 text") from None
    except ValueError:  # more fields than max_num_fields
        raise Open311Error.one(400, f"the body has more than {MAX_FIELDS} fields") from None
    form: dict[str, list[str]] = {}
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    return form


@dataclass
class _Reader:
    form: Form
    problems: list[tuple[str, str]]

    def scalar(self, name: str, max_len: int) -> str | None:
        """A trimmed single value; blank means absent (the spec's optional arguments)."""
        values = self.form.get(name, [])
        if len(values) > 1:
            self.problems.append((name, "is given more than once"))
            return None
        value = values[0].strip() if values else ""
        if not value:
            return None
        if len(value) > max_len:
            self.problems.append((name, f"must be at most {max_len:,} characters"))
            return None
        problem = text_problem(value)
        if problem is not None:
            self.problems.append((name, problem))
            return None
        return value


def service_of(form: Form) -> Service:
    """The service named by ``service_code``: 400 when missing, 404 when unknown."""
    values = [v.strip() for v in form.get("service_code", []) if v.strip()]
    if not values:
        raise bad_fields([("service_code", "is required (see services.json)")])
    if len(values) > 1:
        raise bad_fields([("service_code", "is given more than once")])
    found = service(values[0])
    if found is None:
        raise Open311Error.one(
            404, f"service_code {values[0][:64]!r} was not found (see services.json)"
        )
    return found


def filing(form: Form, channel: str) -> dict[str, object]:
    """The REST filing document of a GeoReport request from ``channel``.

    Raises Open311Error: 404 for an unknown service_code, else 400 naming every bad or
    missing parameter (the description, the location, the attributes, the complainant).
    """
    svc = service_of(form)
    r = _Reader(form, [])
    description = r.scalar("description", DESCRIPTION_MAX)
    if description is None and not any(p == "description" for p, _ in r.problems):
        r.problems.append(("description", "is required: describe what happened"))
    place = _place(r)
    extra = _attributes(r, svc)
    complainant = _complainant(r)
    if r.problems:
        raise bad_fields(r.problems)
    assert description is not None and place is not None
    doc: dict[str, object] = {
        "channel": channel,
        "category": svc.code,
        "district_code": place.district_code,
        "subject": subject_of(description),
        "description": description + extra,
        "complainant": complainant,
    }
    if place.subdistrict_code:
        doc["subdistrict_code"] = place.subdistrict_code
    return doc


def parameter(field: str) -> str:
    """The GeoReport parameter behind a field name of the REST filing document."""
    return _PARAMETER.get(field, field)


def subject_of(description: str) -> str:
    """A subject for the officer's lists: the description's first line, shortened."""
    first = description.strip().splitlines()[0].strip()
    return first if len(first) <= SUBJECT_MAX else first[: SUBJECT_MAX - 1].rstrip() + "…"


def _place(r: _Reader) -> Place | None:
    address_id = r.scalar("address_id", 20)
    address = r.scalar("address_string", ADDRESS_MAX)
    lat, _ = _coordinates(r)
    if any(p in ("address_id", "address_string") for p, _ in r.problems):
        return None
    try:
        if address_id is not None:
            return from_address_id(address_id)
        if address is not None:
            return from_address_string(address)
    except Unplaceable as exc:
        r.problems.append((exc.field, exc.message))
        return None
    if lat is not None:
        r.problems.append(
            (
                "lat",
                "cannot place a request in a district (we hold no boundaries), so the "
                "district cannot be known: give address_id (a DOPA subdistrict or "
                "district code) or address_string",
            )
        )
    elif not any(p in ("lat", "long") for p, _ in r.problems):
        r.problems.append(
            (
                "address_id",
                "a location is required and the district cannot be known without one: "
                "give address_id (a DOPA subdistrict or district code) or address_string",
            )
        )
    return None


def _coordinates(r: _Reader) -> tuple[float | None, float | None]:
    raw = {name: r.scalar(name, 40) for name in ("lat", "long")}
    if (raw["lat"] is None) != (raw["long"] is None):
        missing = "long" if raw["long"] is None else "lat"
        r.problems.append((missing, "is required with the other coordinate"))
        return None, None
    if raw["lat"] is None or raw["long"] is None:
        return None, None
    out = []
    for name, bound in (("lat", 90.0), ("long", 180.0)):
        value = raw[name] or ""
        number = float(value) if _NUMBER.match(value) else math.nan
        if not -bound <= number <= bound:
            r.problems.append((name, f"must be a WGS84 number between -{bound:g} and {bound:g}"))
            return None, None
        out.append(number)
    return out[0], out[1]


def _complainant(r: _Reader) -> dict[str, object]:
    first = r.scalar("first_name", NAME_MAX)
    last = r.scalar("last_name", NAME_MAX)
    phone = r.scalar("phone", 30)
    email = r.scalar("email", 254)
    if first is None and last is None and phone is None and email is None:
        return {"anonymous": True}
    if first is None and last is None:
        r.problems.append(
            (
                "first_name",
                "is required with a phone or e-mail (leave out all four of first_name, "
                "last_name, phone and email to complain anonymously)",
            )
        )
    out: dict[str, object] = {"anonymous": False}
    name = " ".join(n for n in (first, last) if n)
    if name:
        out["name"] = name
    if phone is not None:
        out["phone"] = phone
    if email is not None:
        out["email"] = email
    return out


def _attributes(r: _Reader, svc: Service) -> str:
    """The service's attributes checked, as labelled lines to add to the description."""
    given: dict[str, list[str]] = {}
    for key, values in r.form.items():
        if not key.startswith("attribute"):
            continue
        m = _ATTRIBUTE.match(key)
        if m is None:
            r.problems.append((key[:80], "is not attribute[code] or attribute[code][]"))
            continue
        given.setdefault(m.group(1), []).extend(v.strip() for v in values if v.strip())
    lines: list[str] = []
    for code in sorted(set(given) - {a.code for a in svc.attributes}):
        r.problems.append((f"attribute[{code[:64]}]", f"is not an attribute of {svc.code}"))
    for attr in sorted(svc.attributes, key=lambda a: a.order):
        line = _answer(r, attr, given.get(attr.code, []))
        if line is not None:
            lines.append(f"{attr.description}: {line}")
    return "\n\n" + "\n".join(lines) if lines else ""


def _answer(r: _Reader, attr: Attribute, values: list[str]) -> str | None:
    field = f"attribute[{attr.code}]"
    if not values:
        if attr.required:
            r.problems.append((field, f"is required: {attr.description}"))
        return None
    if attr.datatype != "multivaluelist" and len(values) > 1:
        r.problems.append((field, "takes one value"))
        return None
    if attr.datatype in ("singlevaluelist", "multivaluelist"):
        names = [attr.value_name(v) for v in values]
        if None in names:
            keys = ", ".join(k for k, _ in attr.values)
            r.problems.append((field, f"must be one of: {keys}"))
            return None
        return ", ".join(n for n in names if n)
    value = values[0]
    problem = text_problem(value)
    if problem is None and len(value) > attr.max_length:
        problem = f"must be at most {attr.max_length} characters"
    if problem is None and attr.datatype == "number" and not _NUMBER.match(value):
        problem = "must be a number"
    if problem is None and attr.datatype == "datetime" and not _is_datetime(value):
        problem = "must be an ISO 8601 date and time"
    if problem is not None:
        r.problems.append((field, problem))
        return None
    return value


def _is_datetime(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
