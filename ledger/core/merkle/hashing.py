"""RFC 9162 section 2.1.1 hashing: SHA-256 with domain separation of leaves and nodes.

A leaf hash is SHA-256(0x00 || data) and an interior node SHA-256(0x01 || left ||
right), so no leaf can pass for a node (the second-preimage defence of RFC 6962).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
"""Bytes in every hash of the tree (SHA-256)."""

LEAF_PREFIX = b"\x00"
"""Prepended to a leaf's data before hashing."""

NODE_PREFIX = b"\x01"
"""Prepended to the two child hashes of an interior node before hashing."""

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""The root of the tree of zero leaves: SHA-256 of the empty string."""

_NODE_STATE = hashlib.sha256(NODE_PREFIX)
"""SHA-256 that has already absorbed NODE_PREFIX; copying it saves one concatenation."""


def hash_leaf(data: bytes) -> bytes:
    """The leaf hash of `data`: SHA-256(0x00 || data)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node from its children's: SHA-256(0x01 || left || right)."""
    state = _NODE_STATE.copy()
    state.update(left)
    state.update(right)
    return state.digest()


def hash_pairs(hashes: Sequence[bytes]) -> list[bytes]:
    """`hash_children` of each pair (0, 1), (2, 3), ...; an odd last hash is left out.

    One level of a tree built bottom up, written for speed (root_hash of a million
    leaves spends nearly all its time here).
    """
    parents: list[bytes] = []
    append = parents.append
    copy = _NODE_STATE.copy
    for left, right in zip(hashes[0::2], hashes[1::2]):
        state = copy()
        state.update(left)
        state.update(right)
        append(state.digest())
    return parents
