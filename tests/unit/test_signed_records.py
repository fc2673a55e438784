"""Signed records: what the relay signs, what a reader accepts, and the start-up checks of
the key settings."""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from damrong.embedded.event_keys import PUBLISHERS
from shared.chain import GENESIS, compute_hash, link_of, seal
from shared.config import Settings
from shared.envelope_codec import DecodeError, to_record
from shared.events import CaseAccepted, Envelope
from shared.signed_records import (
    BatchSignature,
    Forged,
    Headers,
    NotOurs,
    RecordSigner,
    RecordVerifier,
    SigningNotConfigured,
    may_publish,
    signature_of,
    signer_from_settings,
    verifier_from_settings,
)
from shared.signing import SIGNATURE_HEADER, Signer, new_private_key
from tests.signing import PRIVATE_KEYS, PUBLIC_KEYS, sign, sign_v1, signer

NOW = dt.datetime(2026, 1, 5, 3, tzinfo=dt.UTC)
VERIFIER = RecordVerifier(PUBLIC_KEYS)
STATUS = PUBLISHERS["status"]


def _event(source: str = STATUS, note: str = "n") -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        version=2,
        source=source,
        occurred_at=NOW,
        recorded_at=NOW,
        data=CaseAccepted(actor="a", note=note),
    )


def _signed(env: Envelope) -> tuple[list[tuple[str, bytes]], bytes]:
    _key, headers, value = to_record(env)
    return sign(headers, value), value


@pytest.mark.parametrize("chained", [False, True])
def test_a_record_signed_by_its_source_is_read_as_written(chained: bool) -> None:
    env = seal(_event(), GENESIS) if chained else _event()
    headers, value = _signed(env)
    link = VERIFIER.check(headers, value)
    assert (link.complaint_id, link.version, link.source) == (env.complaint_id, 2, STATUS)


def test_signing_again_replaces_the_signature_and_gives_the_same_bytes() -> None:
    headers, value = _signed(_event())
    again = signer(STATUS).sign(headers, value)
    assert again == headers
    assert [k for k, _v in again].count(SIGNATURE_HEADER) == 1


def test_each_forgery_is_refused_with_its_reason() -> None:
    env = _event()
    _key, bare, value = to_record(env)
    headers, _ = _signed(env)
    chained_headers, chained_value = _signed(seal(_event(), GENESIS))
    other = orjson.dumps({**orjson.loads(value), "note": "other"})
    stranger = RecordSigner(STATUS, new_private_key()).sign(bare, value)
    # Intake's genuine key over this very content: not status's, so not status's event.
    by_intake = [
        *bare,
        (
            SIGNATURE_HEADER,
            Signer(PRIVATE_KEYS[PUBLISHERS["intake"]]).sign(compute_hash(link_of(env))),
        ),
    ]
    cases = [
        ((bare, value), "bad signature: unsigned"),
        ((stranger, value), f"bad signature: not signed by {STATUS}'s key over this content"),
        ((by_intake, value), f"bad signature: not signed by {STATUS}'s key"),
        ((headers, other), "bad signature: not signed by"),  # unchained: the signature says
        (
            (chained_headers, chained_value.replace(b'"n"', b'"x"')),
            "content does not match its hash",
        ),
    ]
    for (h, v), reason in cases:
        with pytest.raises(Forged, match=reason.replace("'", ".")):
            VERIFIER.check(h, v)


def test_an_unknown_source_or_type_or_a_naive_time_is_refused() -> None:
    _k, h, v = to_record(_event("/nobody"))
    with pytest.raises(Forged, match="no public key for source '/nobody'"):
        VERIFIER.check(RecordSigner("/nobody", new_private_key()).sign(h, v), v)
    headers, value = _signed(_event())
    unknown = [
        (k, b"th.go.dopa.damrong.case.teleported.v1" if k == "ce_type" else v) for k, v in headers
    ]
    with pytest.raises(DecodeError, match="teleported"):
        VERIFIER.check(unknown, value)
    naive = [(k, b"2026-01-05T03:00:00" if k == "ce_time" else v) for k, v in headers]
    with pytest.raises(DecodeError):
        VERIFIER.check(naive, value)


def test_a_relay_signs_only_its_own_source() -> None:
    _key, headers, value = to_record(_event(PUBLISHERS["intake"]))
    with pytest.raises(NotOurs, match="not of /damrong/status"):
        signer(STATUS).sign(headers, value)
    with pytest.raises(NotOurs, match="not an event"):
        signer(STATUS).sign([("ce_specversion", b"1.0")], b"{}")


def _settings(**kw: Any) -> Settings:
    return Settings(**kw)


def test_missing_or_mismatched_keys_refuse_with_a_clear_message() -> None:
    with pytest.raises(SigningNotConfigured, match="EVENT_PUBLIC_KEYS is not set"):
        verifier_from_settings(_settings(event_public_keys={}))
    with pytest.raises(SigningNotConfigured, match="EVENT_PUBLIC_KEYS: the public key of /x"):
        verifier_from_settings(_settings(event_public_keys={"/x": "nope"}))
    with pytest.raises(SigningNotConfigured, match="EVENT_SIGNING_KEY is not set"):
        signer_from_settings(_settings(event_public_keys=PUBLIC_KEYS), STATUS)
    swapped = _settings(
        event_public_keys=PUBLIC_KEYS,
        event_signing_key=SecretStr(PRIVATE_KEYS[PUBLISHERS["intake"]]),
    )
    with pytest.raises(SigningNotConfigured, match="not the private key of /damrong/status"):
        signer_from_settings(swapped, STATUS)
    with pytest.raises(SigningNotConfigured, match="no key for /damrong/status"):
        signer_from_settings(
            _settings(
                event_public_keys={"/a": PUBLIC_KEYS["/test"]},
                event_signing_key=SecretStr(PRIVATE_KEYS[STATUS]),
            ),
            STATUS,
        )
    good = _settings(
        event_public_keys=PUBLIC_KEYS, event_signing_key=SecretStr(PRIVATE_KEYS[STATUS])
    )
    assert signer_from_settings(good, STATUS).source == STATUS


def test_the_embedded_publishers_are_the_services_sources() -> None:
    from services.intake.domain.filing import SOURCE as intake_source
    from services.status.usecases import SOURCE as status_source

    assert {"intake": intake_source, "status": status_source} == PUBLISHERS


def test_a_service_key_signs_only_the_events_that_service_publishes() -> None:
    # Intake's genuine key cannot close a case, nor status's file a complaint.
    closing = _event(PUBLISHERS["intake"])
    _key, headers, value = to_record(closing)
    with pytest.raises(
        Forged, match=re.escape("/damrong/intake may not publish case.accepted events")
    ):
        VERIFIER.check(signer(PUBLISHERS["intake"]).sign(headers, value), value)
    assert may_publish("/damrong/status", "case.closed")
    assert not may_publish("/damrong/status", "complaint.filed")
    assert may_publish("/damrong/intake", "complaint.filed")
    assert may_publish("/test", "case.closed")  # test publishers: bound by their key only


def test_a_chained_record_is_signed_by_its_digest_and_still_refused_if_altered() -> None:
    env = seal(_event(), GENESIS)
    _key, headers, value = to_record(env)
    signed = signer(STATUS).sign(headers, value)
    # The same signature as signing the recomputed digest: the shortcut changes nothing.
    assert signature_of(signed) == signer(STATUS).sign_digests([compute_hash(link_of(env))])[0]
    altered = value.replace(b'"n"', b'"x"')
    with pytest.raises(Forged, match="content does not match its hash"):
        VERIFIER.check(signer(STATUS).sign(headers, altered), altered)


@pytest.mark.parametrize("spelling", [str.upper, lambda h: h + "\n", lambda h: h[:-1]])
def test_a_hash_header_not_spelled_as_a_digest_is_not_taken_for_one(
    spelling: Callable[[str], str],
) -> None:
    env = seal(_event(), GENESIS)
    _key, headers, value = to_record(env)
    odd = [(k, spelling(v.decode()).encode() if k == "ce_hash" else v) for k, v in headers]
    # Only a ce_hash spelled exactly as a digest is signed as it stands; any other is
    # recomputed from the record's content.
    assert signer(STATUS).digest(odd, value) == compute_hash(link_of(env))
    assert signer(STATUS).digest(headers, value) == env.hash


# -- v2: batch signatures ----------------------------------------------------------------


def _batch(n: int, note: str = "n") -> list[tuple[Headers, bytes]]:
    records = []
    for i in range(n):
        _key, headers, value = to_record(seal(_event(note=f"{note}{i}"), GENESIS))
        records.append((headers, value))
    signed = signer(STATUS).sign_batch(records)
    return [(h, v) for h, (_, v) in zip(signed, records, strict=True)]


def test_each_record_of_a_signed_batch_is_verified_alone() -> None:
    batch = _batch(7)
    assert len({BatchSignature.parse(signature_of(h) or b"").signature for h, _ in batch}) == 1
    for headers, value in reversed(batch):  # any one, in any order, by a fresh reader
        assert RecordVerifier(PUBLIC_KEYS).check(headers, value).source == STATUS


def test_a_reader_verifies_a_batch_signature_once_and_keeps_the_root() -> None:
    verifier = RecordVerifier(PUBLIC_KEYS)
    calls: list[str] = []
    real = verifier._verifier.verify_message

    def counted(source: str, message: bytes, raw: bytes) -> None:
        calls.append(source)
        real(source, message, raw)

    verifier._verifier.verify_message = counted  # type: ignore[method-assign]
    for headers, value in _batch(100) + _batch(50, "m"):
        verifier.check(headers, value)
    assert calls == [STATUS, STATUS]


def _with(headers: Headers, signature: bytes) -> Headers:
    return [(k, signature if k == SIGNATURE_HEADER else v) for k, v in headers]


def test_each_batch_forgery_is_refused_alone_with_its_reason_warm_or_cold() -> None:
    batch, other = _batch(8), _batch(8, "o")
    (h3, v3), (h4, _v4) = batch[3], batch[4]
    mine = BatchSignature.parse(signature_of(h3) or b"")
    theirs = BatchSignature.parse(signature_of(other[3][0]) or b"")
    stranger = RecordSigner(STATUS, new_private_key()).sign_batch([(h3, v3)])[0]
    cases = [
        # Another record's proof and place in the same batch.
        (_with(h3, signature_of(h4) or b""), "not signed by"),
        # Moved into another batch: that batch's signature and proof at the same place.
        (_with(h3, theirs.header()), "not signed by"),
        # Its own proof under another batch's signature.
        (_with(h3, BatchSignature(3, 8, theirs.signature, mine.proof).header()), "not signed by"),
        # Its own proof and signature, another place or size claimed.
        (_with(h3, BatchSignature(2, 8, mine.signature, mine.proof).header()), "not signed by"),
        # A size whose tree has the same path shape: the same root, but the size is signed.
        (_with(h3, BatchSignature(3, 7, mine.signature, mine.proof).header()), "not signed by"),
        (_with(h3, BatchSignature(3, 9, mine.signature, mine.proof).header()), "shorter"),
        (_with(h3, BatchSignature(3, 16, mine.signature, mine.proof).header()), "shorter"),
        (_with(h3, BatchSignature(9, 8, mine.signature, mine.proof).header()), "outside"),
        (_with(h3, BatchSignature(3, 8, mine.signature, mine.proof[:-32]).header()), "shorter"),
        # A proof that is not hex, a header spelled otherwise, a field missing.
        (_with(h3, signature_of(h3).replace(b":", b":0", 1)), "malformed"),  # type: ignore[union-attr]
        (_with(h3, (signature_of(h3) or b"")[:-1] + b"Z"), "lowercase hex"),
        (_with(h3, b"v2:3:8:" + base64.b64encode(mine.signature)), "malformed"),
        # A genuine batch signature by a key that is not status's.
        (stranger, "not signed by"),
    ]
    warm = RecordVerifier(PUBLIC_KEYS)
    for headers, value in batch + other:  # every genuine root already verified and kept
        warm.check(headers, value)
    for headers, reason in cases:
        for verifier in (warm, RecordVerifier(PUBLIC_KEYS)):
            with pytest.raises(Forged, match=f"bad signature: .*{reason}"):
                verifier.check(headers, v3)


def test_a_batch_signature_cannot_pass_for_a_record_signature_nor_the_reverse() -> None:
    (headers, value), _ = _batch(2)
    batch = BatchSignature.parse(signature_of(headers) or b"")
    # The root's signature presented as v1 (a signature over the digest): refused.
    as_v1 = _with(headers, base64.b64encode(batch.signature))
    with pytest.raises(Forged, match="not signed by"):
        VERIFIER.check(as_v1, value)
    # A v1 record signature presented as a batch of one: refused.
    v1 = signature_of(sign_v1(headers, value)) or b""
    as_v2 = _with(headers, BatchSignature(0, 1, base64.b64decode(v1), b"").header())
    with pytest.raises(Forged, match="not signed by"):
        VERIFIER.check(as_v2, value)


@pytest.mark.parametrize("chained", [False, True])
def test_records_signed_one_by_one_before_batches_are_still_read(chained: bool) -> None:
    env = seal(_event(), GENESIS) if chained else _event()
    _key, headers, value = to_record(env)
    v1 = sign_v1(headers, value)
    assert not (signature_of(v1) or b"").startswith(b"v2:")
    assert VERIFIER.check(v1, value).event_id == env.event_id
    altered = value.replace(b'"n"', b'"x"')
    with pytest.raises(Forged, match="content does not match" if chained else "not signed by"):
        VERIFIER.check(v1, altered)
