"""`damrong dlq`'s choices without a broker: positions, times, filters, and the replay
plan (each distinct record once, checked as a consumer checks it)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from damrong.cli.dlq import DeadLetter, Filters, Position, parse_moment, plan
from damrong.cli.dlq_output import list_line
from shared.envelope_codec import to_record
from shared.events import CaseAccepted, Envelope
from shared.signed_records import RecordVerifier
from tests.signing import PUBLIC_KEYS, signed_record

AT = dt.datetime(2026, 1, 5, 3, tzinfo=dt.UTC)  # 10:00 in Bangkok
BANGKOK = dt.timezone(dt.timedelta(hours=7))


def _letter(
    record: tuple[bytes, list[tuple[str, bytes]], bytes],
    *,
    group: str = "g-status",
    error: str = "refused",
    partition: int = 0,
    offset: int = 0,
    at: dt.datetime = AT,
) -> DeadLetter:
    key, headers, value = record
    return DeadLetter(
        partition,
        offset,
        at,
        key,
        value,
        (
            *headers,
            ("dlq_error", error.encode()),
            ("dlq_group", group.encode()),
            ("dlq_origin", b"complaints.events/0/7"),
        ),
    )


def _event() -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        version=2,
        source="/test",
        occurred_at=AT,
        recorded_at=AT,
        data=CaseAccepted(actor="t", note="n"),
    )


def test_positions() -> None:
    assert Position.parse("3/17") == Position(3, 17)
    assert Position.parse(" 17 ") == Position(None, 17)
    for bad in ("x", "3/", "a/1", "-1", "1/-2"):
        with pytest.raises(ValueError):
            Position.parse(bad)
    letter = _letter(signed_record(_event()), partition=3, offset=17)
    assert Position(3, 17).holds(letter) and Position(None, 17).holds(letter)
    assert not Position(2, 17).holds(letter)


def test_times_without_a_zone_are_bangkok_and_a_date_spans_its_day() -> None:
    assert parse_moment("2026-01-05") == dt.datetime(2026, 1, 5, tzinfo=BANGKOK)
    assert parse_moment("2026-01-05", end=True) == dt.datetime(
        2026, 1, 5, 23, 59, 59, 999999, tzinfo=BANGKOK
    )
    assert parse_moment("2026-01-05T10:00") == AT
    assert parse_moment("2026-01-05T03:00Z") == AT
    with pytest.raises(ValueError, match="not a date or time"):
        parse_moment("yesterday")


def test_filters_all_hold() -> None:
    env = _event()
    letter = _letter(signed_record(env), error="Agency unknown")
    assert Filters().admits(letter)
    assert Filters(
        error="agency UNKNOWN",
        case=env.complaint_id,
        group="g-status",
        since=parse_moment("2026-01-05"),
        until=parse_moment("2026-01-05", end=True),
    ).admits(letter)
    for other in (
        Filters(error="timeout"),
        Filters(case=uuid.uuid4()),
        Filters(group="g-kpi"),
        Filters(since=parse_moment("2026-01-06")),
        Filters(until=parse_moment("2026-01-04", end=True)),
        Filters(positions=(Position(1, 0),)),
    ):
        assert not other.admits(letter), other


def test_the_plan_sends_each_record_once_and_names_what_will_come_back() -> None:
    genuine, unsigned = signed_record(_event()), to_record(_event())
    junk: tuple[bytes, list[tuple[str, bytes]], bytes] = (b"k", [], b"not an event")
    letters = [
        _letter(genuine, group="g-status"),
        _letter(unsigned),
        _letter(genuine, group="g-kpi", offset=1),
        _letter(junk),
        _letter(unsigned, group="g-kpi", error="again", offset=2),
    ]
    planned = plan(letters, RecordVerifier(PUBLIC_KEYS))
    assert [(p.letter, len(p.copies)) for p in planned] == [
        (letters[0], 2),
        (letters[1], 2),
        (letters[3], 1),
    ]
    assert planned[0].problem is None
    assert planned[1].problem == "bad signature: unsigned"
    assert "not a CloudEvents 1.0 record" in (planned[2].problem or "")
    # What goes out is the record as it was first published: no dlq_* header.
    assert planned[0].letter.original_headers == genuine[1]
    # Without the public keys only decoding can be checked.
    assert [p.problem is None for p in plan(letters, None)] == [True, True, False]


def test_a_list_line_is_one_line_whatever_the_error_holds() -> None:
    env = _event()
    line = list_line(_letter(signed_record(env), error="first\nsecond"))
    assert "\n" not in line and line.endswith("first\\nsecond")
    assert f"{env.complaint_id}  case.accepted.v1  v2" in line
    assert line.startswith("0/0  2026-01-05T10:00:00.000+07:00  g-status  complaints.events/0/7  ")
