"""Envelope encryption of complainants' identities: round trip, bound to its complaint and
complainant, unreadable without the data key, rotation, configuration."""

from __future__ import annotations

import base64
import uuid

import pytest
from pydantic import SecretStr

from services.intake.pii.domain.envelope import (
    SealedIdentity,
    Unreadable,
    open_identity,
    rewrap,
    seal_identity,
    unwrap_key,
)
from services.intake.pii.domain.keys import PiiKeys, PiiNotConfigured
from shared.config import Settings

KEYS = PiiKeys.of(b"m" * 32, b"h" * 32)
PERSON = {"name": "สมชาย ใจดี", "national_id": "1101700230708", "phone": "+66812345678"}


def _open(keys: PiiKeys, cid: uuid.UUID, s: SealedIdentity) -> dict[str, str]:
    key = unwrap_key(keys, s.complainant_ref, s.key_id, s.wrapped_key)
    return open_identity(key, cid, s.complainant_ref, s.sealed)


def test_round_trip_and_nothing_in_clear() -> None:
    cid = uuid.uuid4()
    sealed = seal_identity(KEYS, cid, PERSON)
    assert _open(KEYS, cid, sealed) == PERSON
    for value in PERSON.values():
        assert value.encode() not in sealed.sealed + sealed.wrapped_key
    again = seal_identity(KEYS, cid, PERSON)  # fresh ref, data key and nonces every time
    assert again.complainant_ref != sealed.complainant_ref and again.sealed != sealed.sealed


def test_wrong_master_key_complaint_or_ref_does_not_open() -> None:
    cid = uuid.uuid4()
    s = seal_identity(KEYS, cid, PERSON)
    other = PiiKeys.of(b"x" * 32, b"h" * 32)
    with pytest.raises(Unreadable):  # not configured under that id
        unwrap_key(other, s.complainant_ref, s.key_id, s.wrapped_key)
    with pytest.raises(Unreadable):  # same id claimed, other key
        unwrap_key(
            PiiKeys(b"x" * 32, b"h" * 32, KEYS.current_id),
            s.complainant_ref,
            s.key_id,
            s.wrapped_key,
        )
    with pytest.raises(Unreadable):  # a wrapped key moved to another complainant
        unwrap_key(KEYS, uuid.uuid4(), s.key_id, s.wrapped_key)
    key = unwrap_key(KEYS, s.complainant_ref, s.key_id, s.wrapped_key)
    with pytest.raises(Unreadable):  # ciphertext copied onto another complaint
        open_identity(key, uuid.uuid4(), s.complainant_ref, s.sealed)
    with pytest.raises(Unreadable):  # another complainant's data key
        o = seal_identity(KEYS, cid, PERSON)
        other_key = unwrap_key(KEYS, o.complainant_ref, o.key_id, o.wrapped_key)
        open_identity(other_key, cid, s.complainant_ref, s.sealed)
    tampered = s.sealed[:-1] + bytes([s.sealed[-1] ^ 1])
    with pytest.raises(Unreadable):
        open_identity(key, cid, s.complainant_ref, tampered)


def test_without_the_wrapped_key_the_master_key_opens_nothing() -> None:
    """Erasure destroys the wrapped key: the master key alone, tried on the ciphertext as
    data key or through any stored key material, does not open it."""
    cid = uuid.uuid4()
    s = seal_identity(KEYS, cid, PERSON)
    for guess in (KEYS.master, KEYS.hash_key, bytes(32)):
        with pytest.raises(Unreadable):
            open_identity(guess, cid, s.complainant_ref, s.sealed)


def test_rotation_rewraps_under_the_new_master_key() -> None:
    cid = uuid.uuid4()
    s = seal_identity(KEYS, cid, PERSON)
    rotated = PiiKeys.of(b"n" * 32, b"h" * 32, retired=(b"m" * 32,))
    assert _open(rotated, cid, s) == PERSON  # old keys still open before the rewrap
    kid, wrapped = rewrap(rotated, s.complainant_ref, s.key_id, s.wrapped_key)
    assert kid == rotated.current_id != s.key_id
    only_new = PiiKeys.of(b"n" * 32, b"h" * 32)
    key = unwrap_key(only_new, s.complainant_ref, kid, wrapped)
    assert open_identity(key, cid, s.complainant_ref, s.sealed) == PERSON


def test_keys_come_from_settings_or_the_service_refuses() -> None:
    def b64(raw: bytes) -> SecretStr:
        return SecretStr(base64.b64encode(raw).decode())

    with pytest.raises(PiiNotConfigured, match="PII_MASTER_KEY"):
        PiiKeys.from_settings(Settings(pii_hash_key=b64(b"h" * 32)))
    with pytest.raises(PiiNotConfigured, match="32 bytes"):
        PiiKeys.from_settings(Settings(pii_master_key=b64(b"m" * 16), pii_hash_key=b64(b"h" * 32)))
    with pytest.raises(PiiNotConfigured, match="base64"):
        PiiKeys.from_settings(
            Settings(pii_master_key=SecretStr("not base64!"), pii_hash_key=b64(b"h" * 32))
        )
    keys = PiiKeys.from_settings(
        Settings(
            pii_master_key=b64(b"m" * 32),
            pii_hash_key=b64(b"h" * 32),
            pii_retired_master_keys=[b64(b"o" * 32)],
        )
    )
    assert keys == PiiKeys.of(b"m" * 32, b"h" * 32, retired=(b"o" * 32,))
