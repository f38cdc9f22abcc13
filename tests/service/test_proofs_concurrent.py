"""Proofs served while a sequencer seals (hostile review, pinning what holds): the shared
tile cache takes partial edge tiles from requests reading at different sizes, and every
proof must still be the one of the size it names, with the root of that tree, on
SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading

from ledger.core import merkle
from ledger.core.records import parse_object
from ledger.service.proofs import consistency, inclusion
from ledger.service.sequencer import seal
from ledger.store.repository import Store
from ledger.workload import interaction


def test_proofs_while_sealing(store: Store) -> None:
    leaves: list[bytes] = []
    done = threading.Event()
    problems: list[str] = []

    def sequencer() -> None:
        chance = random.Random(11)
        try:
            while len(leaves) < 1400:
                step = chance.choice([1, 3, 17, 60, 255])
                batch = [parse_object(interaction(len(leaves) + i, seed=9)) for i in range(step)]
                store.add_entries([batch])
                leaves.extend(entry.leaf_hash for entry in batch)
                seal(store)
        finally:
            done.set()

    def prover(seed: int) -> None:
        chance = random.Random(seed)
        while not done.is_set() or chance.random() < 0.5:
            size = store.state().tree_size
            if not size:
                continue
            asked = chance.choice([None, size, chance.randint(1, size)])
            index = chance.randrange(asked or size)
            proof = inclusion(store, leaves[index], asked)
            root = merkle.root_hash(leaves[: proof.tree_size])
            if asked is not None and proof.tree_size != asked:
                problems.append(f"asked {asked}, got {proof.tree_size}")
            if proof.root != root:
                problems.append(f"root of {proof.tree_size} is not the tree's")
                continue
            try:
                merkle.verify_inclusion(
                    index, proof.tree_size, leaves[index], proof.proof, proof.root
                )
                first = chance.randint(1, proof.tree_size)
                step = consistency(store, first, proof.tree_size)
                merkle.verify_consistency(
                    first, proof.tree_size, step.proof, step.first_root, step.second_root
                )
                if (step.first_root, step.second_root) != (
                    merkle.root_hash(leaves[:first]),
                    root,
                ):
                    problems.append(f"consistency {first}..{proof.tree_size}: other roots")
            except Exception as error:  # noqa: BLE001 - collected for the assertion
                problems.append(f"{index} in {proof.tree_size}: {error}")

    threads = [threading.Thread(target=sequencer)]
    threads += [threading.Thread(target=prover, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not problems, problems[:5]
    assert store.state().tree_size == len(leaves)
