"""Window proofs from a key's postings and the cached roots of its complete blocks.

`postings.window_proof` hashes a key's whole list for every proof: O(n). The nodes of a
window proof are the roots of RFC 9162 subtrees of the postings tree outside the window;
a subtree of 2**k >= BLOCK postings starts at a multiple of 2**k, so it is made of whole
aligned blocks of BLOCK postings, whose roots never change once the block is complete
(postings are only appended). With those roots kept, a proof hashes the postings of the
blocks at the window's edges and at the list's incomplete end, and folds block roots for
the rest: O(window + BLOCK log n + n / BLOCK), the same proof as `window_proof`.

Pure: the caller (ledger.service.completeness) keeps the postings and block roots.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from ledger.core.index.postings import WindowProof, postings_leaf, postings_root
from ledger.core.merkle import hash_children
from ledger.core.merkle.hashing import hash_pairs
from ledger.core.merkle.multiproof import multi_inclusion_ranges

BLOCK = 256
"""Postings per cached block (a power of two)."""


def block_roots(leaf_indices: Sequence[int], first_block: int = 0) -> list[bytes]:
    """The roots of the complete blocks of `leaf_indices` from block `first_block` on."""
    whole = len(leaf_indices) // BLOCK
    return [
        postings_root(leaf_indices[j * BLOCK : (j + 1) * BLOCK]) for j in range(first_block, whole)
    ]


def _subtree(leaves: Sequence[int], roots: Sequence[bytes], a: int, b: int) -> bytes:
    """MTH of the postings at positions [a, b), using the block roots where they fit."""
    size = b - a
    if size == 1:
        return postings_leaf(leaves[a])
    if size & (size - 1) == 0 and size >= BLOCK and a % BLOCK == 0 and b // BLOCK <= len(roots):
        level = list(roots[a // BLOCK : b // BLOCK])
        while len(level) > 1:
            level = hash_pairs(level)
        return level[0]
    split = 1 << ((size - 1).bit_length() - 1)  # the largest power of two below size
    left = _subtree(leaves, roots, a, a + split)
    return hash_children(left, _subtree(leaves, roots, a + split, b))


def window_proof_blocks(
    leaf_indices: Sequence[int], count: int, roots: Sequence[bytes], start: int, end: int
) -> tuple[list[int], WindowProof]:
    """`postings.window_proof` of the first `count` postings of `leaf_indices` (strictly
    increasing), given `roots`, the roots of at least their complete blocks of BLOCK
    (extra roots past `count // BLOCK` are not used)."""
    if not 0 < count <= len(leaf_indices):
        raise ValueError(f"a window proof needs 1 to {len(leaf_indices)} postings, not {count}")
    if len(roots) < count // BLOCK:
        raise ValueError(f"{count} postings need {count // BLOCK} block roots, {len(roots)} given")
    roots = roots[: count // BLOCK]
    low = bisect_left(leaf_indices, start, 0, count)
    high = bisect_left(leaf_indices, end, 0, count)
    positions = list(range(max(low - 1, 0), min(high + 1, count)))
    nodes = tuple(
        _subtree(leaf_indices, roots, a, b) for a, b in multi_inclusion_ranges(positions, count)
    )
    proof = WindowProof(
        first_position=low,
        before=leaf_indices[low - 1] if low > 0 else None,
        after=leaf_indices[high] if high < count else None,
        nodes=nodes,
    )
    return list(leaf_indices[low:high]), proof
