"""Merkle trees over a published batch's event digests, as RFC 9162 (Certificate
Transparency 2.0) defines them: the pure core of batch signatures.

Leaves and inner nodes are hashed apart (SHA-256 of ``0x00 || leaf`` and ``0x01 || left ||
right``), so no inner node can pass for a leaf; the tree over ``n`` leaves splits at the
largest power of two below ``n``.  An inclusion proof is the list of sibling hashes from
the leaf up, and ``root_from_proof`` is RFC 9162 §2.1.3.2's verification, which also
refuses a proof that does not fit the claimed position and size.

Why not a library: the Merkle packages on PyPI keep whole trees in memory or a store and
prove one leaf at a time (a batch of ``n`` records would cost ``n`` tree walks), and none
is maintained for RFC 9162's exact shape, which a partner's consumer in another language
must be able to re-implement from the RFC alone.  What is here is the RFC's own
definitions, tested against them (``tests/unit/test_merkle.py``).

No I/O.
"""

from __future__ import annotations

import binascii
import hashlib
from binascii import unhexlify
from collections.abc import Sequence

HASH_BYTES = 32
HEX_BYTES = 2 * HASH_BYTES
_LEAF = b"\x00"
_NODE = b"\x01"
_sha256 = hashlib.sha256


class BadProof(ValueError):
    """An inclusion proof that cannot lead from its leaf to any root of its claimed size."""


def leaf_hash(entry: bytes) -> bytes:
    return _sha256(_LEAF + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2): where RFC 9162 splits."""
    return 1 << ((n - 1).bit_length() - 1)


def tree(entries: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root over ``entries`` and each entry's inclusion proof (bottom-up siblings).

    One pass over the tree for the whole batch: every proof is built as the recursion
    returns, instead of one walk per leaf."""
    if not entries:
        raise ValueError("a Merkle tree needs at least one entry")
    return _tree([leaf_hash(e) for e in entries])


def _tree(leaves: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    if len(leaves) == 1:
        return leaves[0], [[]]
    k = _split(len(leaves))
    left, left_proofs = _tree(leaves[:k])
    right, right_proofs = _tree(leaves[k:])
    for proof in left_proofs:
        proof.append(right)
    for proof in right_proofs:
        proof.append(left)
    return node_hash(left, right), left_proofs + right_proofs


def root_from_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` leads to from ``leaf`` at ``index`` of a tree of ``size``
    leaves (RFC 9162 §2.1.3.2); BadProof if the proof's length does not fit them."""
    if not 0 <= index < size:
        raise BadProof(f"leaf {index} outside a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise BadProof("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = _sha256(_NODE + sibling + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(_NODE + r + sibling).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise BadProof("the proof is shorter than the tree is deep")
    return r


class ProofMemo:
    """``root_from_proof`` for many proofs of the same trees, remembering partial walks.

    From a node on its way up, the rest of a walk depends only on that node, its position
    (the RFC's ``fn`` and ``sn``) and the rest of the proof; records of one batch share
    those above their first few levels.  So each node computed is remembered with where it
    stood, the proof left and the root it led to, and a later walk that reaches the same
    node with the same rest of the proof takes the root from there: a batch's records cost
    about two hashes each instead of one per level.  The answer is always exactly what
    ``root_from_proof`` gives (the same pure function, remembered), so no verdict depends
    on which proofs were seen before.  Bounded: past ``kept`` nodes it starts afresh.

    Proofs come as the hex text records carry (``HEX_BYTES`` per sibling, lowercase), and
    a sibling is decoded only when a walk needs it.
    """

    def __init__(self, kept: int = 1 << 16) -> None:
        self._kept = kept
        # node -> (fn, sn, the proof left, the root): a node's hash names it (SHA-256),
        # its position and the proof left are compared on a hit.
        self._walks: dict[bytes, tuple[int, int, bytes, bytes]] = {}

    def root(self, leaf: bytes, index: int, size: int, proof_hex: bytes) -> bytes:
        """The root ``proof_hex`` (the siblings' hex, concatenated, bottom-up) leads to."""
        if not 0 <= index < size:
            raise BadProof(f"leaf {index} outside a tree of {size}")
        if len(proof_hex) % HEX_BYTES:
            raise BadProof("the proof is not a list of lowercase hex hashes")
        walks = self._walks
        fn, sn, r = index, size - 1, leaf
        seen: list[tuple[bytes, int, int, int]] = []
        at = 0
        end = len(proof_hex)
        try:
            while at < end:
                if sn == 0:
                    raise BadProof("the proof is longer than the tree is deep")
                text = proof_hex[at : at + HEX_BYTES]
                # Lowercase, as written (one spelling per proof); the rest of a proof that
                # meets a remembered walk equals one checked so when it was remembered.
                if not text.islower() and text != text.lower():  # islower: False for digits
                    raise BadProof("the proof is not a list of lowercase hex hashes")
                sibling = unhexlify(text)
                at += HEX_BYTES
                if fn & 1 or fn == sn:
                    r = _sha256(_NODE + sibling + r).digest()
                    while fn and not fn & 1:  # only when fn == sn: the RFC's right edge
                        fn >>= 1
                        sn >>= 1
                else:
                    r = _sha256(_NODE + r + sibling).digest()
                fn >>= 1
                sn >>= 1
                # A leaf is new to every walk, its parent and those above are where the
                # walks of a batch meet.
                found = walks.get(r)
                if (
                    found is not None
                    and found[0] == fn
                    and found[1] == sn
                    and found[2] == proof_hex[at:]
                ):
                    root = found[3]
                    break
                seen.append((r, fn, sn, at))
            else:
                if sn != 0:
                    raise BadProof("the proof is shorter than the tree is deep")
                root = r
        except binascii.Error:
            raise BadProof("the proof is not a list of lowercase hex hashes") from None
        if seen:
            if len(walks) + len(seen) > self._kept:
                walks.clear()
            for node, node_fn, node_sn, start in seen:
                walks[node] = (node_fn, node_sn, proof_hex[start:], root)
        return root
