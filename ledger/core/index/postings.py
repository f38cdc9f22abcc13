"""A key's postings: the ordered leaf indices of its entries, committed as an RFC 9162
tree whose leaves are the 8-byte big-endian leaf indices (leaf hash SHA-256(0x00 ||
u64be(i)), `ledger.core.merkle` unchanged).

`Frontier` keeps what appending needs (the hashes of the complete subtrees of the right
edge, at most 64), so the service updates a key's root in O(log n) per new entry.
`window_proof` proves which postings fall in a range [start, end) of leaf indices: the
postings inside it, their neighbours just outside it, and a multi-entry proof that
they sit at consecutive positions of the committed list.
"""

from __future__ import annotations

import hashlib
import struct
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ledger.core.index.errors import IndexProofError
from ledger.core.merkle import ProofError, hash_children, hash_leaf, root_hash
from ledger.core.merkle.hashing import hash_pairs
from ledger.core.merkle.multiproof import multi_inclusion_ranges, root_from_multi_proof

_LEAF_DATA = struct.Struct(">xQ").pack
"""0x00 || u64be(i): a posting's leaf hash input (the pad byte is the leaf prefix)."""
_LEAF_DIGEST = hashlib.sha256
_DIGEST = type(hashlib.sha256()).digest

_NODE_STATE = hashlib.sha256(b"\x01")
_FEW = 64
"""Appends shorter than this go a leaf at a time, longer ones a level at a time."""

BLOCK = 256
"""Postings per block (2**_BLOCK_LEVEL): the seal keeps the root of each aligned block of
a key's postings tree once it is complete (ledger.core.index.blocks)."""
_BLOCK_LEVEL = 8

MAX_LEAF_INDEX = 2**64 - 2
"""Largest leaf index of a log whose size fits the contract's uint64."""


def postings_leaf(leaf_index: int) -> bytes:
    """The leaf hash of one posting: SHA-256(0x00 || u64be(leaf_index))."""
    return hash_leaf(leaf_index.to_bytes(8, "big"))


def postings_root(leaf_indices: Sequence[int]) -> bytes:
    """The RFC 9162 root of the postings `leaf_indices` (SHA-256 of nothing for none;
    a key in the map always has at least one)."""
    return root_hash([postings_leaf(i) for i in leaf_indices])


class Frontier(NamedTuple):
    """The right edge of a postings tree: `size` leaves, and the root hashes of its
    complete subtrees, largest (leftmost) first: one per set bit of `size`. (A named
    tuple: the service makes one per touched key per seal.)"""

    size: int = 0
    hashes: tuple[bytes, ...] = ()

    def root(self) -> bytes:
        """The RFC 9162 root of the postings so far (a right fold of the subtrees)."""
        if not self.hashes:
            return root_hash([])
        folded = self.hashes[-1]
        for node in reversed(self.hashes[:-1]):
            folded = hash_children(node, folded)
        return folded

    def extend(self, leaf_indices: Iterable[int]) -> Frontier:
        """The frontier after appending `leaf_indices`: about two hashes each, a level
        at a time (the new nodes of a level are paired in one pass, as `root_hash` does)."""
        return self.extend_leaves([hash_leaf(i.to_bytes(8, "big")) for i in leaf_indices])

    def extend_leaves(
        self, leaf_hashes: Sequence[bytes], blocks: list[bytes] | None = None
    ) -> Frontier:
        """`extend` with the postings' leaf hashes given (`postings_leaf` of each new
        leaf index, e.g. from `postings_leaves`, which an index computes once for
        every key of an entry). With `blocks`, the roots of the aligned blocks of
        BLOCK postings this append completes are appended to it, in order (the nodes
        of level 8 it makes: blocks size // BLOCK to (size + len) // BLOCK - 1)."""
        if not leaf_hashes:
            return self
        if len(leaf_hashes) < _FEW:  # one at a time: fewer steps for a short append
            if blocks is not None and (self.size + len(leaf_hashes)) // BLOCK > self.size // BLOCK:
                blocks.append(self._block_root(leaf_hashes))
            size = self.size
            stack = list(self.hashes)
            pop, push, copy = stack.pop, stack.append, _NODE_STATE.copy
            for node in leaf_hashes:
                bits = size
                while bits & 1:  # merge the complete subtrees the new leaf completes
                    state = copy()
                    state.update(pop())
                    state.update(node)
                    node = state.digest()
                    bits >>= 1
                push(node)
                size += 1
            return Frontier(size, tuple(stack))
        size = self.size + len(leaf_hashes)
        old = list(self.hashes)  # one per set bit of self.size, highest level first
        kept: list[bytes] = []  # the new frontier's nodes, lowest level first
        start = self.size  # where this level's first new node sits, in nodes of the level
        nodes = list(leaf_hashes)
        level = 0
        while nodes:
            if level == _BLOCK_LEVEL and blocks is not None:
                blocks.extend(nodes)  # the new complete nodes of level 8: whole blocks
            level += 1
            if start & 1:  # the old frontier's node of this level is the left neighbour
                nodes.insert(0, old.pop())
                start -= 1
            if len(nodes) & 1:
                kept.append(nodes.pop())
            nodes = hash_pairs(nodes)
            start >>= 1
        kept.reverse()
        return Frontier(size, (*old, *kept))

    def _block_root(self, leaf_hashes: Sequence[bytes]) -> bytes:
        """The root of the block that the first of `leaf_hashes` complete (fewer than
        BLOCK of them), from the frontier's nodes below level 8 (the block's start)."""
        partial = self.size % BLOCK
        tail = self.hashes[len(self.hashes) - partial.bit_count() :]
        return Frontier(partial, tail).extend_leaves(leaf_hashes[: BLOCK - partial]).hashes[0]


def postings_leaves(first: int, count: int) -> list[bytes]:
    """`postings_leaf` of leaf indices first, first + 1, ..., first + count - 1, in one
    pass (what a seal computes once for all the keys of its entries)."""
    if first < 0 or count < 0 or first + count - 1 > MAX_LEAF_INDEX:
        raise ValueError(f"leaf indices run from 0 to {MAX_LEAF_INDEX}, got {first} + {count}")
    return list(map(_DIGEST, map(_LEAF_DIGEST, map(_LEAF_DATA, range(first, first + count)))))


@dataclass(frozen=True)
class WindowProof:
    """Which postings of a key lie in [start, end): `first_position` is the position in
    the list of the first one (or of where it would be), `before` / `after` the postings
    just outside the window (None at either end of the list), `nodes` the multi-entry
    proof of positions first_position - 1 (if before) to first_position + m (if after)."""

    first_position: int
    before: int | None
    after: int | None
    nodes: tuple[bytes, ...]


def window_proof(
    leaf_indices: Sequence[int], start: int, end: int
) -> tuple[list[int], WindowProof]:
    """The postings of `leaf_indices` (a key's whole list, strictly increasing, not
    empty) in [start, end), and their WindowProof. Hashes the list from scratch: O(n)."""
    if not leaf_indices:
        raise ValueError("a window proof needs a non-empty postings list")
    count = len(leaf_indices)
    low = bisect_left(leaf_indices, start)
    high = bisect_left(leaf_indices, end)
    positions = list(range(max(low - 1, 0), min(high + 1, count)))
    leaves = [postings_leaf(i) for i in leaf_indices]
    nodes = tuple(root_hash(leaves[a:b]) for a, b in multi_inclusion_ranges(positions, count))
    proof = WindowProof(
        first_position=low,
        before=leaf_indices[low - 1] if low > 0 else None,
        after=leaf_indices[high] if high < count else None,
        nodes=nodes,
    )
    return list(leaf_indices[low:high]), proof


def root_from_window(
    count: int, start: int, end: int, leaf_indices: Sequence[int], proof: WindowProof
) -> bytes:
    """The postings root of a list of `count` postings in which `proof` shows
    `leaf_indices` (strictly increasing, all in [start, end), checked by the caller) to be
    exactly the postings in [start, end): consecutive positions, with the neighbours
    outside the window (or the list's ends) on both sides.

    Raises IndexProofError ``omitted`` when the neighbours or positions cannot describe
    a complete window. Sound when the committed list is increasing, which whoever audits
    the index checks (docs/completeness.md)."""
    taken = len(leaf_indices)
    first = proof.first_position
    if count < 1:
        raise IndexProofError("omitted", f"a postings list of {count} entries has no window")
    if first + taken > count:
        raise IndexProofError(
            "omitted",
            f"{taken} postings from position {first} do not fit in a list of {count}",
        )
    if (proof.before is None) != (first == 0):
        raise IndexProofError(
            "omitted",
            "the posting before the window must be given exactly when the window does not"
            f" start the list (first position {first})",
        )
    if (proof.after is None) != (first + taken == count):
        raise IndexProofError(
            "omitted",
            "the posting after the window must be given exactly when the window does not"
            f" end the list ({first + taken} of {count} postings reached)",
        )
    if proof.before is not None and proof.before >= start:
        raise IndexProofError(
            "omitted",
            f"the posting before the window, leaf {proof.before}, is not below {start}:"
            " it belongs in the window",
        )
    if proof.after is not None and proof.after < end:
        raise IndexProofError(
            "omitted",
            f"the posting after the window, leaf {proof.after}, is below {end}:"
            " it belongs in the window",
        )
    values = list(leaf_indices)
    positions = list(range(first, first + taken))
    if proof.before is not None:
        values.insert(0, proof.before)
        positions.insert(0, first - 1)
    if proof.after is not None:
        values.append(proof.after)
        positions.append(first + taken)
    try:
        return root_from_multi_proof(
            positions, count, [postings_leaf(v) for v in values], proof.nodes
        )
    except ProofError as error:
        raise IndexProofError("omitted", f"bad postings proof: {error}") from None
