"""The hash chain's pure core: a stable canonical form, and every kind of tampering found."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import random
import uuid
from typing import Any

import pytest

from shared.chain import (
    GENESIS,
    Link,
    canonical,
    compare_copies,
    compute_hash,
    head,
    link_of,
    seal,
    utc_text,
    verify_case,
)
from shared.codes import ClosureReason
from shared.events import CaseAccepted, CaseClosed, Envelope
from tests.unit.status.factories import T0, filed

BKK = dt.timezone(dt.timedelta(hours=7))


def _case(n: int = 4) -> list[Envelope]:
    """A filing and n - 1 transitions, chained as intake and status chain them."""
    envs = [filed(complaint_id=uuid.UUID(int=7), event_id=uuid.UUID(int=1))]
    for version in range(2, n + 1):
        data = (
            CaseAccepted(actor="o-1", note="รับ")
            if version == 2
            else CaseClosed(actor="o-1", reason=ClosureReason.resolved)
        )
        env = Envelope(
            event_id=uuid.UUID(int=version),
            complaint_id=envs[0].complaint_id,
            version=version,
            source="/damrong/status",
            occurred_at=T0 + dt.timedelta(hours=version),
            recorded_at=T0 + dt.timedelta(hours=version),
            data=data,
        )
        envs.append(seal(env, head(link_of(envs[-1]))))
    return envs


def test_canonical_form_is_sorted_compact_utf8_json_with_utc_times() -> None:
    link = link_of(_case(2)[1])
    text = canonical(link).decode("utf-8")
    assert text.startswith('{"correlationid":null,"data":{"actor":"o-1","note":"รับ"},"id":')
    assert " " not in text and '"time":"2025-11-03T04:30:00.000000Z"' in text
    # The same instant written in another zone is the same event.
    moved = dataclasses.replace(link, occurred_at=link.occurred_at.astimezone(BKK))
    assert canonical(moved) == canonical(link)
    assert compute_hash(link) == link.hash and len(link.hash or "") == 64


def test_the_hash_is_pinned() -> None:
    """Changing the canonical form would orphan every stored chain: it must not drift."""
    link = Link(
        uuid.UUID(int=1),
        1,
        uuid.UUID(int=2),
        "/s",
        "t.v1",
        dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        None,
        {"b": 1, "a": "ก"},
        GENESIS,
        None,
    )
    expected = (
        '{"correlationid":null,"data":{"a":"ก","b":1},'
        '"id":"00000000-0000-0000-0000-000000000002","prevhash":"' + GENESIS + '",'
        '"recordedtime":"2025-01-01T00:00:00.000000Z","source":"/s",'
        '"subject":"00000000-0000-0000-0000-000000000001","time":"2025-01-01T00:00:00.000000Z",'
        '"type":"t.v1","version":1}'
    ).encode("utf-8")
    assert canonical(link) == expected
    assert compute_hash(link) == hashlib.sha256(expected).hexdigest()


@pytest.mark.parametrize(
    "change",
    [
        {"event_id": uuid.UUID(int=99)},
        {"complaint_id": uuid.UUID(int=99)},
        {"version": 9},
        {"source": "/x"},
        {"type": "th.go.dopa.damrong.case.accepted.v2"},
        {"occurred_at": T0},
        {"recorded_at": T0},
        {"correlation_id": "c"},
        {"prev_hash": "1" * 64},
        {"data": {"actor": "o-2", "note": "รับ"}},
        {"data": {"actor": "o-1", "note": "รับ", "extra": None}},
    ],
)
def test_any_field_change_changes_the_hash(change: dict[str, Any]) -> None:
    link = link_of(_case(2)[1])
    assert compute_hash(dataclasses.replace(link, **change)) != link.hash


def test_an_intact_chain_verifies() -> None:
    verdict = verify_case(link_of(e) for e in reversed(_case()))
    assert (verdict.cases, verdict.events, verdict.breaks, verdict.unchained) == (1, 4, [], [])


def test_an_edited_event_breaks_exactly_there() -> None:
    links = [link_of(e) for e in _case()]
    links[2] = dataclasses.replace(links[2], data={**links[2].data, "reason": "mediated"})
    [brk] = verify_case(links).breaks
    assert (brk.version, brk.problem, brk.expected) == (3, "altered", links[2].hash)


def test_a_deleted_or_reordered_event_leaves_a_missing_link() -> None:
    links = [link_of(e) for e in _case()]
    gap = verify_case(links[:2] + links[3:]).breaks
    assert [(b.version, b.problem) for b in gap] == [(3, "missing"), (4, "link")]
    swapped = [
        links[0],
        dataclasses.replace(links[2], version=2),
        dataclasses.replace(links[1], version=3),
        links[3],
    ]
    problems = {(b.version, b.problem) for b in verify_case(swapped).breaks}
    assert {(2, "altered"), (2, "link"), (3, "altered"), (3, "link")} <= problems


def test_unchained_events_are_reported_apart_and_still_linked_onto() -> None:
    envs = _case(3)
    legacy = dataclasses.replace(link_of(envs[0]), prev_hash=None, hash=None)
    after = link_of(seal(envs[1], head(legacy)))
    verdict = verify_case([legacy, after])
    assert verdict.breaks == [] and verdict.unchained == [(legacy.complaint_id, 1)]
    edited = dataclasses.replace(legacy, data={**legacy.data, "district_code": "1002"})
    assert [b.problem for b in verify_case([edited, after]).breaks] == ["link"]


def test_copies_are_compared_field_by_field() -> None:
    db = {(lk.complaint_id, lk.version): lk for lk in map(link_of, _case(3))}
    topic = dict(db)
    key2, key3 = sorted(db, key=lambda k: k[1])[1:]
    topic[key2] = dataclasses.replace(db[key2], source="/forged")
    del topic[key3]
    breaks = compare_copies(db, topic)
    assert [(b.version, b.detail) for b in breaks] == [
        (2, "differs in source"),
        (3, "not in the topic"),
    ]


def test_the_fast_canonical_form_is_byte_equal_to_its_definition() -> None:
    # Hashes already stored were computed with json.dumps; orjson must give the same bytes.
    import random

    from shared import canonical_json
    from shared.chain import canonical_doc

    rng = random.Random(3)
    alphabet = (
        [chr(i) for i in range(0x300)]
        + [chr(i) for i in range(0xE00, 0xE80)]
        + ["\u2028", "\U0001f600", '"', "\\"]
    )
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        data = {
            "note": text,
            "actor": text[::-1],
            "n": rng.randint(-(10**12), 10**12),
            "flag": rng.random() < 0.5,
            "nested": {"z": None, "a": [text, 1]},
        }
        link = dataclasses.replace(link_of(_case(2)[1]), data=data)
        assert canonical(link) == canonical_json.slow(canonical_doc(link))
    # Only the slow form takes what orjson refuses, and gives the defined bytes.
    odd = dataclasses.replace(link_of(_case(2)[1]), data={"note": "\ud800", "big": 2**70})
    assert canonical(odd) == canonical_json.slow(canonical_doc(odd))


def test_a_time_s_canonical_text_is_the_strftime_format_for_every_moment() -> None:
    # utc_text takes a faster path than strftime for years from 1000: the same text.
    rng = random.Random(9)
    zones = [dt.UTC, dt.timezone(dt.timedelta(hours=7)), dt.timezone(dt.timedelta(hours=-9))]
    moments = [
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        dt.datetime(1000, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 16, 59, 59, 999999, tzinfo=zones[1]),
    ] + [
        dt.datetime(rng.randint(1000, 9998), 1, 1, tzinfo=rng.choice(zones))
        + dt.timedelta(microseconds=rng.randrange(366 * 86_400 * 10**6))
        for _ in range(2000)
    ]
    for moment in moments:
        expected = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert utc_text(moment) == expected


class _ClocksGoBack(dt.tzinfo):
    """Summer time (+01:00) until the clocks go back an hour (+00:00): the wall times of
    that hour happen twice, told apart only by ``fold``."""

    def utcoffset(self, moment: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(hours=0 if moment is not None and moment.fold else 1)

    def dst(self, moment: dt.datetime | None) -> dt.timedelta:
        return self.utcoffset(moment)

    def tzname(self, moment: dt.datetime | None) -> str:
        return "GMT" if moment is not None and moment.fold else "BST"


def test_a_time_s_canonical_text_is_its_own_instant_s() -> None:
    # The two 01:30s of the night the clocks go back compare equal and hash alike, and
    # are two instants.
    first = dt.datetime(2024, 10, 27, 1, 30, tzinfo=_ClocksGoBack())
    second = first.replace(fold=1)
    assert first == second and hash(first) == hash(second)
    assert utc_text(first) == "2024-10-27T00:30:00.000000Z"
    assert utc_text(second) == "2024-10-27T01:30:00.000000Z"
    # The same instant in another zone: the same text.
    assert utc_text(first.astimezone(dt.timezone(dt.timedelta(hours=7)))) == utc_text(first)
    with pytest.raises(ValueError, match="naive"):
        utc_text(dt.datetime(2024, 10, 27, 1, 30))
