"""Public tracking on the real PostgreSQL and broker: intake folds the case events (filed
by intake, moved by a running status service) into its public view and answers
``GET /v1/track/{no}`` to the complainant only, one 404 for every "no", rate-limited."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from limits import parse
from limits.aio.storage import MemoryStorage

from services.intake.main import create_app as create_intake
from services.intake.tracking import store as tracking_store
from services.intake.tracking.ratelimit import TrackingLimiter
from services.intake.tracking.usecases import key_earlier_complaints
from services.status.main import create_app as create_status
from shared.events import (
    STATUS_SOURCE,
    CaseSatisfactionRated,
    Envelope,
)
from shared.kafka import make_producer
from tests.service_app import running_app
from tests.signing import signed_record
from tests.waiting import eventually

pytestmark = pytest.mark.integration

PHONE = "089-765-4321"


@dataclass
class Platform:
    intake: FastAPI
    filer: httpx.AsyncClient  # an admin token
    public: httpx.AsyncClient  # no credential at all
    status: httpx.AsyncClient
    producer: AIOKafkaProducer
    topic: str

    def limit(self, client: str = "1000 per minute", number: str = "1000 per minute") -> None:
        """Fresh rate-limit windows for one test."""
        self.intake.state.tracking_limiter = TrackingLimiter(
            parse(client), parse(number), MemoryStorage()
        )


@pytest.fixture(scope="module")
async def platform(infra: dict[str, str]) -> AsyncIterator[Platform]:
    async with running_app(create_intake, infra) as intake:
        topics = {
            k: getattr(intake.settings, k)
            for k in ("events_topic", "dlq_topic", "consumer_group_prefix")
        }
        async with running_app(create_status, infra, **topics) as status:
            transport = httpx.ASGITransport(app=intake.app)
            producer = make_producer(intake.settings)
            await producer.start()
            try:
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as public:
                    yield Platform(
                        intake.app,
                        intake.client,
                        public,
                        status.client,
                        producer,
                        intake.settings.events_topic,
                    )
            finally:
                await producer.stop()


def _body(**complainant: Any) -> dict[str, Any]:
    """A filing's body with a fresh channel reference; a named complainant with ``PHONE``
    unless ``complainant`` says otherwise."""
    return {
        "channel": "walk_in",
        "district_code": "5001",
        "category": "land",
        "subject": "ที่ดินรุกล้ำ",
        "description": "รายละเอียด",
        "channel_ref": uuid.uuid4().hex,
        "complainant": complainant or {"anonymous": False, "name": "บุษบา ปิ่นทอง", "phone": PHONE},
    }


async def _file(p: Platform, **complainant: Any) -> dict[str, Any]:
    body = _body(**complainant)
    r = await p.filer.post(
        "/v1/complaints", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _track(p: Platform, number: str, **params: str) -> httpx.Response:
    return await p.public.get(f"/v1/track/{number}", params=params)


async def _tracked(p: Platform, number: str, check: Any = None, **params: str) -> dict[str, Any]:
    """The answer once intake's view has the case (and ``check`` accepts it)."""

    async def probe() -> httpx.Response:
        return await _track(p, number, **params)

    r = await eventually(
        probe, lambda r: r.status_code == 200 and (check is None or check(r.json()))
    )
    return dict(r.json())


async def _move(p: Platform, cid: str, **body: Any) -> None:
    r = await p.status.post(f"/v1/complaints/{cid}/transitions", json=body)
    assert r.status_code == 200, r.text


async def _case_opened(p: Platform, cid: str) -> None:
    async def probe() -> int:
        return (await p.status.get(f"/v1/complaints/{cid}")).status_code

    await eventually(probe, lambda code: code == 200)


async def test_filed_accepted_closed_shows_in_the_public_answer(platform: Platform) -> None:
    p = platform
    p.limit()
    filed = await _file(p)
    no, cid = filed["tracking_no"], filed["complaint_id"]
    assert "tracking_secret" not in filed  # a named complainant proves it with the phone
    first = await _tracked(p, no, phone_last4="4321")
    assert first["status"] == "filed" and first["state"] == "open"
    assert [h["kind"] for h in first["history"]] == ["complaint.filed"]

    await _case_opened(p, cid)
    await _move(p, cid, action="accept", note="โทรหาคุณบุษบาแล้ว")
    await _move(p, cid, action="close", reason="resolved", note="ซ่อมแล้ว")
    r = await eventually(
        lambda: _track(p, no, phone_last4="4321"),
        lambda r: r.status_code == 200 and r.json()["status"] == "closed",
    )
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["state"] == "closed" and body["closure_reason"] == "resolved"
    assert [(h["kind"], h["status"]) for h in body["history"]] == [
        ("complaint.filed", "filed"),
        ("case.accepted", "accepted"),
        ("case.closed", "closed"),
    ]
    assert set(body["history"][0]) == {"kind", "status", "at"}
    received = dt.datetime.fromisoformat(body["received_at"])
    assert dt.datetime.fromisoformat(body["updated_at"]) >= received
    # No actor, note or personal data anywhere in the answer.
    for secret_text in ("บุษบา", "4321", "โทร", "ซ่อม", "test-admin", "actor", "note"):
        assert secret_text not in r.text

    # The read side Open311 builds on sees the same case.
    pool = p.intake.state.store.pool
    cases = await tracking_store.public_cases(pool, [uuid.UUID(cid), uuid.uuid4()])
    assert list(cases) == [uuid.UUID(cid)]
    assert cases[uuid.UUID(cid)].status.value == "closed"
    listed = await tracking_store.find_public_cases(
        pool, categories=["land"], received_from=received, received_to=received, state="closed"
    )
    assert [c.tracking_no for c in listed] == [no]
    assert not await tracking_store.find_public_cases(
        pool, categories=["land"], received_from=received, received_to=received, state="open"
    )
    assert not await tracking_store.find_public_cases(
        pool, categories=["informal_debt"], received_from=received, received_to=received
    )


async def test_an_event_kind_the_view_does_not_use_is_skipped(platform: Platform) -> None:
    p = platform
    p.limit()
    filed = await _file(p)
    no, cid = filed["tracking_no"], filed["complaint_id"]
    await _case_opened(p, cid)
    await _move(p, cid, action="close", reason="withdrawn")
    before = await _tracked(p, no, lambda b: b["status"] == "closed", phone_last4="4321")
    now = dt.datetime.now(dt.UTC)
    rated = Envelope(
        event_id=uuid.uuid4(),
        complaint_id=uuid.UUID(cid),
        version=3,
        source=STATUS_SOURCE,
        occurred_at=now,
        recorded_at=now,
        data=CaseSatisfactionRated(actor="complainant", closed_version=2, score=2),
    )
    key, headers, value = signed_record(rated)
    sent = await p.producer.send_and_wait(p.topic, value, key=key, headers=headers)
    runtime = p.intake.state.runtime

    async def stored_offset() -> int:
        async with runtime.pool.acquire() as conn:
            got = await conn.fetchval(
                "SELECT next_offset FROM consumer_offsets WHERE group_id = $1 AND partition = $2",
                runtime.settings.consumer_group("intake"),
                sent.partition,
            )
            return int(got or 0)

    await eventually(stored_offset, lambda o: o > sent.offset)
    assert runtime.tasks["consumer"].restarts == 0
    after = await _tracked(p, no, phone_last4="4321")
    assert after == before  # skipped: not in the history, status and dates unchanged


async def test_wrong_phone_unknown_number_and_keyless_case_answer_alike(
    platform: Platform,
) -> None:
    p = platform
    p.limit()
    filed = await _file(p)
    no, cid = filed["tracking_no"], filed["complaint_id"]
    await _tracked(p, no, phone_last4="4321")
    district, year, serial = no.split("-")
    unknown = f"{district}-{year}-{int(serial) + 10_000_000:07d}"
    answers = [
        await _track(p, no, phone_last4="4320"),
        await _track(p, unknown, phone_last4="4321"),
        await _track(p, "no-such-number", phone_last4="4321"),
        await _track(p, no, secret="ABCD-EFGH-JKMN-PQRS"),  # a named case has no secret
    ]
    # A case without keys (filed before tracking, keys lost) too.
    pool = p.intake.state.store.pool
    await pool.execute("DELETE FROM tracking_keys WHERE complaint_id = $1", uuid.UUID(cid))
    answers.append(await _track(p, no, phone_last4="4321"))
    assert {r.status_code for r in answers} == {404}
    # The same body but for ``instance``, the caller's own path.
    bodies = [{k: v for k, v in r.json().items() if k != "instance"} for r in answers]
    assert all(b == bodies[0] for b in bodies)
    assert all(r.json()["instance"] == r.url.path for r in answers)
    assert len({r.headers["content-type"] for r in answers}) == 1
    assert answers[0].headers["content-type"].startswith("application/problem+json")

    # Intake's start gives it a phone key again, from the masked phone kept since filing.
    keyed = await key_earlier_complaints(
        pool, p.intake.state.pii_keys.hash_key, dt.datetime.now(dt.UTC)
    )
    assert keyed >= 1
    assert (await _track(p, no, phone_last4="4321")).status_code == 200
    assert (await _track(p, no, phone_last4="4320")).status_code == 404


async def test_guessing_is_refused_per_number_then_per_client(platform: Platform) -> None:
    p = platform
    filed = await _file(p)
    no = filed["tracking_no"]
    p.limit()
    await _tracked(p, no, phone_last4="4321")
    p.limit(client="100 per minute", number="3 per hour")
    codes = [(await _track(p, no, phone_last4=f"{n:04d}")).status_code for n in range(3)]
    assert codes == [404, 404, 404]
    refused = await _track(p, no, phone_last4="4321")  # even the right digits now
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    retry = int(refused.headers["retry-after"])
    assert 3000 < retry <= 3600 and refused.json()["retry_after"] == retry
    # Another number is not held back by this one's window.
    other = await _file(p)
    assert (await _track(p, other["tracking_no"], phone_last4="4321")).status_code in (200, 404)

    p.limit(client="5 per minute")
    statuses = [
        (await _track(p, other["tracking_no"], phone_last4="1111")).status_code for _ in range(6)
    ]
    assert statuses[:5] == [404] * 5 and statuses[5] == 429
    assert 1 <= int((await _track(p, "x", phone_last4="1")).headers["retry-after"]) <= 60


async def test_anonymous_complaint_is_tracked_with_its_secret_only(platform: Platform) -> None:
    p = platform
    p.limit()
    key = uuid.uuid4().hex
    body = {
        "channel": "walk_in",
        "district_code": "5001",
        "category": "land",
        "subject": "ร้องเรียนไม่ประสงค์ออกนาม",
        "description": "รายละเอียด",
        "channel_ref": uuid.uuid4().hex,
        "complainant": {"anonymous": True},
    }
    r = await p.filer.post("/v1/complaints", json=body, headers={"Idempotency-Key": key})
    assert r.status_code == 201, r.text
    secret, no = r.json()["tracking_secret"], r.json()["tracking_no"]
    assert len(secret) == 19
    # A replay of the filing answers the same secret (an idempotent answer is the same).
    replay = await p.filer.post("/v1/complaints", json=body, headers={"Idempotency-Key": key})
    assert replay.status_code == 200 and replay.json()["tracking_secret"] == secret

    answer = await _tracked(p, no, secret=secret)
    assert answer["tracking_no"] == no and answer["status"] == "filed"
    assert (await _track(p, no, secret=secret.lower().replace("-", ""))).status_code == 200
    assert (await _track(p, no, secret="ABCD-EFGH-JKMN-PQRS")).status_code == 404
    for digits in ("0000", "4321"):
        assert (await _track(p, no, phone_last4=digits)).status_code == 404
    # Only a keyed hash is stored: the secret appears nowhere in intake's tables.
    pool = p.intake.state.store.pool
    row = await pool.fetchrow(
        "SELECT * FROM tracking_keys WHERE complaint_id = $1", uuid.UUID(r.json()["complaint_id"])
    )
    assert row["phone_hash"] is None and len(row["secret_hash"]) == 32
    assert secret.replace("-", "").encode() not in bytes(row["secret_hash"])


async def test_a_filing_and_its_keys_are_stored_together_or_not_at_all(
    platform: Platform,
) -> None:
    """Keys that cannot be written (here a trigger answers as a full disk does) fail the
    filing itself: the caller gets a 503 for a complaint that was not stored, never for one
    that was, and the same request sent again files it, trackable at once."""
    p = platform
    p.limit()
    pool = p.intake.state.store.pool
    body = _body()
    await pool.execute(
        """
        CREATE FUNCTION no_room() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$;
        CREATE TRIGGER no_room BEFORE INSERT ON tracking_keys
        FOR EACH ROW EXECUTE FUNCTION no_room();
        """
    )
    try:
        refused = await p.filer.post("/v1/complaints", json=body)
    finally:
        await pool.execute("DROP TRIGGER no_room ON tracking_keys; DROP FUNCTION no_room()")
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    stored = "SELECT count(*) FROM complaints WHERE channel_ref = $1"
    assert await pool.fetchval(stored, body["channel_ref"]) == 0
    orphans = (  # outbox rows (events) of no stored complaint
        "SELECT count(*) FROM outbox o WHERE NOT EXISTS (SELECT FROM complaints c "
        "WHERE convert_to(c.complaint_id::text, 'UTF8') = o.key)"
    )
    assert await pool.fetchval(orphans) == 0

    again = await p.filer.post("/v1/complaints", json=body)
    assert again.status_code == 201, again.text  # filed now, not a replay of a stored one
    cid = uuid.UUID(again.json()["complaint_id"])
    keys = await pool.fetchrow("SELECT * FROM tracking_keys WHERE complaint_id = $1", cid)
    assert keys is not None and len(keys["phone_hash"]) == 32
    assert (await _tracked(p, again.json()["tracking_no"], phone_last4="4321"))["status"] == "filed"


async def test_an_imported_complaint_is_tracked_by_phone_at_once(platform: Platform) -> None:
    """A register row with a phone gets its key as it is filed, as a filing over HTTP does
    (not only at intake's next start); an anonymous row none (nobody was handed a secret)."""
    p = platform
    p.limit()
    tag = uuid.uuid4().hex[:8]
    register = (
        "วันที่รับเรื่อง,ช่องทาง,อำเภอ,ประเภทเรื่อง,เรื่อง,ชื่อผู้ร้อง,ไม่ประสงค์ออกนาม,โทรศัพท์\n"
        f"๑๕/๑๐/๒๕๖๗,หนังสือ,5001,ที่ดิน,{tag} ที่ดินรุกล้ำ,นายสมชาย ใจดี,ไม่,๐๘๙-๗๖๕-๔๓๒๑\n"
        f"๑๖/๑๐/๒๕๖๗,หนังสือ,5001,ที่ดิน,{tag}-a ไม่ประสงค์ออกนาม,,ใช่,\n"
    ).encode()
    r = await p.filer.post(
        "/v1/imports", params={"wait": "true"}, files={"file": ("r.csv", register)}
    )
    assert r.status_code == 200 and r.json()["filed"] == 2, r.text
    pool = p.intake.state.store.pool
    no = await pool.fetchval("SELECT tracking_no FROM complaints WHERE subject LIKE $1", f"{tag} %")
    unkeyed = await pool.fetchval(
        "SELECT count(*) FROM complaints c WHERE subject LIKE $1 AND NOT EXISTS "
        "(SELECT FROM tracking_keys k WHERE k.complaint_id = c.complaint_id)",
        f"{tag}-a %",
    )
    assert unkeyed == 1
    assert (await _tracked(p, no, phone_last4="4321"))["tracking_no"] == no
    assert (await _track(p, no, phone_last4="4320")).status_code == 404


@pytest.mark.parametrize(
    "path,params,expected",
    [
        ("/v1/track/" + "9" * 20_000, {"phone_last4": "1234"}, 404),
        ("/v1/track/1001-2569-0000001", {"phone_last4": "abcd"}, 422),
        ("/v1/track/1001-2569-0000001", {"phone_last4": "๑๒๓๔"}, 422),
        ("/v1/track/1001-2569-0000001", {"phone_last4": "1" * 30_000}, 422),
        ("/v1/track/1001-2569-0000001", {"phone_last4": "12\x0034"}, 422),
        ("/v1/track/1001-2569-0000001", {"secret": "ก" * 3_000}, 422),
        ("/v1/track/1001-2569-0000001", {"secret": "🙂" * 16}, 404),
        ("/v1/track/1001-2569-0000001", {}, 422),
        ("/v1/track/1001-2569-0000001", {"phone_last4": "1234", "secret": "A"}, 422),
        ("/v1/track/%FF%FE%00", {"phone_last4": "1234"}, 404),
        ("/v1/track/๑๐๐๑-๒๕๖๙-๐๐๐๐๐๐๑", {"phone_last4": "1234"}, 404),
        ("/v1/track/1001-2569-0000001%0A", {"phone_last4": "1234"}, 404),
    ],
)
async def test_hostile_input_is_refused_never_a_500(
    platform: Platform, path: str, params: dict[str, str], expected: int
) -> None:
    p = platform
    p.limit()
    r = await p.public.get(path, params=params)
    assert r.status_code == expected, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if expected == 422:
        assert r.json()["errors"][0]["field"] in ("phone_last4", "secret")
