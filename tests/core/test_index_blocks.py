"""Window proofs from cached block roots (ledger.core.index.blocks) are exactly the
window proofs of ledger.core.index.postings, for lists shorter and longer than a block,
windows anywhere (at the ends, empty, the whole list), and a prefix of a longer cached
list; and they verify against the list's postings root."""

from __future__ import annotations

import random

import pytest

from ledger.core.index import postings_root, root_from_window, window_proof
from ledger.core.index.blocks import BLOCK, block_roots, window_proof_blocks


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
