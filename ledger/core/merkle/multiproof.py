"""Multi-entry inclusion proofs: one proof for many leaves of one RFC 9162 tree, in
which every node two leaves' proofs share appears once.

Pure, no I/O, like `ledger.core.merkle` (whose hashing and tree shape it uses unchanged).

For leaf indices i_1 < i_2 < ... < i_k of the tree of `size` leaves, walk the tree of
RFC 9162 2.1.1 from the root (MTH(D[lo:hi]) splits at lo + k, k the largest power of
two below hi - lo). A subtree holding none of the leaves is needed whole: its hash is
a proof node and the walk does not descend. A subtree holding some leaves is split
again, down to the leaves themselves. The proof is the hashes of the needed subtrees,
in the order the walk meets them: left to right, which is also depth-first order.

So no node of the proof can be derived from the leaves and the other nodes (each
covers leaves the others do not), and every node of the single-entry proofs that two
leaves share is there once. For one leaf the nodes are those of the RFC 9162
inclusion proof, in the opposite order (root side first).

A verifier rebuilds the root with the same walk (`root_from_multi_proof`), taking a
leaf hash where it reaches a leaf and the next proof node where it reaches a subtree
without leaves. It needs the exact number of nodes the walk consumes (no more, no
fewer): a proof that runs out or has nodes left over is refused.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from ledger.core.merkle import (
    HASH_SIZE,
    ProofError,
    ProofLengthError,
    RootMismatchError,
    hash_children,
)
from ledger.core.merkle.proof import split_point


def _check_indices(indices: Sequence[int], size: int) -> None:
    if size < 1:
        raise ProofError(f"tree size must be positive, got {size}")
    if not indices:
        raise ProofError("a multi-entry proof needs at least one leaf index")
    if indices[0] < 0:
        raise ProofError(f"leaf index is negative: {indices[0]}")
    previous = -1
    for position, index in enumerate(indices):
        if index <= previous:
            raise ProofError(
                f"leaf indices must increase strictly: index[{position}] = {index} after {previous}"
            )
        previous = index
    if previous >= size:
        raise ProofError(f"index is beyond size: {previous} >= {size}")


def multi_inclusion_ranges(indices: Sequence[int], size: int) -> list[tuple[int, int]]:
    """The leaf ranges [a, b) whose MTH values make up the multi-entry proof of the
    leaves at `indices` (strictly increasing, each < size) in the tree of `size` leaves,
    in proof order (left to right). Raises ProofError for bad indices."""
    _check_indices(indices, size)
    ranges: list[tuple[int, int]] = []
    # Explicit stack of (first position, end position in indices, lo, hi): the walk
    # goes left before right, so the right half is pushed first.
    stack = [(0, len(indices), 0, size)]
    pop, push, out = stack.pop, stack.append, ranges.append
    while stack:
        first, end, lo, hi = pop()
        if first == end:
            out((lo, hi))
            continue
        if hi - lo == 1:
            continue
        middle = lo + split_point(hi - lo)
        cut = bisect_left(indices, middle, first, end)
        push((cut, end, middle, hi))
        push((first, cut, lo, middle))
    return ranges


def multi_proof_length(indices: Sequence[int], size: int) -> int:
    """Nodes in the multi-entry proof of `indices` in the tree of `size` leaves."""
    return len(multi_inclusion_ranges(indices, size))


def root_from_multi_proof(
    indices: Sequence[int], size: int, leaf_hashes: Sequence[bytes], proof: Sequence[bytes]
) -> bytes:
    """The root of the tree of `size` leaves in which `proof` places `leaf_hashes[j]`
    at `indices[j]` for every j.

    Checks before hashing: indices strictly increasing and below `size`, one 32-byte
    hash per index, 32-byte proof nodes; while hashing: exactly as many nodes as the
    indices and size call for (ProofLengthError otherwise). Raises ProofError for any
    of these.
    """
    _check_indices(indices, size)
    if len(leaf_hashes) != len(indices):
        raise ProofError(f"{len(indices)} leaf indices but {len(leaf_hashes)} leaf hashes")
    for position, leaf in enumerate(leaf_hashes):
        if len(leaf) != HASH_SIZE:
            raise ProofError(f"leaf_hashes[{position}] must be {HASH_SIZE} bytes, got {len(leaf)}")
    for position, node in enumerate(proof):
        if len(node) != HASH_SIZE:
            raise ProofError(f"proof[{position}] must be {HASH_SIZE} bytes, got {len(node)}")
    return _fold(indices, size, leaf_hashes, proof)


def _fold(
    indices: Sequence[int], size: int, leaf_hashes: Sequence[bytes], proof: Sequence[bytes]
) -> bytes:
    """The walk of `multi_inclusion_ranges`, hashing bottom up as it returns (recursion
    depth at most 64: one level per tree level). A proof that runs out, or has nodes
    left over, is a ProofLengthError (the expected length is counted only then)."""
    nodes = iter(proof)
    take = nodes.__next__

    def walk(first: int, end: int, lo: int, hi: int) -> bytes:
        if first == end:
            return take()
        count = hi - lo
        if count == 1:
            return leaf_hashes[first]
        middle = lo + (1 << ((count - 1).bit_length() - 1))  # split_point(count)
        cut = bisect_left(indices, middle, first, end)
        return hash_children(walk(first, cut, lo, middle), walk(cut, end, middle, hi))

    try:
        root = walk(0, len(indices), 0, size)
    except StopIteration:
        raise ProofLengthError(multi_proof_length(indices, size), len(proof)) from None
    if next(nodes, None) is not None:
        raise ProofLengthError(multi_proof_length(indices, size), len(proof))
    return root


def verify_multi_inclusion(
    indices: Sequence[int],
    size: int,
    leaf_hashes: Sequence[bytes],
    proof: Sequence[bytes],
    root: bytes,
) -> None:
    """Check that `proof` places every `leaf_hashes[j]` at `indices[j]` in the tree of
    `size` leaves whose root is `root`. Returns None, or raises ProofError
    (RootMismatchError if the proof is well formed but leads to another root)."""
    if len(root) != HASH_SIZE:
        raise ProofError(f"root must be {HASH_SIZE} bytes, got {len(root)}")
    calculated = root_from_multi_proof(indices, size, leaf_hashes, proof)
    if calculated != root:
        raise RootMismatchError(root, calculated)
