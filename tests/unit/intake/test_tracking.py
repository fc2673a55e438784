"""Public tracking's pure rules: the fold of events into the public view, open/closed,
the keyed proofs and their constant-time check, and the rate-limit decisions."""

from __future__ import annotations

import datetime as dt
import hmac
import uuid

import pytest
from limits import parse
from limits.aio.storage import MemoryStorage

from services.intake.tracking.config import TrackingSettings
from services.intake.tracking.domain.keys import (
    last4_of,
    matches,
    normalise_last4,
    normalise_secret,
    proof_hash,
    secret_for,
    well_formed_tracking_no,
)
from services.intake.tracking.domain.view import (
    KIND_STATUS,
    filed_facts,
    open_closed,
    public_entry,
    statuses_of,
)
from services.intake.tracking.ratelimit import TrackingLimiter
from shared.codes import CaseStatus, CategoryCode, ChannelCode, ClosureReason
from shared.events import (
    INTAKE_SOURCE,
    STATUS_SOURCE,
    CaseAccepted,
    CaseClosed,
    CaseForwarded,
    CaseRejected,
    ComplaintFiled,
    Envelope,
    reply_due,
)

T0 = dt.datetime(2026, 3, 1, 3, 0, tzinfo=dt.UTC)
KEY = b"h" * 32


def _env(data: object, version: int, cid: uuid.UUID, at: dt.datetime = T0) -> Envelope:
    return Envelope.model_validate(
        {
            "event_id": uuid.uuid4(),
            "complaint_id": cid,
            "version": version,
            "source": INTAKE_SOURCE if version == 1 else STATUS_SOURCE,
            "occurred_at": at,
            "recorded_at": at,
            "data": data,
        }
    )


def _filed() -> ComplaintFiled:
    return ComplaintFiled(
        tracking_no="1001-2569-0000001",
        channel=ChannelCode.walk_in,
        category=CategoryCode.land,
        province_code="10",
        district_code="1001",
        subdistrict_code="100101",
        received_at=T0,
        recorded_at=T0,
        anonymous=False,
    )


def test_each_known_kind_maps_to_its_status_without_actor_or_note() -> None:
    cid = uuid.uuid4()
    filed = public_entry(_env(_filed(), 1, cid))
    accepted = public_entry(
        _env(CaseAccepted(actor="officer-7", note="called the complainant"), 2, cid)
    )
    forwarded = public_entry(
        _env(
            CaseForwarded(actor="o", agency="กรมที่ดิน", reply_due=reply_due(T0.date(), T0)),
            3,
            cid,
        )
    )
    closed = public_entry(_env(CaseClosed(actor="o", reason=ClosureReason.resolved), 4, cid))
    rejected = public_entry(_env(CaseRejected(actor="o", reason="ชื่อจริงของผู้ร้อง"), 5, cid))
    assert filed is not None and filed.status is CaseStatus.filed and filed.version == 1
    assert accepted is not None and accepted.status is CaseStatus.accepted
    assert forwarded is not None and forwarded.agency == "กรมที่ดิน"
    assert closed is not None and closed.closure_reason is ClosureReason.resolved
    # A rejection's free-text reason is an officer's words: never public.
    assert rejected is not None and rejected.closure_reason is None and rejected.agency is None
    for entry in (filed, accepted, forwarded, closed, rejected):
        assert not {"actor", "note"} & set(type(entry).__dataclass_fields__)


def test_a_kind_the_view_does_not_know_is_skipped() -> None:
    env = _env(CaseAccepted(actor="o"), 2, uuid.uuid4())
    # An event of a kind added later (say ``case.satisfaction_rated``) reaches the fold as
    # an envelope whose kind is not in the map.
    unknown = env.model_copy(update={"data": env.data.model_copy(update={"kind": "case.rated"})})
    assert unknown.kind == "case.rated"
    assert public_entry(unknown) is None and filed_facts(unknown) is None


def test_filed_facts_only_from_a_filing() -> None:
    cid = uuid.uuid4()
    facts = filed_facts(_env(_filed(), 1, cid))
    assert facts is not None
    assert (facts.tracking_no, facts.category, facts.district_code) == (
        "1001-2569-0000001",
        "land",
        "1001",
    )
    assert filed_facts(_env(CaseAccepted(actor="o"), 2, cid)) is None


def test_every_status_has_a_kind_and_open311_state() -> None:
    assert set(KIND_STATUS.values()) == set(CaseStatus)
    assert open_closed(CaseStatus.closed) == "closed"
    assert open_closed(CaseStatus.rejected) == "closed"
    for status in (CaseStatus.filed, CaseStatus.accepted, CaseStatus.in_progress):
        assert open_closed(status) == "open"
    assert open_closed(CaseStatus.forwarded) == "open"
    assert open_closed(CaseStatus.reopened) == "open"
    assert statuses_of("closed") == {CaseStatus.closed, CaseStatus.rejected}
    assert statuses_of("open") | statuses_of("closed") == set(CaseStatus)


def test_proof_hash_is_keyed_and_bound_to_the_case_and_kind() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    h = proof_hash(KEY, a, "phone", "5678")
    assert len(h) == 32
    assert h != proof_hash(KEY, b, "phone", "5678")
    assert h != proof_hash(b"x" * 32, a, "phone", "5678")
    assert h != proof_hash(KEY, a, "secret", "5678")
    assert b"5678" not in h


def test_matches_right_wrong_missing_and_malformed() -> None:
    cid = uuid.uuid4()
    stored = proof_hash(KEY, cid, "phone", "5678")
    assert matches(KEY, cid, stored, "phone", "5678")
    assert not matches(KEY, cid, stored, "phone", "5679")
    assert not matches(KEY, cid, None, "phone", "5678")  # a case without keys
    assert not matches(KEY, None, None, "phone", "5678")  # an unknown number
    for hostile in ("", "567", "56789", "๕๖๗๘", "\uff15\uff16\uff17\uff18", "56 8", "x" * 10_000):
        assert not matches(KEY, cid, stored, "phone", hostile)
    # A stored hash of the empty proof is never matched by a malformed one either.
    empty = proof_hash(KEY, cid, "phone", "")
    assert not matches(KEY, cid, empty, "phone", "abc")


def test_matches_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    cid = uuid.uuid4()
    stored = proof_hash(KEY, cid, "phone", "1234")
    matches(KEY, cid, stored, "phone", "1234")
    matches(KEY, cid, stored, "phone", "9999")
    matches(KEY, None, None, "phone", "1234")
    matches(KEY, cid, stored, "phone", "not digits")
    # Exactly one digest comparison of 32-byte values, whatever the case.
    assert len(calls) == 4
    assert all(len(a) == len(b) == 32 for a, b in calls)


def test_secrets_are_per_complaint_stable_readable_and_normalised() -> None:
    cid = uuid.uuid4()
    s1, s2 = secret_for(KEY, cid), secret_for(KEY, uuid.uuid4())
    assert s1 != s2  # one per complaint...
    assert secret_for(KEY, cid) == s1  # ...the same again for a replayed filing
    assert secret_for(bytes(range(32)), cid) != s1  # and only with intake's key
    assert len(s1) == 19 and s1.count("-") == 3
    canonical = normalise_secret(s1)
    assert canonical is not None and len(canonical) == 16
    assert normalise_secret(s1.lower().replace("-", " ")) == canonical
    for hostile in ("", "0" * 16, "O" * 16, "A" * 15, "A" * 17, "ก" * 16, "A" * 100_000):
        assert normalise_secret(hostile) is None
    stored = proof_hash(KEY, cid, "secret", canonical)
    assert matches(KEY, cid, stored, "secret", s1.lower())
    assert not matches(KEY, cid, stored, "phone", s1)


def test_last4_and_tracking_number_shapes() -> None:
    assert normalise_last4("0123") == "0123"
    assert normalise_last4("๑๒๓๔") is None and normalise_last4("12345") is None
    assert last4_of("+66812345678") == "5678"
    assert last4_of("08x-xxx-5678") == "5678"  # the masked phone kept since filing
    assert last4_of("xxxx") is None
    assert well_formed_tracking_no("1001-2569-0000001")
    for hostile in ("", "1001-2569-1", "๑๐๐๑-2569-0000001", "1001-2569-0000001x", "9" * 5000):
        assert not well_formed_tracking_no(hostile)


async def test_limiter_refuses_past_the_limit_with_retry_after() -> None:
    limiter = TrackingLimiter(parse("3 per minute"), parse("2 per hour"), MemoryStorage())
    assert [await limiter.admit("client", "10.0.0.1") for _ in range(3)] == [None] * 3
    refused = await limiter.admit("client", "10.0.0.1")
    assert refused is not None and refused.scope == "client"
    assert 1 <= refused.retry_after <= 60
    # Another client, and the number scope, have windows of their own.
    assert await limiter.admit("client", "10.0.0.2") is None
    assert await limiter.admit("number", "1001-2569-0000001") is None
    assert await limiter.admit("number", "1001-2569-0000001") is None
    by_number = await limiter.admit("number", "1001-2569-0000001")
    assert by_number is not None and by_number.scope == "number"
    assert 3500 <= by_number.retry_after <= 3600
    assert await limiter.admit("number", "1001-2569-0000002") is None


def test_limiter_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        TrackingSettings(client_limit="lots")
    with pytest.raises(ValueError):
        TrackingLimiter.from_settings(TrackingSettings(rate_limit_storage="memory://"))
    assert TrackingLimiter.from_settings(TrackingSettings()) is not None
