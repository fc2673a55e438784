"""Signed records: what the relay signs, what a reader accepts, and the start-up checks of
the key settings."""

from __future__ import annotations

import datetime as dt
import re
import uuid
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
    Forged,
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
from tests.signing import PRIVATE_KEYS, PUBLIC_KEYS, sign, signer

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
    assert signature_of(signed) == Signer(PRIVATE_KEYS[STATUS]).sign(compute_hash(link_of(env)))
    altered = value.replace(b'"n"', b'"x"')
    with pytest.raises(Forged, match="content does not match its hash"):
        VERIFIER.check(signer(STATUS).sign(headers, altered), altered)
