"""Which subtrees a proof needs (RFC 9162 sections 2.1.3.1 and 2.1.4.1), and the tree
hash of a list of leaf hashes.

The tree of n leaves D[0:n] is the one of RFC 9162 2.1.1: MTH(D[0:n]) splits at k, the
largest power of two smaller than n, into MTH(D[0:k]) and MTH(D[k:n]). Each hash in a
proof is the MTH of a leaf range [a, b) of that tree, and `inclusion_ranges` /
`consistency_ranges` name those ranges without touching any hash: the caller fetches
their hashes from wherever they are stored. Such a range is a complete subtree or a
right edge of one; `range_nodes` breaks it into complete aligned subtrees (a storage
layer keeps exactly those) and `fold_nodes` combines their hashes back into its MTH.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.core.merkle.hashing import EMPTY_ROOT, HASH_SIZE, hash_children, hash_pairs

Node = tuple[int, int]
"""(level, index): the complete subtree of 2**level leaves [index * 2**level, (index + 1)
* 2**level). Level 0 nodes are the leaves."""


def split_point(n: int) -> int:
    """k of RFC 9162 2.1.1: the largest power of two strictly less than `n` (n >= 2)."""
    if n < 2:
        raise ValueError(f"split_point needs n >= 2, got {n}")
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """The complete aligned subtrees that make up leaves [start, end), left to right and
    so largest first, such that MTH(D[start:end]) == fold_nodes(their hashes).

    Accepts exactly the ranges that are nodes of an RFC 9162 tree (of `end` leaves):
    those whose start is a multiple of the smallest power of two >= end - start. That
    covers [0, n) and every range of an inclusion or consistency proof. Any other range
    raises ValueError, as does an empty or negative one.
    """
    if start < 0 or start >= end:
        raise ValueError(f"not a non-empty range of leaves: [{start}, {end})")
    size = end - start
    span = 1 << (size - 1).bit_length()
    if start & (span - 1):
        raise ValueError(
            f"leaves [{start}, {end}) are not a node of any tree: "
            f"start {start} is not a multiple of {span}"
        )
    top = size.bit_length() - 1
    nodes: list[Node] = []
    position = start
    for level in range(top, -1, -1):
        if size >> level & 1:
            nodes.append((level, position >> level))
            position += 1 << level
    return nodes


def fold_nodes(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from the hashes of its `range_nodes`, in the same order: a right
    fold, h = last; for each earlier hash x, right to left: h = hash_children(x, h)."""
    if not hashes:
        raise ValueError("fold_nodes needs at least one hash")
    folded = hashes[-1]
    for node in reversed(hashes[:-1]):
        folded = hash_children(node, folded)
    return folded


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges [a, b) whose MTH values make up the inclusion proof of leaf
    `index` in the tree of `size` leaves (RFC 9162 2.1.3.1 PATH), from the leaf up."""
    if index < 0:
        raise ValueError(f"index is negative: {index}")
    if index >= size:
        raise ValueError(f"index is beyond size: {index} >= {size}")
    ranges: list[tuple[int, int]] = []
    low, high = 0, size
    while high - low > 1:
        middle = low + split_point(high - low)
        if index < middle:
            ranges.append((middle, high))
            high = middle
        else:
            ranges.append((low, middle))
            low = middle
    ranges.reverse()
    return ranges


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The leaf ranges [a, b) whose MTH values make up the consistency proof from the
    tree of `size1` leaves to the tree of `size2` (RFC 9162 2.1.4.1 PROOF), in proof
    order. Needs 0 < size1 <= size2; equal sizes need no proof ([])."""
    if size1 <= 0:
        raise ValueError(f"size1 must be positive: {size1}")
    if size1 > size2:
        raise ValueError(f"size1 is beyond size2: {size1} > {size2}")
    ranges: list[tuple[int, int]] = []
    # SUBPROOF(m, D[low:high], b), with m = size1 - low: descend until [low, high) is
    # the old tree's last complete subtree, that is until high == size1.
    low, high, whole_old_tree = 0, size2, True
    while high != size1:
        middle = low + split_point(high - low)
        if size1 <= middle:
            ranges.append((middle, high))
            high = middle
        else:
            ranges.append((low, middle))
            low = middle
            whole_old_tree = False
    if not whole_old_tree:
        # The verifier knows MTH(D[0:size1]) only when [low, high) is all of it.
        ranges.append((low, high))
    ranges.reverse()
    return ranges


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the leaves with these hashes (EMPTY_ROOT for none).

    Built bottom up, one level at a time: pairing neighbours and carrying an odd last
    node up unchanged gives the same tree as the RFC's split at the largest power of two.
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    lengths = set(map(len, leaf_hashes))
    if lengths != {HASH_SIZE}:
        bad = sorted(lengths - {HASH_SIZE})
        raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes, got lengths {bad}")
    level = leaf_hashes
    while len(level) > 1:
        parents = hash_pairs(level)
        if len(level) & 1:
            parents.append(level[-1])
        level = parents
    return level[0]


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The inclusion proof of leaf `index` in the tree of these leaf hashes.

    Hashes every range from scratch: meant for tests and small trees.
    """
    return [root_hash(leaf_hashes[a:b]) for a, b in inclusion_ranges(index, len(leaf_hashes))]


def consistency_proof(size1: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The consistency proof from the tree of the first `size1` leaves to the tree of
    all of them. Hashes every range from scratch: meant for tests and small trees."""
    return [root_hash(leaf_hashes[a:b]) for a, b in consistency_ranges(size1, len(leaf_hashes))]
