"""Event signatures: only the key of the claimed source, over this very content."""

from __future__ import annotations

import base64
import hashlib

import pytest

from shared.signing import BadKey, BadSignature, Signer, Verifier, new_private_key, public_key_of

INTAKE, STATUS = new_private_key(), new_private_key()
VERIFIER = Verifier(
    {"/damrong/intake": public_key_of(INTAKE), "/damrong/status": public_key_of(STATUS)}
)
DIGEST = hashlib.sha256(b"an event").hexdigest()


def test_a_signature_of_the_claimed_source_verifies() -> None:
    VERIFIER.verify("/damrong/intake", DIGEST, Signer(INTAKE).sign(DIGEST))


def test_signatures_are_deterministic_so_re_feeds_publish_the_same_bytes() -> None:
    assert Signer(INTAKE).sign(DIGEST) == Signer(INTAKE).sign(DIGEST)


@pytest.mark.parametrize(
    ("source", "signature", "reason"),
    [
        ("/damrong/status", Signer(INTAKE).sign(DIGEST), "status"),  # another source key
        (
            "/damrong/intake",
            Signer(INTAKE).sign(hashlib.sha256(b"other").hexdigest()),
            "intake's key",
        ),  # over other content
        ("/damrong/intake", None, "unsigned"),
        ("/damrong/intake", b"", "unsigned"),
        ("/damrong/intake", b"%%% not base64", "not base64"),
        ("/damrong/intake", base64.b64encode(b"too short"), "intake's key"),
        ("/elsewhere", Signer(INTAKE).sign(DIGEST), "no public key"),
    ],
    # Named, not by value: the keys are made afresh in each process, and parallel workers
    # must collect the same test ids.
    ids=[
        "another-source",
        "other-content",
        "none",
        "empty",
        "not-base64",
        "too-short",
        "unknown-source",
    ],
)
def test_anything_else_is_refused_with_a_reason(
    source: str, signature: bytes | None, reason: str
) -> None:
    with pytest.raises(BadSignature, match=reason):
        VERIFIER.verify(source, DIGEST, signature)


def test_a_forger_with_a_fresh_key_cannot_pass() -> None:
    forged = Signer(new_private_key()).sign(DIGEST)
    with pytest.raises(BadSignature):
        VERIFIER.verify("/damrong/intake", DIGEST, forged)


@pytest.mark.parametrize("key", ["not base64!", "c2hvcnQ=", ""])
def test_bad_configured_keys_are_named(key: str) -> None:
    with pytest.raises(BadKey):
        Signer(key)
    with pytest.raises(BadKey, match="public key of /damrong/intake"):
        Verifier({"/damrong/intake": key})
