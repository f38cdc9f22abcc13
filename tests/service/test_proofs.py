"""Proofs served as the log grows: the store's shared tile cache keeps partial (right-edge)
tiles too, and a narrower cached tile must never answer for a wider tree, nor a wider one
for an older size wrongly. Every proof is checked against the roots the pure Merkle code
computes from the leaves, on SQLite and PostgreSQL."""

from __future__ import annotations

import random

from ledger.core import merkle
from ledger.core.records import parse_object
from ledger.service.proofs import consistency, inclusion
from ledger.service.sequencer import seal
from ledger.store.repository import Store
from ledger.workload import interaction


def test_proofs_stay_right_while_the_cached_edge_tiles_grow(store: Store) -> None:
    chance = random.Random(5)
    leaves: list[bytes] = []
    sizes: list[int] = []
    # Sizes that cross level-0 and level-1 tile edges (256, 512, 65,536 would be slow).
    for step in [1, 2, 60, 193, 1, 255, 1, 300, 17]:
        batch = [parse_object(interaction(len(leaves) + i, seed=3)) for i in range(step)]
        store.add_entries([batch])
        assert seal(store).tree_size == len(leaves) + step
        leaves += [entry.leaf_hash for entry in batch]
        sizes.append(len(leaves))
        for size in {sizes[-1], chance.choice(sizes), *sizes[-2:]}:
            root = merkle.root_hash(leaves[:size])
            for index in {0, size - 1, chance.randrange(size)}:
                proof = inclusion(store, leaves[index], size)
                assert (proof.leaf_index, proof.tree_size, proof.root) == (index, size, root)
                merkle.verify_inclusion(index, size, leaves[index], proof.proof, root)
            first = chance.randint(1, size)
            step_proof = consistency(store, first, size)
            assert step_proof.second_root == root
            assert step_proof.first_root == merkle.root_hash(leaves[:first])
            merkle.verify_consistency(first, size, step_proof.proof, step_proof.first_root, root)
    assert len(store.shared_tiles) >= 2  # partial tiles were cached and reused
