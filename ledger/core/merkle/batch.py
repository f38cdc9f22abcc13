"""Every inclusion proof of a small tree at once: how one signature covers a batch of
receipts (each receipt carries its entry's path to the signed batch root).

Built level by level: an odd last node is carried up unchanged, which gives RFC 9162's
tree; a path takes the sibling of its node at each level that has one. The paths equal
`inclusion_proof(i, items)` for every i (tests/core/merkle/test_batch.py), in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ledger.core.merkle.hashing import HASH_SIZE, hash_pairs


class Hashes(Protocol):
    """A level of hashes: a list of them, or `Packed`."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> bytes: ...


class Packed:
    """A level of 32-byte hashes kept as one bytes object (half the memory of a list of
    them), read as `Hashes`."""

    __slots__ = ("data",)

    def __init__(self, hashes: Sequence[bytes]) -> None:
        self.data = b"".join(hashes)

    def __len__(self) -> int:
        return len(self.data) // HASH_SIZE

    def __getitem__(self, index: int) -> bytes:
        return self.data[index * HASH_SIZE : (index + 1) * HASH_SIZE]


def tree_levels(items: Sequence[bytes]) -> list[list[bytes]]:
    """The levels of the RFC 9162 tree of the leaf hashes `items` (not empty), leaves
    first, root last."""
    levels = [list(items)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        parents = hash_pairs(level)
        if len(level) & 1:
            parents.append(level[-1])
        levels.append(parents)
    return levels


def level_path(levels: Sequence[Hashes], index: int) -> list[bytes]:
    """The inclusion proof of leaf `index` from the `tree_levels` of its tree."""
    path = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        index >>= 1
    return path


def all_inclusion_proofs(items: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The RFC 9162 root of the leaf hashes `items` and every item's inclusion proof."""
    levels = tree_levels(items)
    return levels[-1][0], [level_path(levels, index) for index in range(len(items))]
