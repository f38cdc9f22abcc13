"""Proof verification, as RFC 9162 sections 2.1.3.2 (inclusion) and 2.1.4.2 (consistency).

Arguments are checked before any hashing, in this order: sizes and index, then hash
lengths, then the number of proof nodes; each failure is a `ProofError` carrying the
values. A well-formed proof that leads to another root is a `RootMismatchError`.

NOTE: a proof does not commit to the tree size by itself. A proof for leaf 0 of a tree
of 3 leaves also "verifies" as one for a tree of 4 against the same root, because the
hashing steps are the same; the size must come from a signed checkpoint next to the root.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.core.merkle.errors import ProofError, ProofLengthError, RootMismatchError
from ledger.core.merkle.hashing import HASH_SIZE, hash_children


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_proof_nodes(proof: Sequence[bytes]) -> None:
    for position, node in enumerate(proof):
        _check_hash(f"proof[{position}]", node)


def inclusion_length(index: int, size: int) -> int:
    """Nodes in the inclusion proof of `index` in a tree of `size` (index < size).

    Below the level where the paths to `index` and to the last leaf meet, every node
    on the path to `index` has a sibling; above it, the path runs along the right edge
    and has a (left) sibling exactly where the corresponding bit of `index` is set.
    """
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _consistency_length(size1: int, size2: int) -> int:
    """Nodes in the consistency proof from `size1` to `size2` (0 < size1 < size2).

    The proof is the inclusion proof of the old tree's last complete subtree (height
    t, the lowest set bit of size1) in the new tree, plus that subtree itself unless it
    is the whole old tree.
    """
    height = (size1 & -size1).bit_length() - 1
    path = inclusion_length((size1 >> height) - 1, ((size2 - 1) >> height) + 1)
    return path if size1 == 1 << height else path + 1


def _check_inclusion_args(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes | None
) -> None:
    if index < 0 or size < 0:
        raise ProofError(f"index and size must not be negative: index {index}, size {size}")
    if index >= size:
        raise ProofError(f"index is beyond size: {index} >= {size}")
    _check_hash("leaf_hash", leaf_hash)
    if root is not None:
        _check_hash("root", root)
    _check_proof_nodes(proof)
    expected = inclusion_length(index, size)
    if len(proof) != expected:
        raise ProofLengthError(expected, len(proof))


def _fold_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    # RFC 9162 2.1.3.2. The length was checked up front, so sn ends at 0; the inner
    # loop only keeps fn and sn in step with the RFC (once fn == sn, every node left is
    # a left sibling whatever it does).
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    return r


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root of the tree of `size` leaves in which `proof` places `leaf_hash` at
    `index`. Raises ProofError if the arguments cannot describe such a proof."""
    _check_inclusion_args(index, size, leaf_hash, proof, None)
    return _fold_inclusion(index, size, leaf_hash, proof)


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `proof` places `leaf_hash` at `index` in the tree of `size` leaves
    whose root is `root`. Returns None, or raises ProofError (RootMismatchError if the
    proof is well formed but leads to another root)."""
    _check_inclusion_args(index, size, leaf_hash, proof, root)
    calculated = _fold_inclusion(index, size, leaf_hash, proof)
    if calculated != root:
        raise RootMismatchError(root, calculated)


def _check_consistency_args(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes | None
) -> None:
    if size1 < 0 or size2 < 0:
        raise ProofError(f"sizes must not be negative: size1 {size1}, size2 {size2}")
    if size1 > size2:
        raise ProofError(f"size1 is beyond size2: {size1} > {size2}")
    if size1 == 0:
        raise ProofError(f"size1 is 0: the empty tree is a prefix of any tree of {size2}")
    if size1 == size2:
        if proof:
            raise ProofLengthError(0, len(proof))
        return
    _check_hash("root1", root1)
    if root2 is not None:
        _check_hash("root2", root2)
    _check_proof_nodes(proof)
    expected = _consistency_length(size1, size2)
    if len(proof) != expected:
        raise ProofLengthError(expected, len(proof))


def _fold_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes) -> bytes:
    # RFC 9162 2.1.4.2, for 0 < size1 < size2 and a proof of the right length. When
    # size1 is a power of two the old tree is a complete subtree of the new one and
    # the proof leaves out its hash: root1 takes its place.
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if fr != root1:
        raise RootMismatchError(root1, fr)
    return sr


def root_from_consistency_proof(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> bytes:
    """The root of the tree of `size2` leaves that `proof` shows to extend the tree of
    `size1` leaves with root `root1`.

    Raises ProofError if the arguments cannot describe such a proof, and
    RootMismatchError if the proof does not lead back to `root1`. Needs
    0 < size1 <= size2: the empty tree is a prefix of every tree, so a proof from it
    proves nothing and is refused. With equal sizes the proof must be empty and `root1`
    is returned as given, without hashing anything.
    """
    _check_consistency_args(size1, size2, proof, root1, None)
    if size1 == size2:
        return root1
    return _fold_consistency(size1, size2, proof, root1)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of `size2` leaves with root `root2` extends the tree of
    `size1` leaves with root `root1`. Returns None, or raises ProofError
    (RootMismatchError if the proof is well formed but leads to other roots).

    Needs 0 < size1 <= size2 (see root_from_consistency_proof). Equal sizes need an
    empty proof and equal roots, which are then compared as given, whatever their length.
    """
    _check_consistency_args(size1, size2, proof, root1, root2)
    if size1 == size2:
        if root1 != root2:
            raise RootMismatchError(root2, root1)
        return
    calculated = _fold_consistency(size1, size2, proof, root1)
    if calculated != root2:
        raise RootMismatchError(root2, calculated)
