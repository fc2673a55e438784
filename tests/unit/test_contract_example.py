"""docs/events/consumer_example.py checks records exactly as damrong's readers do: the
same digests, the same refusals, the same upcast; and hostile records are refused, never
crash it."""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shared.chain import compute_hash, seal
from shared.codes import ClosureReason
from shared.envelope_codec import link_from_record, to_record
from shared.events import STATUS_SOURCE, CaseClosed
from shared.signed_records import RecordVerifier, signature_of
from shared.signing import Signer
from shared.upcasting import upcast as our_upcast
from tests.signing import PRIVATE_KEYS, PUBLIC_KEYS, sign, sign_v1, signer
from tests.unit.test_contract import samples, signed

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "events" / "consumer_example.py"
Headers = list[tuple[str, bytes]]


@pytest.fixture(scope="module")
def ex() -> ModuleType:
    spec = importlib.util.spec_from_file_location("consumer_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["consumer_example"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def keys(ex: ModuleType) -> Any:
    return ex.load_keys(json.dumps(PUBLIC_KEYS))


def test_it_imports_nothing_of_damrong() -> None:
    text = EXAMPLE.read_text()
    assert not any(
        f"{w} {p}" in text
        for w in ("import", "from")
        for p in ("shared", "services", "damrong", "tests")
    )


def test_digest_is_our_chain_digest(ex: ModuleType) -> None:
    envs = samples()
    bangkok = dt.timezone(dt.timedelta(hours=7))
    envs.append(  # a local time, text that is not ASCII, no correlation id, unchained
        envs[5].model_copy(
            update={
                "occurred_at": envs[5].occurred_at.astimezone(bangkok),
                "data": CaseClosed(actor='เจ้าหน้าที่ \u0e01"\\', reason=ClosureReason.resolved),
                "correlation_id": None,
                "prev_hash": None,
                "hash": None,
            }
        )
    )
    for env in envs:
        _key, headers, value = to_record(env)
        attrs = ex.attributes(headers)
        assert ex.digest(attrs, json.loads(value)) == compute_hash(link_from_record(headers, value))


def test_genuine_records_are_applied_in_order_and_redeliveries_are_duplicates(
    ex: ModuleType, keys: Any
) -> None:
    chains = ex.Chains()
    records = [signed(env) for env in samples()]
    for _key, headers, value in records:
        assert chains.verdict(ex.verify(keys, headers, value)) == "applied"
    _key, headers, value = records[3]
    assert chains.verdict(ex.verify(keys, headers, value)) == "duplicate"


def test_batch_signatures_and_older_record_signatures_are_both_read(
    ex: ModuleType, keys: Any
) -> None:
    # A batch as a relay publishes it (v2), each record checked alone; then the same
    # records as relays signed them before batches (v1).
    records = [to_record(env) for env in samples()]
    by_source: dict[str, list[tuple[Headers, bytes]]] = {}
    for _key, headers, value in records:
        by_source.setdefault(ex.attributes(headers)["source"], []).append((headers, value))
    for source, batch in by_source.items():
        for headers, (_, value) in zip(signer(source).sign_batch(batch), batch, strict=True):
            assert (ex.attributes(headers)["signature"]).startswith("v2:")
            assert ex.verify(keys, headers, value).attrs["source"] == source
        for headers, value in batch:
            assert ex.verify(keys, sign_v1(headers, value), value).attrs["source"] == source
    # A batch record given another record's proof and place: both readers refuse it.
    batch = by_source["/damrong/status"]
    first, second = signer("/damrong/status").sign_batch(batch)[:2]
    moved = _with(first, "ce_signature", signature_of(second))
    assert "bad signature" in _refusal(ex, keys, moved, batch[0][1])


def _refusal(ex: ModuleType, keys: Any, headers: Headers, value: bytes) -> str:
    """The example's reason, after checking that our own reader refuses the record too."""
    with pytest.raises(ValueError):
        RecordVerifier(PUBLIC_KEYS).check(headers, value)
    with pytest.raises(ex.Refused) as refused:
        ex.verify(keys, headers, value)
    return str(refused.value)


def _with(headers: Headers, name: str, value: bytes | None) -> Headers:
    kept = [(k, v) for k, v in headers if k != name]
    return kept if value is None else [*kept, (name, value)]


def test_what_our_readers_refuse_the_example_refuses(ex: ModuleType, keys: Any) -> None:
    env = samples()[5]
    _key, headers, value = signed(env)
    altered = value.replace(b"resolved", b"mediated")
    assert "does not match its hash" in _refusal(ex, keys, headers, altered)
    unsigned = _with(headers, "ce_signature", None)
    assert "bad signature" in _refusal(ex, keys, unsigned, value)
    assert env.hash is not None
    other = _with(headers, "ce_signature", Signer(PRIVATE_KEYS["/test"]).sign(env.hash))
    assert "bad signature" in _refusal(ex, keys, other, value)
    # intake's genuine key over a closure that claims to be intake's: not intake's to say
    as_intake = _with(headers, "ce_source", b"/damrong/intake")
    as_intake = sign(_with(_with(as_intake, "ce_hash", None), "ce_prevhash", None), value)
    assert "may not publish" in _refusal(ex, keys, as_intake, value)
    unknown = _with(_with(headers, "ce_source", b"/elsewhere"), "ce_hash", None)
    assert "no public key" in _refusal(ex, keys, _with(unknown, "ce_prevhash", None), value)


@pytest.mark.parametrize(
    ("headers", "value"),
    [
        (None, None),
        ([("ce_specversion", b"1.0")], b"{}"),
        ([("ce_specversion", b"\xff")], b"{}"),
        ([("ce_specversion", b"0.3")], b"{}"),
    ],
)
def test_records_that_are_not_events_are_refused(
    ex: ModuleType, keys: Any, headers: Headers | None, value: bytes | None
) -> None:
    with pytest.raises(ex.Refused):
        ex.verify(keys, headers, value)


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"[1, 2]",
        b"{",
        '{"actor": "ที่ดิน"}'.encode("cp874"),  # Thai, not UTF-8
        b"[" * 200_000 + b"]" * 200_000,  # deeper than the parser goes
        b'{"note": "' + b"x" * 5_000_000 + b'"}',  # huge, and not what was signed
    ],
)
def test_hostile_values_are_refused(ex: ModuleType, keys: Any, value: bytes) -> None:
    _key, headers, _value = signed(samples()[5])
    with pytest.raises(ex.Refused):
        ex.verify(keys, headers, value)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("ce_time", b"yesterday"),
        ("ce_time", b"2026-03-01T10:00:00"),  # no offset
        ("ce_version", b"two"),
        ("ce_version", b"0"),
        ("content-type", b"application/xml"),
        ("ce_type", b"com.example.other.v1"),
        ("ce_signature", b"not base64!"),
    ],
)
def test_hostile_headers_are_refused(ex: ModuleType, keys: Any, name: str, text: bytes) -> None:
    _key, headers, value = signed(samples()[5])
    with pytest.raises(ex.Refused):
        ex.verify(keys, _with(headers, name, text), value)


def test_a_broken_link_or_a_gap_is_refused(ex: ModuleType, keys: Any) -> None:
    envs = samples()
    chains = ex.Chains()
    for env in envs[:3]:
        chains.verdict(ex.verify(keys, *signed(env)[1:]))
    forked = seal(envs[3], "1" * 64)
    with pytest.raises(ex.Refused, match="link"):
        chains.verdict(ex.verify(keys, *signed(forked)[1:]))
    with pytest.raises(ex.Refused, match="gap"):
        chains.verdict(ex.verify(keys, *signed(envs[5])[1:]))
    first = seal(envs[0], "2" * 64)
    with pytest.raises(ex.Refused, match="version 1"):
        ex.Chains().verdict(ex.verify(keys, *signed(first)[1:]))


@pytest.mark.parametrize("hour", [0, 16, 17, 23])  # either side of Bangkok's midnight (17 UTC)
def test_upcast_of_the_legacy_forwarding_is_ours(ex: ModuleType, hour: int) -> None:
    at = dt.datetime(2026, 3, 1, hour, 5, tzinfo=dt.UTC)
    data = {"actor": "o", "note": "n", "agency": "ที่ดิน", "due_date": "2026-03-31"}
    attrs = {"type": "th.go.dopa.damrong.case.forwarded.v1", "time": at.isoformat()}
    theirs = ex.upcast(ex.Event(attrs, data, "0" * 64))
    assert theirs == our_upcast("case.forwarded", 1, data, at)
    current = ex.Event({"type": "th.go.dopa.damrong.case.closed.v1"}, {"a": 1}, "0" * 64)
    assert ex.upcast(current) == {"a": 1}


def test_keys_are_read_as_configured(ex: ModuleType) -> None:
    raw = base64.b64decode(PUBLIC_KEYS[STATUS_SOURCE])
    loaded = ex.load_keys(json.dumps({STATUS_SOURCE: PUBLIC_KEYS[STATUS_SOURCE]}))
    public = loaded[STATUS_SOURCE].public_bytes_raw()
    assert public == raw  # the very key, byte for byte
