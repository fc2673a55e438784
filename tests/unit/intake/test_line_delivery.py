"""Reading a signed LINE delivery and keeping its personal data: hostile bodies refused
with BadDelivery (never another exception), userIds only hashed or sealed."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from services.intake.line.domain import conversation as talk
from services.intake.line.domain.delivery import MAX_EVENTS, BadDelivery, read_delivery
from services.intake.line.domain.secrets import seal, unseal, user_hash
from services.intake.line.usecases import read_event
from services.intake.pii.domain.envelope import Unreadable
from services.intake.pii.domain.keys import PiiKeys
from tests.fakes.line_api import (
    delivery,
    follow_event,
    location_event,
    text_event,
    unfollow_event,
)
from tests.pii import KEYS

USER = "U" + "4" * 32


def test_a_delivery_is_read_into_its_events() -> None:
    first, second = text_event(USER, "สวัสดี"), follow_event(USER)
    second["deliveryContext"] = {"isRedelivery": True}
    events = read_delivery(delivery(first, second))
    assert [e.webhook_event_id for e in events] == [
        first["webhookEventId"],
        second["webhookEventId"],
    ]
    assert [e.user_id for e in events] == [USER, USER]
    assert [e.redelivery for e in events] == [False, True]
    assert orjson.loads(events[0].raw) == first


def test_lines_verification_delivery_has_no_events() -> None:
    assert read_delivery(b'{"destination": "U0", "events": []}') == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"not json",
        b"\xff\xfe",
        '{"events": []}'.encode("utf-16"),
        b"[1, 2]",
        b'{"events": {}}',
        b'{"events": null}',
        b'{"events": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        b'{"a": ' * 5000 + b"1" + b"}" * 5000,
        orjson.dumps({"events": [{}] * (MAX_EVENTS + 1)}),
        b'{"events": [1, 2}',
    ],
)
def test_hostile_bodies_are_bad_deliveries(body: bytes) -> None:
    with pytest.raises(BadDelivery):
        read_delivery(body)


def test_odd_events_are_kept_or_left_out_without_failing() -> None:
    body = orjson.dumps(
        {
            "events": [
                "text",
                7,
                None,
                {"type": "x"},  # no id: named by its digest
                {"type": "x"},  # the same again: once
                {"webhookEventId": "e" * 500, "source": {"type": "user", "userId": ["U"]}},
                {"webhookEventId": "g1", "source": {"type": "group", "userId": USER}},
                {"webhookEventId": "bad\nid", "source": "nope"},
            ]
        }
    )
    events = read_delivery(body)
    assert len(events) == 4
    assert events[0].webhook_event_id.startswith("sha256:")
    assert [e.user_id for e in events] == [None, None, None, None]
    assert all(len(e.webhook_event_id) <= 100 for e in events)


def test_stored_events_are_read_with_the_sdk_models() -> None:
    said = read_event(orjson.dumps(text_event(USER, "ยืนยัน", message_id="42")))
    assert said.said == talk.Text("ยืนยัน", "42") and said.user_id == USER
    assert said.reply_token and said.timestamp
    place = read_event(orjson.dumps(location_event(USER, "เขตบางรัก", 13.7, 100.5)))
    assert isinstance(place.said, talk.Location) and place.said.address == "เขตบางรัก"
    assert read_event(orjson.dumps(follow_event(USER))).said == talk.Followed()
    blocked = read_event(orjson.dumps(unfollow_event(USER)))
    assert blocked.unfollowed and blocked.said is None and blocked.user_id == USER
    sticker = text_event(USER, "x")
    sticker["message"] = {
        "type": "sticker",
        "id": "1",
        "packageId": "1",
        "stickerId": "2",
        "stickerResourceType": "STATIC",
        "quoteToken": "q",
    }
    assert read_event(orjson.dumps(sticker)).said == talk.OtherMessage()
    odds: list[dict[str, Any]] = [
        {"type": "unknown-kind"},
        {**text_event(USER, "x"), "message": {"type": "text", "id": "1", "text": {"a": 1}}},
        {**text_event(USER, "x"), "timestamp": "soon"},
        {"a": [[[[[]]]]]},
    ]
    for odd in odds:
        assert read_event(orjson.dumps(odd)).said is None


def test_user_ids_are_hashed_with_the_key_and_sealed_to_their_row() -> None:
    other_keys = PiiKeys.of(bytes(32), bytes(range(1, 33)))
    assert user_hash(KEYS, USER) == user_hash(KEYS, USER)
    assert user_hash(KEYS, USER) != user_hash(other_keys, USER)
    assert USER.encode() not in user_hash(KEYS, USER)
    kid, sealed = seal(KEYS, "user", b"row-1", USER.encode())
    assert USER.encode() not in sealed
    assert unseal(KEYS, kid, "user", b"row-1", sealed) == USER.encode()
    for kid_, purpose, row, data in (
        (kid, "user", b"row-2", sealed),  # another row's bytes
        (kid, "draft", b"row-1", sealed),  # another purpose
        (kid, "user", b"row-1", sealed[:-1] + bytes([sealed[-1] ^ 1])),  # altered
        ("mk1-unknown", "user", b"row-1", sealed),  # a key not configured
        (kid, "user", b"row-1", b"\x02" + sealed[1:]),  # an unknown format
    ):
        with pytest.raises(Unreadable):
            unseal(KEYS, kid_, purpose, row, data)


def test_deep_events_are_left_out_or_read_as_nothing_never_raising() -> None:
    too_deep = {"webhookEventId": "deep", "x": orjson.loads(b"[" * 600 + b"]" * 600)}
    fine = text_event(USER, "สวัสดี")
    assert [e.webhook_event_id for e in read_delivery(delivery(too_deep, fine))] == [
        fine["webhookEventId"]
    ]
    nested = text_event(USER, "ยืนยัน", message_id="9")
    nested["extra"] = orjson.loads(b'{"a":' * 250 + b"1" + b"}" * 250)
    [stored] = read_delivery(delivery(nested))
    assert read_event(stored.raw).said == talk.Text("ยืนยัน", "9")
    nested["message"]["emojis"] = orjson.loads(b"[" * 250 + b"]" * 250)
    [stored] = read_delivery(delivery(nested))
    assert read_event(stored.raw).said is None
