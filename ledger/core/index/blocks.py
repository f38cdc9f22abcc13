"""Window proofs from a key's postings and the cached roots of its complete blocks.

`postings.window_proof` hashes a key's whole list for every proof: O(n). The nodes of a
window proof are the roots of RFC 9162 subtrees of the postings tree outside the window;
a subtree of 2**k >= BLOCK postings starts at a multiple of 2**k, so it is made of whole
aligned blocks of BLOCK postings, whose roots never change once the block is complete
(postings are only appended). With those roots kept, a proof hashes the postings of the
blocks at the window's edges and at the list's incomplete end, and folds block roots for
the rest: O(window + BLOCK log n + n / BLOCK), the same proof as `window_proof`.

The seal stores the root of each block of a key's postings tree as the key's frontier
completes it, with the block's last leaf index (ledger.service.index, `index_blocks`):
`window_proof_stored` then reads only the postings of the blocks it needs (those of the
window and its neighbours, and the list's incomplete end), given the stored roots and
last leaf indices: O(window + BLOCK + n / BLOCK) after a restart too.

Pure: the caller (ledger.service.completeness) keeps the postings and block roots, and
reads the postings of a block when `window_proof_stored` asks for them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence

from ledger.core.index.postings import BLOCK, WindowProof, postings_leaf, postings_root
from ledger.core.merkle import hash_children
from ledger.core.merkle.hashing import hash_pairs
from ledger.core.merkle.multiproof import multi_inclusion_ranges

__all__ = ["BLOCK", "block_roots", "window_proof_blocks", "window_proof_stored"]


def block_roots(leaf_indices: Sequence[int], first_block: int = 0) -> list[bytes]:
    """The roots of the complete blocks of `leaf_indices` from block `first_block` on."""
    whole = len(leaf_indices) // BLOCK
    return [
        postings_root(leaf_indices[j * BLOCK : (j + 1) * BLOCK]) for j in range(first_block, whole)
    ]


def _subtree(
    leaves: Mapping[int, int] | Sequence[int], roots: Sequence[bytes], a: int, b: int
) -> bytes:
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
    return _window(leaf_indices, count, roots, low, high)


def _window(
    leaves: Mapping[int, int] | Sequence[int],
    count: int,
    roots: Sequence[bytes],
    low: int,
    high: int,
) -> tuple[list[int], WindowProof]:
    """The window proof of the postings at positions [low, high) of a list of `count`,
    given the postings at the positions it reads (those from low - 1 to high, and the
    rest of their blocks and of the incomplete last block) and the complete blocks' roots."""
    positions = list(range(max(low - 1, 0), min(high + 1, count)))
    nodes = tuple(
        _subtree(leaves, roots, a, b) for a, b in multi_inclusion_ranges(positions, count)
    )
    proof = WindowProof(
        first_position=low,
        before=leaves[low - 1] if low > 0 else None,
        after=leaves[high] if high < count else None,
        nodes=nodes,
    )
    return [leaves[p] for p in range(low, high)], proof


BlockReader = Callable[[int, int | None], Sequence[int]]
"""(after, through) -> the key's postings with after < leaf index <= through (through
None: to the end of the list at the size proven), increasing."""


def window_proof_stored(
    count: int,
    roots: Sequence[bytes],
    lasts: Sequence[int],
    read: BlockReader,
    start: int,
    end: int,
    check: Callable[[int], None] | None = None,
) -> tuple[list[int], WindowProof]:
    """`postings.window_proof` of a key's list of `count` postings in [start, end), given
    the roots of its complete blocks and the last leaf index of each (`roots[j]`,
    `lasts[j]` of block j; extra ones past `count // BLOCK` are not used): reads through
    `read` only the blocks holding the window, its neighbours and the incomplete end.

    ValueError when a block read does not agree with `lasts` (its size or its last leaf
    index): the stored blocks are not the key's. A wrong root is not found here: the
    caller checks the proof against the postings root the map holds. `check` is given
    the number of postings in the window before they are read (it may raise)."""
    whole = count // BLOCK
    if count < 1 or len(roots) < whole or len(lasts) < whole:
        raise ValueError(f"{count} postings need {whole} stored blocks, {len(roots)} given")
    roots, lasts = roots[:whole], lasts[:whole]
    known: dict[int, int] = {}
    loaded: dict[int, Sequence[int]] = {}

    def block(j: int) -> Sequence[int]:
        if j in loaded:
            return loaded[j]
        after = lasts[j - 1] if j > 0 else -1
        leaves = read(after, lasts[j] if j < whole else None)
        size = min(BLOCK, count - j * BLOCK)
        if len(leaves) != size or (j < whole and leaves[-1] != lasts[j]):
            raise ValueError(
                f"block {j} holds {len(leaves)} postings up to leaf"
                f" {leaves[-1] if leaves else None}, not the {size} stored: not this key's"
            )
        known.update(zip(range(j * BLOCK, j * BLOCK + size), leaves, strict=True))
        loaded[j] = leaves
        return leaves

    def position(leaf: int) -> int:  # how many postings lie below `leaf`
        j = bisect_left(lasts, leaf)
        if j == whole and count % BLOCK == 0:
            return count
        return j * BLOCK + bisect_left(block(j), leaf)

    low, high = position(start), position(end)
    if check is not None:
        check(high - low)
    for j in range(max(low - 1, 0) // BLOCK, min(high, count - 1) // BLOCK + 1):
        block(j)
    if count % BLOCK:
        block(whole)
    return _window(known, count, roots, low, high)
