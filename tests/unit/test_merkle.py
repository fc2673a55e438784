"""shared.merkle against RFC 9162's own definitions: the tree hash of every size, every
leaf's inclusion proof, and proofs that do not fit refused; the remembered walks give
exactly the plain verification's answers."""

from __future__ import annotations

import contextlib
import hashlib
import random

import pytest

from shared import merkle


def _mth(entries: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, word for word."""
    if len(entries) == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(entries[:k]) + _mth(entries[k:])).digest()


def _entries(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


@pytest.mark.parametrize("n", [*range(1, 34), 100, 1000])
def test_every_leaf_of_every_size_proves_to_the_rfc_root(n: int) -> None:
    entries = _entries(n)
    root, proofs = merkle.tree(entries)
    assert root == _mth(entries)
    memo = merkle.ProofMemo()
    for i, proof in enumerate(proofs):
        leaf = merkle.leaf_hash(entries[i])
        assert merkle.root_from_proof(leaf, i, n, proof) == root
        assert memo.root(leaf, i, n, b"".join(proof).hex().encode()) == root


def test_a_proof_for_another_place_or_size_does_not_lead_to_the_root() -> None:
    entries = _entries(13)
    root, proofs = merkle.tree(entries)
    leaf = merkle.leaf_hash(entries[5])
    for index, size, proof in [
        (6, 13, proofs[5]),  # another position
        (5, 13, proofs[6]),  # another leaf's proof
    ]:
        with contextlib.suppress(merkle.BadProof):  # refused, or leads elsewhere
            assert merkle.root_from_proof(leaf, index, size, proof) != root
    with pytest.raises(merkle.BadProof, match="outside"):
        merkle.root_from_proof(leaf, 13, 13, proofs[5])
    with pytest.raises(merkle.BadProof, match="shorter"):
        merkle.root_from_proof(leaf, 5, 13, proofs[5][:-1])
    with pytest.raises(merkle.BadProof, match="longer"):
        merkle.root_from_proof(leaf, 5, 13, [*proofs[5], root])
    with pytest.raises(ValueError):
        merkle.tree([])
    # A path may have the same shape in trees of other sizes (leaf 5 of 12 and of 13 both
    # sit in the left 8): the root does not bind the size, which is why a batch signature
    # signs the size with the root (tests/unit/test_signed_records.py).
    assert merkle.root_from_proof(leaf, 5, 12, proofs[5]) == root


def test_remembered_walks_answer_exactly_as_the_plain_verification() -> None:
    # Proofs of several trees, genuine and altered, in a shuffled order and a small memory:
    # whatever was seen before, each answer is the plain function's (or the same refusal).
    rng = random.Random(9162)
    cases = []
    for n in (1, 2, 7, 64, 100):
        entries = _entries(n)
        _root, proofs = merkle.tree(entries)
        for i, proof in enumerate(proofs):
            leaf = merkle.leaf_hash(entries[i])
            cases.append((leaf, i, n, list(proof)))
            if proof:
                bent = list(proof)
                bent[rng.randrange(len(bent))] = hashlib.sha256(b"x").digest()
                cases.append((leaf, i, n, bent))
                cases.append((leaf, (i + 1) % n, n, list(proof)))
                cases.append((leaf, i, n, proof[:-1]))
    rng.shuffle(cases)
    memo = merkle.ProofMemo(kept=50)
    for _ in range(2):
        for leaf, i, n, proof in cases:
            try:
                expected: bytes | str = merkle.root_from_proof(leaf, i, n, proof)
            except merkle.BadProof as exc:
                expected = str(exc)
            try:
                got: bytes | str = memo.root(leaf, i, n, b"".join(proof).hex().encode())
            except merkle.BadProof as exc:
                got = str(exc)
            assert got == expected


def test_a_proof_not_in_lowercase_hex_is_refused() -> None:
    entries = _entries(4)
    _root, proofs = merkle.tree(entries)
    leaf = merkle.leaf_hash(entries[0])
    text = b"".join(proofs[0]).hex().encode()
    for bad in (text.upper(), text[:-1] + b"g", text[:-2]):
        with pytest.raises(merkle.BadProof):
            merkle.ProofMemo().root(leaf, 0, 4, bad)
