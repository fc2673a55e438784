"""Feedback after closure, end to end on status: the link's token is the only credential.

A closed case takes one rating and one reopen request for its closure, appended to its
hash chain (actor "complainant") and published; the case stays closed and shows on the
district's reopen-requests worklist until an officer reopens it, after which the link is
no longer valid.  Bad, expired and hostile input answers problem+json, never a 500.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from damrong.cli.audit import Audit, Source, verify
from services.status.main import create_app
from shared import feedback_links
from shared.chain import GENESIS, seal
from shared.events import Envelope
from shared.kafka import make_producer
from tests.auth import bearer, token
from tests.integration.status.conftest import StatusService
from tests.service_app import running_app
from tests.unit.status.factories import T0, filed
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SECRET = "feedback-secret-" + "f" * 40


@pytest.fixture(scope="module")
async def svc(infra: dict[str, str]) -> AsyncIterator[StatusService]:
    """A status service of its own, with feedback links configured."""
    async with running_app(create_app, infra, feedback_link_secret=SecretStr(SECRET)) as running:
        producer = make_producer(running.settings)
        await producer.start()
        try:
            yield StatusService(
                running.client, running.settings, running.app.state.runtime, producer, running.app
            )
        finally:
            await producer.stop()


@pytest.fixture(scope="module")
async def public(svc: StatusService) -> AsyncIterator[httpx.AsyncClient]:
    """A client sending no credential at all (``svc.client`` sends an admin token)."""
    transport = httpx.ASGITransport(app=svc.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


_USED: set[str] = set()


def _district() -> str:
    """A 4-digit district code no other test of the module (its own database) used."""
    code = str(random.randint(1000, 9999))
    while code in _USED:
        code = str(random.randint(1000, 9999))
    _USED.add(code)
    return code


async def _case(
    svc: StatusService, district: str, moves: list[tuple[str, dict[str, Any]]]
) -> uuid.UUID:
    env = filed(at=T0)
    data = env.data.model_copy(update={"district_code": district, "province_code": district[:2]})
    env = seal(Envelope(**{**env.model_dump(exclude={"data", "hash"}), "data": data}), GENESIS)
    await svc.publish(env)
    await svc.wait_for_case(env.complaint_id)
    for action, kw in moves:
        r = await svc.client.post(
            f"/v1/complaints/{env.complaint_id}/transitions", json={"action": action, **kw}
        )
        assert r.status_code == 200, r.text
    return env.complaint_id


CLOSE = [("accept", {}), ("close", {"reason": "resolved"})]  # closed at version 3


def _token(cid: uuid.UUID, closed_version: int = 3, **kw: Any) -> str:
    return feedback_links.issue(cid, closed_version, SECRET, dt.datetime.now(dt.UTC), **kw)


async def _post(public: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await public.post("/v1/feedback", json=body)


async def test_rating_and_reopen_request_are_appended_to_the_chain(
    svc: StatusService, public: httpx.AsyncClient
) -> None:
    district = _district()
    cid = await _case(svc, district, CLOSE)
    tok = _token(cid)

    r = await public.get(f"/v1/feedback/{tok}")
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["closure_reason"] == "resolved"
    assert (page["rated"], page["reopen_requested"]) == (False, False)
    assert page["tracking_no"].startswith("DR-")

    r = await _post(public, {"token": tok, "score": 2, "not_solved": True})
    assert r.status_code == 201, r.text
    assert r.json()["recorded"] == ["case.satisfaction_rated", "case.reopen_requested"]
    assert r.json()["version"] == 5

    case = (await svc.client.get(f"/v1/complaints/{cid}")).json()
    assert (case["status"], case["version"]) == ("closed", 5)
    events = (await svc.client.get(f"/v1/complaints/{cid}/history")).json()["events"]
    assert [e["type"].rsplit(".", 1)[0].removeprefix("th.go.dopa.damrong.") for e in events] == [
        "complaint.filed",
        "case.accepted",
        "case.closed",
        "case.satisfaction_rated",
        "case.reopen_requested",
    ]
    assert events[3]["data"] == {"actor": "complainant", "closed_version": 3, "score": 2}
    assert events[4]["data"] == {"actor": "complainant", "closed_version": 3}

    # Both in the database and on the topic, chained and signed: nothing breaks.
    async def audit() -> Audit:
        return await verify(svc.settings, district, Source.both)

    clean = await eventually(
        audit, lambda a: not a.breaks and a.verdicts["topic"].events == 5, timeout=30
    )
    assert {w: (v.cases, v.events) for w, v in clean.verdicts.items()} == {
        "db": (1, 5),
        "topic": (1, 5),
    }

    r = await public.get(f"/v1/feedback/{tok}")
    assert (r.json()["rated"], r.json()["reopen_requested"]) == (True, True)


async def test_a_repeat_is_refused_per_part(svc: StatusService, public: httpx.AsyncClient) -> None:
    cid = await _case(svc, _district(), CLOSE)
    tok = _token(cid)
    assert (await _post(public, {"token": tok, "score": 5})).status_code == 201
    r = await _post(public, {"token": tok, "score": 4})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/feedback-already-given") and r.json()["field"] == "score"
    # The other part is still open, once; asking for both after one is refused whole.
    assert (await _post(public, {"token": tok, "score": 1, "not_solved": True})).status_code == 409
    assert (await _post(public, {"token": tok, "not_solved": True})).status_code == 201
    r = await _post(public, {"token": tok, "not_solved": True})
    assert r.status_code == 409 and r.json()["field"] == "not_solved"
    case = (await svc.client.get(f"/v1/complaints/{cid}")).json()
    assert case["version"] == 5


async def test_the_same_answer_sent_twice_at_once_is_recorded_once(
    svc: StatusService, public: httpx.AsyncClient
) -> None:
    cid = await _case(svc, _district(), CLOSE)
    tok = _token(cid)
    answers = await asyncio.gather(*(_post(public, {"token": tok, "score": 3}) for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    assert (await svc.client.get(f"/v1/complaints/{cid}")).json()["version"] == 4


async def test_reopen_requests_worklist_until_reopened(
    svc: StatusService, public: httpx.AsyncClient
) -> None:
    district = _district()
    disputed = await _case(svc, district, CLOSE)
    rated_only = await _case(svc, district, CLOSE)
    elsewhere = await _case(svc, _district(), CLOSE)
    for cid, body in (
        (disputed, {"not_solved": True}),
        (rated_only, {"score": 4}),
        (elsewhere, {"not_solved": True}),
    ):
        assert (await _post(public, {"token": _token(cid), **body})).status_code == 201

    officer = bearer(token("district_officer", "o-x", district_code=district))
    r = await svc.client.get(
        "/v1/worklists/reopen_requests", params={"district_code": district}, headers=officer
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1 and [i["complaint_id"] for i in body["items"]] == [str(disputed)]
    item = body["items"][0]
    assert item["status"] == "closed" and item["closure_reason"] == "resolved"
    assert item["reopen_requested_at"] is not None and item["closed_at"] is not None
    other = bearer(token("district_officer", "o-y", district_code=_district()))
    r = await svc.client.get(
        "/v1/worklists/reopen_requests", params={"district_code": district}, headers=other
    )
    assert r.status_code == 403
    r = await svc.client.get(
        "/v1/worklists/reopen_requests", params={"district_code": district, "format": "csv"}
    )
    assert r.status_code == 200 and "reopen_requested_at" in r.text.splitlines()[0]

    # The officer reopens: off the list, and the link answers no more.
    r = await svc.client.post(
        f"/v1/complaints/{disputed}/transitions", json={"action": "reopen"}, headers=officer
    )
    assert r.status_code == 200, r.text
    r = await svc.client.get("/v1/worklists/reopen_requests", params={"district_code": district})
    assert r.json()["total"] == 0
    tok = _token(disputed)
    r = await public.get(f"/v1/feedback/{tok}")
    assert r.status_code == 410 and r.json()["type"].endswith("/feedback-link-superseded")
    r = await _post(public, {"token": tok, "score": 1})
    assert r.status_code == 410 and r.json()["field"] == "token"
    # Closed again: a link to the new closure works, the old one still does not.
    r = await svc.client.post(
        f"/v1/complaints/{disputed}/transitions",
        json={"action": "close", "reason": "resolved"},
    )
    assert r.status_code == 200
    assert (await _post(public, {"token": tok, "score": 1})).status_code == 410
    assert (await _post(public, {"token": _token(disputed, 6), "score": 1})).status_code == 201


async def test_only_a_closed_case_takes_feedback(
    svc: StatusService, public: httpx.AsyncClient
) -> None:
    cid = await _case(svc, _district(), [("accept", {})])
    r = await _post(public, {"token": _token(cid, 2), "score": 5})
    assert r.status_code == 410
    rejected = await _case(svc, _district(), [("reject", {"reason": "not ours"})])
    assert (await _post(public, {"token": _token(rejected, 2), "score": 5})).status_code == 410
    unknown = _token(uuid.uuid4())
    assert (await _post(public, {"token": unknown, "score": 5})).status_code == 404


async def test_bad_and_expired_tokens(svc: StatusService, public: httpx.AsyncClient) -> None:
    cid = await _case(svc, _district(), CLOSE)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=61)
    expired = feedback_links.issue(cid, 3, SECRET, past)
    r = await _post(public, {"token": expired, "score": 5})
    assert r.status_code == 401 and r.json()["type"].endswith("/feedback-link-expired")
    assert (await public.get(f"/v1/feedback/{expired}")).status_code == 401
    forged = feedback_links.issue(cid, 3, "another-secret-" + "z" * 40, dt.datetime.now(dt.UTC))
    sign_in = token("admin")  # a valid sign-in token is no feedback link
    for bad in (forged, sign_in, "not-a-token", "a.b.c", "ก" * 100):
        r = await _post(public, {"token": bad, "score": 5})
        assert r.status_code == 400, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == "token"
        r = await public.get(f"/v1/feedback/{bad}")
        assert r.status_code == 400
    assert (await svc.client.get(f"/v1/complaints/{cid}")).json()["version"] == 3


HOSTILE: list[tuple[str, Any, int]] = [
    ("no answer", {"score": None}, 422),
    ("score too high", {"score": 6}, 422),
    ("score zero", {"score": 0}, 422),
    ("score as text", {"score": "5"}, 422),
    ("score as float", {"score": 4.5}, 422),
    ("not_solved as text", {"not_solved": "yes"}, 422),
    ("free text smuggled in", {"score": 3, "note": "ชื่อ สมชาย โทร 0812345678"}, 422),
    ("nested", {"score": {"a": [[[[[[1]]]]]]}}, 422),
]


@pytest.mark.parametrize("case", HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_bodies(
    svc: StatusService, public: httpx.AsyncClient, case: tuple[str, Any, int]
) -> None:
    _name, extra, expected = case
    cid = await _case(svc, _district(), CLOSE) if expected != 400 else uuid.uuid4()
    r = await _post(public, {"token": _token(cid), **extra})
    assert r.status_code == expected, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_hostile_raw_requests(svc: StatusService, public: httpx.AsyncClient) -> None:
    post = public.post
    cases: list[tuple[bytes, str, int]] = [
        (b"{", "application/json", 422),
        (b"[]", "application/json", 422),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400),  # too deep to parse
        ('{"token": "ก"}'.encode("tis-620"), "application/json", 400),  # not UTF-8
        (b"\xff\xfe{\x00}\x00", "application/json", 422),
        (b"token=x&score=5", "application/x-www-form-urlencoded", 422),
        (b'{"token": "' + b"x" * 200_000 + b'"}', "application/json", 413),
    ]
    for content, ctype, expected in cases:
        r = await post("/v1/feedback", content=content, headers={"content-type": ctype})
        assert r.status_code == expected, (content[:40], r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await public.get("/v1/feedback/" + "x" * 5000)
    assert r.status_code in (400, 422)
