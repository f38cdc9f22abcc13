"""The map of the index: a compressed sparse Merkle tree from key hashes to (count,
postings root).

A binary trie on the 256 bits of the key hash k, most significant bit first. A subtree
holding no key is empty (hash: 32 zero bytes); one holding exactly one key is that key's
leaf, placed as high as it can be (the single-child path below it is compressed away);
one holding two or more is an interior node. So the tree is a function of the set of
(k, count, postings root) alone, whatever order they were added in (as in Diem's
Jellyfish Merkle tree):

    leaf      SHA-256(0x02 || k || u64be(count) || postings_root)
    interior  SHA-256(0x03 || left || right)
    empty     32 zero bytes

(0x00 and 0x01 are RFC 9162's prefixes; distinct prefixes keep a leaf, an interior
node and a postings tree node from passing for one another.)

Nodes live in a store keyed by position: the heap number of the subtree of the keys
whose first `depth` bits are `prefix`, 2**depth + prefix (1 is the root, 2p and 2p + 1
the children of p). The index only grows (keys are never removed, counts only
increase), so a position only ever changes from empty to leaf to interior, or keeps its
kind with a new hash: `update` reads the store and returns the nodes to write, which the
caller upserts (a dict here, a table later). A batch of B changes costs O(B log K)
hashes for K keys.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Protocol

from ledger.core.index.errors import IndexProofError
from ledger.core.merkle import HASH_SIZE

EMPTY = bytes(HASH_SIZE)
"""The hash of an empty subtree, and the root of the empty map."""

KEY_BITS = 256
"""Depth of the trie: bits of a key hash."""

MAX_COUNT = 2**64 - 1
"""Largest postings count (u64)."""

_LEAF = hashlib.sha256(b"\x02")
_NODE = hashlib.sha256(b"\x03")

Position = int
"""2**depth + prefix: the subtree of the keys whose first `depth` bits are `prefix`."""

ROOT: Position = 1
"""The root's position."""


def leaf_hash(key_hash: bytes, count: int, postings_root: bytes) -> bytes:
    """SHA-256(0x02 || k || u64be(count) || postings_root)."""
    state = _LEAF.copy()
    state.update(key_hash)
    state.update(count.to_bytes(8, "big"))
    state.update(postings_root)
    return state.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x03 || left || right)."""
    state = _NODE.copy()
    state.update(left)
    state.update(right)
    return state.digest()


@dataclass(frozen=True, slots=True)
class MapLeaf:
    """One key of the map: its hash, its postings count and postings root."""

    key_hash: bytes
    count: int
    postings_root: bytes


@dataclass(frozen=True, slots=True)
class Leaf:
    """A stored leaf: the key's values and the leaf's hash."""

    value: MapLeaf
    hash: bytes


Node = Leaf | bytes
"""A stored node: a leaf, or an interior node's hash (its children are at the next
depth, so the hash is all it needs)."""


def hash_of(node: Node | None) -> bytes:
    """The hash of a stored node, EMPTY for none."""
    if node is None:
        return EMPTY
    return node.hash if isinstance(node, Leaf) else node


class NodeReader(Protocol):
    """Where the map's nodes are read from: a dict, or a table behind a cache."""

    def get(self, position: Position, /) -> Node | None:
        """The node at `position`, None if that subtree is empty."""


@dataclass(frozen=True)
class MapUpdate:
    """The map root after a batch, and the nodes the batch wrote (to upsert)."""

    root: bytes
    writes: dict[Position, Node]


# An item of a batch: (k as an integer, k, count, postings root), sorted by k.
_Item = tuple[int, bytes, int, bytes]


def _check_change(key: bytes, count: int, root: bytes) -> None:
    if len(key) != HASH_SIZE or len(root) != HASH_SIZE:
        raise ValueError("key hashes and postings roots are 32 bytes")
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"a key's postings count must be 1 to {MAX_COUNT}, got {count}")


def _threshold(child: Position, depth: int) -> int:
    """The least key (as an integer) in the right child of the node at depth `depth`
    whose left child is at `child`: its prefix with bit `depth` set, then zeros."""
    return (child ^ (1 << (depth + 1)) | 1) << (KEY_BITS - 1 - depth)


class _Batch:
    """One batch of changes, sorted by key, walked down the tree by index ranges."""

    def __init__(self, store: NodeReader, items: list[_Item]) -> None:
        self.get = store.get
        self.items = items
        self.ints = [item[0] for item in items]
        self.writes: dict[Position, Node] = {}

    def build(self, depth: int, pos: int, lo: int, hi: int) -> bytes:
        """Write the subtree at `pos` (of `depth`) holding exactly items[lo:hi] (not empty)."""
        if hi - lo == 1:
            _, key, count, root = self.items[lo]
            leaf = Leaf(MapLeaf(key, count, root), leaf_hash(key, count, root))
            self.writes[pos] = leaf
            return leaf.hash
        child = pos << 1
        cut = bisect_left(self.ints, _threshold(child, depth), lo, hi)
        left = self.build(depth + 1, child, lo, cut) if cut > lo else EMPTY
        right = self.build(depth + 1, child | 1, cut, hi) if cut < hi else EMPTY
        digest = node_hash(left, right)
        self.writes[pos] = digest
        return digest

    def update(self, depth: int, pos: int, lo: int, hi: int) -> bytes:
        """Apply items[lo:hi] (not empty) to the stored subtree at `pos` (of `depth`)."""
        node = self.get(pos)
        if node is not None and not isinstance(node, Leaf):
            child = pos << 1
            cut = bisect_left(self.ints, _threshold(child, depth), lo, hi)
            if cut > lo:
                left = self.update(depth + 1, child, lo, cut)
            else:
                left = hash_of(self.get(child))
            if cut < hi:
                right = self.update(depth + 1, child | 1, cut, hi)
            else:
                right = hash_of(self.get(child | 1))
            digest = node_hash(left, right)
            self.writes[pos] = digest
            return digest
        if isinstance(node, Leaf):
            old = node.value
            old_int = int.from_bytes(old.key_hash, "big")
            at = bisect_left(self.ints, old_int, lo, hi)
            if at == hi or self.ints[at] != old_int:
                # The old key moves down beside the new ones: build from a merged list.
                mine = (
                    int.from_bytes(old.key_hash, "big"),
                    old.key_hash,
                    old.count,
                    old.postings_root,
                )
                merged = sorted([*self.items[lo:hi], mine])
                sub = _Batch(_NOTHING, merged)
                digest = sub.build(depth, pos, 0, len(merged))
                self.writes.update(sub.writes)
                return digest
        # Below an empty position or a leaf nothing is stored: build afresh.
        return self.build(depth, pos, lo, hi)


class _Nothing:
    def get(self, position: Position, /) -> Node | None:
        return None


_NOTHING = _Nothing()


def update(store: NodeReader, changes: Mapping[bytes, tuple[int, bytes]]) -> MapUpdate:
    """Apply `changes` (key hash -> (count, postings root); new keys or new values of
    existing ones) to the map in `store`: the new root and the nodes to write.
    Reads `store`, writes nothing. No changes: the current root and no writes."""
    items: list[_Item] = []
    for key, (count, root) in changes.items():
        _check_change(key, count, root)
        items.append((int.from_bytes(key, "big"), key, count, root))
    items.sort()
    if not items:
        node = store.get(ROOT)
        return MapUpdate(hash_of(node), {})
    batch = _Batch(store, items)
    return MapUpdate(batch.update(0, ROOT, 0, len(items)), batch.writes)


def read_paths(
    store: NodeReader, key_hashes: Iterable[bytes], fetch: Callable[[list[Position]], None]
) -> None:
    """Have `fetch` bring into `store` every node that an `update` of `key_hashes` reads,
    a level at a time (one call per depth, with the positions of that depth): down the
    keys' paths while the node is interior, and each such node's two children. A store
    backed by a table reads a level in one query instead of a node per query; `fetch`
    may leave out positions it already holds. Walks each shared part of the paths once."""
    keys = sorted({int.from_bytes(k, "big") for k in key_hashes})
    fetch([ROOT])
    level = [(ROOT, 0, len(keys))]
    depth = 0
    while level and depth < KEY_BITS:
        wanted: list[Position] = []
        below: list[tuple[Position, int, int]] = []
        for pos, lo, hi in level:
            node = store.get(pos)
            if node is None or isinstance(node, Leaf):
                continue  # an update writes below it afresh, reading nothing
            child = pos << 1
            wanted.append(child)
            wanted.append(child | 1)
            cut = bisect_left(keys, _threshold(child, depth), lo, hi)
            if cut > lo:
                below.append((child, lo, cut))
            if cut < hi:
                below.append((child | 1, cut, hi))
        if wanted:
            fetch(wanted)
        level = below
        depth += 1


def build(values: Mapping[bytes, tuple[int, bytes]]) -> MapUpdate:
    """The map of `values` from nothing: its root and all its nodes."""
    return update({}, values)


@dataclass(frozen=True)
class MapProof:
    """The path from the root towards key k: the siblings, root side first (EMPTY for
    an empty one), and, for a proof that k is absent, the other key's leaf the path ends
    at (None: the path ends at k's own leaf, or at an empty subtree)."""

    siblings: tuple[bytes, ...]
    other: MapLeaf | None = None


def prove(store: NodeReader, key: bytes) -> tuple[MapLeaf | None, MapProof]:
    """Key `key`'s leaf (None if absent) and the proof of it, or of its absence."""
    if len(key) != HASH_SIZE:
        raise ValueError("a key hash is 32 bytes")
    k = int.from_bytes(key, "big")
    siblings: list[bytes] = []
    depth, pos = 0, ROOT
    while True:
        node = store.get(pos)
        if node is None:
            return None, MapProof(tuple(siblings))
        if isinstance(node, Leaf):
            if node.value.key_hash == key:
                return node.value, MapProof(tuple(siblings))
            return None, MapProof(tuple(siblings), node.value)
        bit = (k >> (KEY_BITS - 1 - depth)) & 1
        siblings.append(hash_of(store.get((pos << 1) | (bit ^ 1))))
        depth, pos = depth + 1, (pos << 1) | bit


def root_from_proof(key: bytes, value: MapLeaf | None, proof: MapProof) -> bytes:
    """The map root in which `proof` places `value` (k's leaf), or shows k absent
    (`value` None). Raises IndexProofError ``index map`` for a proof that cannot be one:
    too long, a leaf of another key, an "other" leaf of k itself or off k's path."""
    depth = len(proof.siblings)
    if depth > KEY_BITS:
        raise IndexProofError("index map", f"{depth} siblings; a path has at most {KEY_BITS}")
    if value is not None:
        if proof.other is not None:
            raise IndexProofError("index map", "a proof of inclusion ends at the key's own leaf")
        if value.key_hash != key:
            raise IndexProofError("index map", "the leaf proven is another key's")
        _check_leaf(value)
        digest = leaf_hash(value.key_hash, value.count, value.postings_root)
    elif proof.other is None:
        digest = EMPTY
    else:
        other = proof.other
        _check_leaf(other)
        if other.key_hash == key:
            raise IndexProofError(
                "index map", "the leaf shown in the absence proof is the key's own: it is present"
            )
        shift = KEY_BITS - depth
        if int.from_bytes(other.key_hash, "big") >> shift != int.from_bytes(key, "big") >> shift:
            raise IndexProofError(
                "index map",
                f"the leaf shown in the absence proof is not on the key's path at depth {depth}",
            )
        digest = leaf_hash(other.key_hash, other.count, other.postings_root)
    k = int.from_bytes(key, "big")
    for level in range(depth - 1, -1, -1):
        sibling = proof.siblings[level]
        if len(sibling) != HASH_SIZE:
            raise IndexProofError("index map", f"sibling {level} is not {HASH_SIZE} bytes")
        if (k >> (KEY_BITS - 1 - level)) & 1:
            digest = node_hash(sibling, digest)
        else:
            digest = node_hash(digest, sibling)
    return digest


def _check_leaf(leaf: MapLeaf) -> None:
    if len(leaf.key_hash) != HASH_SIZE or len(leaf.postings_root) != HASH_SIZE:
        raise IndexProofError("index map", "a leaf's key hash and postings root are 32 bytes")
    if not 1 <= leaf.count <= MAX_COUNT:
        raise IndexProofError("index map", f"a leaf's count must be 1 to {MAX_COUNT}")


class SparseMap:
    """The map over an in-memory (or any dict-like) node store: apply batches, prove."""

    def __init__(self, store: MutableMapping[Position, Node] | None = None) -> None:
        self.store: MutableMapping[Position, Node] = {} if store is None else store
        node = self.store.get(ROOT)
        self.root = hash_of(node)

    def apply(self, changes: Mapping[bytes, tuple[int, bytes]]) -> bytes:
        """Apply a batch and return the new root."""
        result = update(self.store, changes)
        self.store.update(result.writes)
        self.root = result.root
        return result.root

    def prove(self, key: bytes) -> tuple[MapLeaf | None, MapProof]:
        """Key `key`'s leaf (None if absent) and its proof."""
        return prove(self.store, key)
