"""Window proofs from cached or stored block roots (ledger.core.index.blocks) are exactly
the window proofs of ledger.core.index.postings, for lists shorter and longer than a block,
windows anywhere (at the ends, empty, the whole list), and a prefix of a longer cached
list; and they verify against the list's postings root."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable

import pytest

from ledger.core.index import postings_root, root_from_window, window_proof
from ledger.core.index.blocks import (
    BLOCK,
    block_roots,
    window_proof_blocks,
    window_proof_stored,
)
from ledger.core.index.postings import Frontier, postings_leaf


def lists(rng: random.Random) -> list[list[int]]:
    sizes = [1, 2, 3, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK, 5 * BLOCK + 17, 9 * BLOCK]
    return [sorted(rng.sample(range(40 * BLOCK), n)) for n in sizes]


@pytest.mark.parametrize("seed", range(3))
def test_the_same_proofs_as_hashing_the_whole_list(seed: int) -> None:
    rng = random.Random(seed)
    for leaves in lists(rng):
        longer = leaves + [leaves[-1] + 1 + i for i in range(rng.randrange(3 * BLOCK))]
        roots = block_roots(longer)
        assert len(roots) == len(longer) // BLOCK
        top = leaves[-1] + 1
        windows = [(0, top), (0, 1), (top - 1, top), (leaves[0], leaves[0] + 1)]
        windows += [tuple(sorted(rng.sample(range(top + 1), 2))) for _ in range(12)]
        for start, end in windows:
            if start == end:
                continue
            expected = window_proof(leaves, start, end)
            assert window_proof_blocks(longer, len(leaves), roots, start, end) == expected
            inside, proof = expected
            assert root_from_window(len(leaves), start, end, inside, proof) == postings_root(leaves)


def test_roots_are_extended_block_by_block() -> None:
    leaves = list(range(0, 6 * BLOCK + 5, 2))
    roots = block_roots(leaves[: 2 * BLOCK + 3])
    roots += block_roots(leaves, len(roots))
    assert roots == block_roots(leaves)
    assert roots[1] == postings_root(leaves[BLOCK : 2 * BLOCK])


def test_too_few_roots_or_postings_are_refused() -> None:
    leaves = list(range(3 * BLOCK))
    with pytest.raises(ValueError, match="block roots"):
        window_proof_blocks(leaves, len(leaves), block_roots(leaves)[:2], 0, 5)
    with pytest.raises(ValueError, match="postings"):
        window_proof_blocks(leaves, len(leaves) + 1, block_roots(leaves), 0, 5)
    with pytest.raises(ValueError, match="postings"):
        window_proof_blocks(leaves, 0, [], 0, 5)


def reader(leaves: list[int]) -> Callable[[int, int | None], list[int]]:
    """The postings of `leaves` in (after, through], as a store reads a block."""

    def read(after: int, through: int | None) -> list[int]:
        low = bisect_right(leaves, after)
        return leaves[low : len(leaves) if through is None else bisect_right(leaves, through)]

    return read


@pytest.mark.parametrize("seed", range(3))
def test_the_seal_frontier_gives_the_blocks(seed: int) -> None:
    """`Frontier.extend_leaves(..., blocks)` collects the roots of the blocks an append
    completes, appends of any length (a leaf at a time below 64, a level at a time from
    64), the same as hashing each block."""
    rng = random.Random(seed)
    for leaves in lists(rng):
        frontier, made, at = Frontier(), [], 0
        while at < len(leaves):
            step = rng.choice([1, 2, 63, 64, 65, BLOCK - 1, BLOCK, 3 * BLOCK + 5])
            new = [postings_leaf(i) for i in leaves[at : at + step]]
            frontier = frontier.extend_leaves(new, made)
            at += step
        assert made == block_roots(leaves)
        assert frontier.root() == postings_root(leaves)


@pytest.mark.parametrize("seed", range(3))
def test_stored_blocks_give_the_same_proofs(seed: int) -> None:
    """`window_proof_stored`, reading only the blocks it needs, gives `window_proof`;
    roots of more blocks than the list's (a later size's) are not used; a block read that
    does not match its stored size or last leaf index is a ValueError."""
    rng = random.Random(seed)
    for leaves in lists(rng):
        longer = leaves + [leaves[-1] + 1 + i for i in range(rng.randrange(3 * BLOCK))]
        roots = block_roots(longer)
        lasts = [longer[BLOCK * (j + 1) - 1] for j in range(len(roots))]
        top = leaves[-1] + 1
        windows = [(0, top), (0, 1), (top - 1, top), (leaves[0], leaves[0] + 1)]
        windows += [tuple(sorted(rng.sample(range(top + 1), 2))) for _ in range(12)]
        read = reader(leaves)
        for start, end in windows:
            if start == end:
                continue
            expected = window_proof(leaves, start, end)
            assert window_proof_stored(len(leaves), roots, lasts, read, start, end) == expected
    leaves = sorted(rng.sample(range(40 * BLOCK), 3 * BLOCK + 9))
    lasts = [leaves[BLOCK * (j + 1) - 1] for j in range(3)]
    wrong = [*lasts[:1], lasts[1] + 1, *lasts[2:]]
    with pytest.raises(ValueError, match="not this key's"):
        window_proof_stored(len(leaves), block_roots(leaves), wrong, reader(leaves), 0, 40 * BLOCK)
