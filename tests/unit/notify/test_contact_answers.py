"""Reading intake's contact answer: whatever comes back (malformed, huge, deeply nested,
the wrong types, another status) is a transient failure or a plain "nobody to tell",
never a crash; an anonymous answer discloses nothing whatever it carries.  Intake is
stood in for by an in-memory transport: the parsing, not the network, is under test."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.notify.channels import Transient
from services.notify.contacts import ContactGone, IntakeContacts

CID = uuid.uuid4()


def contacts(status: int, body: bytes) -> IntakeContacts:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer tok"
        assert request.url.path == f"/internal/v1/complaints/{CID}/contact"
        return httpx.Response(status, content=body)

    return IntakeContacts("http://intake.test/", "tok", 1.0, transport=httpx.MockTransport(answer))


async def test_a_good_answer() -> None:
    body = b'{"anonymous": false, "notify": ["sms"], "phone": "+66812345678", "extra": 1}'
    got = await contacts(200, body).consent(CID)
    assert got.notify == frozenset({"sms"}) and got.contact.phone == "+66812345678"


async def test_an_anonymous_answer_discloses_nothing() -> None:
    body = b'{"anonymous": true, "notify": ["sms"], "phone": "+66812345678"}'
    got = await contacts(200, body).consent(CID)
    assert got.notify == frozenset() and got.contact.phone is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'{"anonymous": "no", "notify": []}',
        b'{"anonymous": false, "notify": "sms"}',
        b'{"anonymous": false, "notify": [' + b"[" * 10_000 + b"]" * 10_000 + b"]}",
        b'{"anonymous": false, "notify": [], "phone": ' + b'"9' * 1 + b"9" * 2_000_000 + b'"}',
    ],
)
async def test_a_malformed_answer_is_transient(body: bytes) -> None:
    try:
        got = await contacts(200, body).consent(CID)
    except Transient as exc:
        assert str(exc) == "intake: unreadable answer"
    else:  # only the huge phone parses: a string is a string
        assert got.notify == frozenset()


@pytest.mark.parametrize(("status", "gone"), [(404, True), (410, True), (401, False), (503, False)])
async def test_other_statuses(status: int, gone: bool) -> None:
    with pytest.raises(ContactGone if gone else Transient):
        await contacts(status, b'{"title": "x"}').consent(CID)
