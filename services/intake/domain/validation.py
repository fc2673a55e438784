"""Validate and normalise a filing request: pure (no I/O), every bad field reported at once.

Besides the standard library it uses three data libraries, all in-memory look-ups:
``geothai`` (current DOPA codes), ``stdnum.th.pin`` (national ID checksum) and
``phonenumbers`` (Thai numbers, normalised to E.164).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geothai
import phonenumbers
from stdnum.exceptions import ValidationError
from stdnum.th import pin as thai_pin

from services.intake.contacts.domain.consent import (
    CHANNEL_FIELDS,
    LINE_USER_ID,
    NOTIFY_CHANNELS,
    ConsentingComplainant,
)
from services.intake.domain.filing import Complainant, FileComplaint
from shared.codes import CategoryCode, ChannelCode
from shared.text import text_problem
from shared.thai_calendar import aware

SUBJECT_MAX = 300
DESCRIPTION_MAX = 10_000
NAME_MAX = 200
TITLE_MAX = 50
ADDRESS_MAX = 500
EMAIL_MAX = 254
REF_MAX = 200
CLOCK_SKEW = dt.timedelta(minutes=5)

TOP_FIELDS = frozenset(
    {
        "channel",
        "district_code",
        "subdistrict_code",
        "category",
        "subject",
        "description",
        "received_at",
        "complainant",
        "channel_ref",
    }
)
IDENTITY_FIELDS = ("title", "name", "national_id", "phone", "email", "address")
# Consent to be told (services/intake/contacts): the channels, and LINE's id for the user.
CONSENT_FIELDS = ("notify", "line_user_id")
COMPLAINANT_FIELDS = frozenset({"anonymous", *IDENTITY_FIELDS, *CONSENT_FIELDS})
_PHONE_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)
# Syntax only (no DNS): one @, a dotted domain, no spaces.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_REFERENCE = {"channel": "channels", "category": "categories"}
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class InvalidComplaint(ValueError):
    """The request has one or more bad fields; ``errors`` names every one of them."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class _Collector:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def text(
        self, data: Mapping[str, Any], key: str, field: str, *, required: bool, max_len: int
    ) -> str | None:
        """A trimmed string; None/blank means absent."""
        raw = data.get(key)
        if raw is None:
            if required:
                self.add(field, "is required")
            return None
        if not isinstance(raw, str):
            self.add(field, "must be a string")
            return None
        value = raw.strip()
        if not value:
            if required:
                self.add(field, "must not be empty")
            return None
        if len(value) > max_len:
            self.add(field, f"must be at most {max_len} characters")
            return None
        problem = text_problem(value)
        if problem is not None:
            self.add(field, problem)
            return None
        return value


def parse_complaint(
    data: Any, now: dt.datetime, *, idempotency_key: str | None = None, backfilled: bool = False
) -> FileComplaint:
    """Turn a decoded JSON body into a ``FileComplaint``; InvalidComplaint lists every error.

    ``now`` (timezone-aware) bounds ``received_at``: at most 5 minutes in the future.
    """
    c = _Collector()
    if not isinstance(data, Mapping):
        raise InvalidComplaint([FieldError("body", "must be a JSON object")])
    for key in sorted(set(data) - TOP_FIELDS):
        c.add(str(key), "unknown field")

    channel = _enum(c, data, "channel", ChannelCode)
    category = _enum(c, data, "category", CategoryCode)
    district = c.text(data, "district_code", "district_code", required=True, max_len=4)
    subdistrict = c.text(data, "subdistrict_code", "subdistrict_code", required=False, max_len=6)
    province_code = _check_area(c, district, subdistrict)
    subject = c.text(data, "subject", "subject", required=True, max_len=SUBJECT_MAX)
    description = c.text(data, "description", "description", required=True, max_len=DESCRIPTION_MAX)
    channel_ref = c.text(data, "channel_ref", "channel_ref", required=False, max_len=REF_MAX)
    received_at = _received_at(c, data.get("received_at"), now)
    complainant = _complainant(c, data.get("complainant"))
    if idempotency_key is not None and not _KEY.match(idempotency_key):
        c.add("Idempotency-Key", "must be 1 to 200 printable ASCII characters")

    if c.errors:
        raise InvalidComplaint(c.errors)
    assert channel and category and district and province_code and subject and description
    assert complainant is not None
    return FileComplaint(
        channel=channel,
        category=category,
        province_code=province_code,
        district_code=district,
        subdistrict_code=subdistrict,
        subject=subject,
        description=description,
        complainant=complainant,
        received_at=received_at,
        channel_ref=channel_ref,
        idempotency_key=idempotency_key,
        backfilled=backfilled,
    )


def _enum(c: _Collector, data: Mapping[str, Any], key: str, enum: type[Any]) -> Any:
    raw = data.get(key)
    if raw is None:
        c.add(key, "is required")
        return None
    try:
        return enum(raw)
    except ValueError:
        c.add(key, f"unknown code {raw!r}; see /v1/reference/{_REFERENCE[key]}")
        return None


def _check_area(c: _Collector, district: str | None, subdistrict: str | None) -> str | None:
    """Return the district's province code; check both codes are current DOPA codes."""
    d = geothai.district(district) if district else None
    if district and d is None:
        c.add("district_code", "is not a current DOPA district code")
    if subdistrict:
        s = geothai.subdistrict(subdistrict)
        if s is None:
            c.add("subdistrict_code", "is not a current DOPA subdistrict code")
        elif d is not None and s.district_code != d.code:
            c.add("subdistrict_code", f"is not inside district {d.code}")
    return d.province_code if d else None


def _received_at(c: _Collector, raw: Any, now: dt.datetime) -> dt.datetime | None:
    """Aware UTC datetime, or None when not given; naive input means Asia/Bangkok."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        c.add("received_at", "must be an ISO 8601 date-time string")
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        c.add("received_at", "must be an ISO 8601 date-time")
        return None
    try:
        value = aware(value).astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+07:00, before the first UTC day
        c.add("received_at", "is out of range")
        return None
    if value > now + CLOCK_SKEW:
        c.add("received_at", "must not be in the future")
        return None
    return value


def _complainant(c: _Collector, raw: Any) -> Complainant | None:
    if raw is None:
        c.add("complainant", "is required")
        return None
    if not isinstance(raw, Mapping):
        c.add("complainant", "must be an object")
        return None
    for key in sorted(set(raw) - COMPLAINANT_FIELDS):
        c.add(f"complainant.{key}", "unknown field")
    anonymous = raw.get("anonymous")
    if not isinstance(anonymous, bool):
        c.add("complainant.anonymous", "is required and must be true or false")
        return None
    if anonymous:
        given = [k for k in IDENTITY_FIELDS if _given(raw.get(k))]
        given += [k for k in CONSENT_FIELDS if raw.get(k) not in (None, [], "")]
        for key in given:
            c.add(f"complainant.{key}", "must not be given for an anonymous complaint")
        return None if given else Complainant(anonymous=True)

    title = c.text(raw, "title", "complainant.title", required=False, max_len=TITLE_MAX)
    name = c.text(raw, "name", "complainant.name", required=True, max_len=NAME_MAX)
    address = c.text(raw, "address", "complainant.address", required=False, max_len=ADDRESS_MAX)
    national_id = c.text(raw, "national_id", "complainant.national_id", required=False, max_len=20)
    if national_id is not None:
        national_id = _national_id(c, national_id)
    phone = c.text(raw, "phone", "complainant.phone", required=False, max_len=30)
    if phone is not None:
        phone = _phone(c, phone)
    email = c.text(raw, "email", "complainant.email", required=False, max_len=EMAIL_MAX)
    if email is not None and not _EMAIL.match(email):
        c.add("complainant.email", "is not a valid e-mail address")
        email = None
    line_user_id = c.text(
        raw, "line_user_id", "complainant.line_user_id", required=False, max_len=33
    )
    if line_user_id is not None and not LINE_USER_ID.match(line_user_id):
        c.add("complainant.line_user_id", "is not a LINE user id (U and 32 hex digits)")
        line_user_id = None
    notify = _notify(
        c, raw.get("notify"), {"phone": phone, "email": email, "line_user_id": line_user_id}
    )
    return ConsentingComplainant(
        anonymous=False,
        title=title,
        name=name,
        national_id=national_id,
        phone=phone,
        email=email,
        address=address,
        notify=notify,
        line_user_id=line_user_id,
    )


def _notify(c: _Collector, raw: Any, contact: Mapping[str, str | None]) -> tuple[str, ...]:
    """The channels chosen (none if not given), each with the contact detail it needs;
    an SMS goes to a mobile number only."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > len(NOTIFY_CHANNELS):
        c.add("complainant.notify", 'must be a list of at most 3 of "line", "email", "sms"')
        return ()
    chosen: list[str] = []
    for item in raw:
        if not isinstance(item, str) or item not in CHANNEL_FIELDS:
            c.add("complainant.notify", f'{str(item)[:20]!r} is not one of "line", "email", "sms"')
        elif item not in chosen:
            chosen.append(item)
    for channel in chosen:
        field = CHANNEL_FIELDS[channel]
        if not contact.get(field):
            c.add("complainant.notify", f"{channel} needs complainant.{field}")
        elif channel == "sms" and not _mobile(str(contact[field])):
            c.add("complainant.notify", "sms needs a mobile complainant.phone")
    return tuple(ch for ch in NOTIFY_CHANNELS if ch in chosen)


def _mobile(e164: str) -> bool:
    number = phonenumbers.parse(e164, "TH")
    return phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _national_id(c: _Collector, value: str) -> str | None:
    try:
        return str(thai_pin.validate(value))
    except ValidationError:  # each kind of fault (length, format, checksum) a subclass
        c.add("complainant.national_id", "is not a valid 13-digit Thai national ID")
        return None


def _phone(c: _Collector, value: str) -> str | None:
    try:
        number = phonenumbers.parse(value, "TH")
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is None
        or not phonenumbers.is_valid_number_for_region(number, "TH")
        or phonenumbers.number_type(number) not in _PHONE_TYPES
    ):
        c.add("complainant.phone", "is not a valid Thai mobile or landline number")
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
