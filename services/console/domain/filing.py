"""Filing a complaint from the console's form: what was typed -> intake's request, intake's
422 -> a message per field in the officer's language, reference lists -> options.  Pure.

Intake decides what is valid (``services/intake/domain/validation.py``); the console only
shapes the request and explains the answer.  An anonymous complaint sends no identity at
all: whatever was typed in the identity fields before ticking "anonymous" is dropped here,
so it never leaves the officer's browser, and neither does a consent to be told (an
anonymous complainant cannot be reached).

Consent (PDPA) is the complainant's choice of how to be told what happens to the case:
SMS and e-mail from this form (LINE only from the LINE channel, where the user's LINE id
is known).  Intake checks that each chosen channel has its contact detail.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

IDENTITY_FIELDS = ("title", "name", "national_id", "phone", "email", "address")
TEXT_FIELDS = (
    "channel",
    "category",
    "province_code",
    "district_code",
    "subdistrict_code",
    "subject",
    "description",
    "channel_ref",
    *IDENTITY_FIELDS,
)
# The form's fields in page order: the error summary lists them so.
FIELD_ORDER = (
    "channel",
    "channel_ref",
    "category",
    "province_code",
    "district_code",
    "subdistrict_code",
    "subject",
    "description",
    "anonymous",
    *IDENTITY_FIELDS,
    "notify",
)
# The channels this form offers for consent, in page order (intake's codes).
NOTIFY_OPTIONS = ("sms", "email")
# Intake's error messages -> message keys (``filing.error.*``); the first match wins.
_MESSAGES = (
    (re.compile(r"^(is required|must not be empty)"), "required"),
    (re.compile(r"^unknown code"), "choose"),
    (re.compile(r"^must be at most (?P<n>\d+) characters"), "too_long"),
    (re.compile(r"^is not a current DOPA district"), "district"),
    (re.compile(r"^is not a current DOPA subdistrict"), "subdistrict"),
    (re.compile(r"^is not inside district"), "subdistrict_outside"),
    (re.compile(r"^is not a valid 13-digit Thai national ID"), "national_id"),
    (re.compile(r"^is not a valid Thai mobile or landline"), "phone"),
    (re.compile(r"^is not a valid e-mail"), "email"),
    (re.compile(r"^must not contain the control character"), "characters"),
    (re.compile(r"^must not be given for an anonymous"), "anonymous_identity"),
    (re.compile(r"^sms needs a mobile"), "notify_sms_mobile"),
    (re.compile(r"^sms needs complainant\.phone"), "notify_sms"),
    (re.compile(r"^email needs complainant\.email"), "notify_email"),
)


@dataclass(frozen=True, slots=True)
class FilingForm:
    """The form as typed (every value a trimmed string, ``""`` when blank)."""

    values: Mapping[str, str]
    anonymous: bool
    idempotency_key: str
    notify: tuple[str, ...] = ()  # consented channels, in ``NOTIFY_OPTIONS`` order

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def new_key() -> str:
    """A fresh idempotency key for a form about to be shown (one per rendered form)."""
    return str(uuid.uuid4())


def read_form(raw: Mapping[str, Any], notify: Iterable[object] = ()) -> FilingForm:
    """The posted fields; a missing or malformed idempotency key is replaced by a fresh
    one (a form that lost it can still be filed, only without the replay guard).

    ``notify`` is every value of the consent checkboxes (a form field given many times):
    only the channels this form offers are kept, once each, whatever else was posted."""
    values = {name: str(raw.get(name) or "").strip() for name in TEXT_FIELDS}
    key = str(raw.get("idempotency_key") or "").strip()
    try:
        key = str(uuid.UUID(key))
    except ValueError:
        key = new_key()
    chosen = {v for v in notify if isinstance(v, str)}
    return FilingForm(
        values,
        anonymous=str(raw.get("anonymous") or "") == "yes",
        idempotency_key=key,
        notify=tuple(c for c in NOTIFY_OPTIONS if c in chosen),
    )


def to_request(form: FilingForm) -> dict[str, Any]:
    """Intake's ``POST /v1/complaints`` body: blanks left out, no identity and no consent
    if anonymous."""
    body: dict[str, Any] = {
        name: form.get(name)
        for name in (
            "channel",
            "category",
            "district_code",
            "subdistrict_code",
            "subject",
            "description",
            "channel_ref",
        )
        if form.get(name)
    }
    complainant: dict[str, Any] = {"anonymous": form.anonymous}
    if not form.anonymous:
        complainant.update({k: form.get(k) for k in IDENTITY_FIELDS if form.get(k)})
        if form.notify:
            complainant["notify"] = list(form.notify)
    body["complainant"] = complainant
    return body


def form_field(api_field: str) -> str:
    """The form field an intake error names (``complainant.phone`` -> ``phone``)."""
    name = api_field.removeprefix("complainant.")
    return "idempotency_key" if name == "Idempotency-Key" else name


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str  # the form field (its input's id is ``f-<field>``)
    key: str  # message key
    values: dict[str, str] = default(default_factory=dict)


def explain(errors: Mapping[str, str]) -> list[FieldProblem]:
    """Intake's ``{field: message}`` as problems of form fields, in page order; a message
    the console does not know is kept as it is (``filing.error.other``)."""
    out: dict[str, FieldProblem] = {}
    for api_field, message in errors.items():
        name = form_field(api_field)
        if name in out:
            continue
        problem = FieldProblem(name, "filing.error.other", {"detail": message})
        for pattern, key in _MESSAGES:
            found = pattern.match(message)
            if found:
                problem = FieldProblem(name, f"filing.error.{key}", found.groupdict())
                break
        out[name] = problem
    rank = {name: i for i, name in enumerate(FIELD_ORDER)}
    return sorted(out.values(), key=lambda p: (rank.get(p.field, len(rank)), p.field))


def required_area(form: FilingForm) -> list[FieldProblem]:
    """The one check the console makes itself: a province was picked but no district
    (intake only sees the district, and would name that field without the reason)."""
    if form.get("province_code") and not form.get("district_code"):
        return [FieldProblem("district_code", "filing.error.required")]
    return []


@dataclass(frozen=True, slots=True)
class Option:
    code: str
    label: str


def code_options(items: Iterable[Mapping[str, Any]], lang: str) -> list[Option]:
    """Channels or categories (``{code, label_th, label_en}``) in the user's language."""
    return [
        Option(str(i["code"]), str(i["label_en" if lang == "en" else "label_th"])) for i in items
    ]


def place_options(items: Iterable[Mapping[str, Any]], lang: str) -> list[Option]:
    """Provinces, districts or subdistricts (``{code, name_th, name_en}``) in DOPA code
    order, as offices list them (the provincial seat's district first), named in the
    user's language."""
    options = [
        Option(str(i["code"]), str(i["name_en" if lang == "en" else "name_th"])) for i in items
    ]
    return sorted(options, key=lambda o: o.code)


def province_of(district_code: str) -> str:
    """A DOPA district code's province (its first two digits); ``""`` for none."""
    return district_code[:2] if re.fullmatch(r"\d{4}", district_code) else ""
