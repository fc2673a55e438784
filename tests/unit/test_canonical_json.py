"""The fast canonical JSON writes exactly the bytes of its json.dumps definition."""

from __future__ import annotations

import random

import pytest

from shared import canonical_json

ALPHABET = (
    [chr(i) for i in range(0x300)]
    + [chr(i) for i in range(0xE00, 0xE80)]
    + ["\u2028", "\u2029", "\U0001f600", "\ufeff", '"', "\\", "/"]
)


def test_equal_to_the_definition_over_random_documents() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 24)))
        doc = {
            "z": text,
            "a": {"y": text[::-1], "b": None, "c": True},
            "n": [text, rng.randint(-(10**12), 10**12)],
        }
        assert canonical_json.dumps(doc) == canonical_json.slow(doc)


def test_what_orjson_refuses_takes_the_defining_path() -> None:
    for doc in ({"s": "\ud800"}, {"big": 2**70}):
        assert canonical_json.dumps(doc) == canonical_json.slow(doc)


def test_nan_is_not_canonical() -> None:
    with pytest.raises(ValueError):
        canonical_json.slow({"x": float("nan")})
