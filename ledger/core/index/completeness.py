"""The index root, and the verification of a key's postings against it.

The index root at log size S binds the size: R(S) = SHA-256("model-ledger/index/v1" ||
u64be(S) || M), M the map root. The log key signs R(S) in the checkpoint of size S
(`indexRoot`), and LogAnchor emits it when it anchors that checkpoint.

`verify_postings` is the whole index side of a completeness claim, with no I/O: that
`leaf_indices` are exactly the postings of `key` in [start, end) among the first
`tree_size` entries, under index root R. Records, their inclusion in the log and the
chain are the caller's (ledger.verify.completeness).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.core.index.errors import IndexProofError
from ledger.core.index.keys import key_hash, parse_key
from ledger.core.index.postings import WindowProof, root_from_window, window_proof
from ledger.core.index.smt import MapLeaf, MapProof, NodeReader, prove, root_from_proof
from ledger.core.merkle import HASH_SIZE

INDEX_DOMAIN = b"model-ledger/index/v1"
"""Prefix of the index root's preimage: names the construction and its version."""

MAX_TREE_SIZE = 2**64 - 1
"""Largest log size (the contract's uint64)."""


def index_root(tree_size: int, map_root: bytes) -> bytes:
    """R(S) = SHA-256("model-ledger/index/v1" || u64be(S) || M)."""
    if not 0 <= tree_size <= MAX_TREE_SIZE or len(map_root) != HASH_SIZE:
        raise ValueError("index_root needs a u64 size and a 32-byte map root")
    return hashlib.sha256(INDEX_DOMAIN + tree_size.to_bytes(8, "big") + map_root).digest()


@dataclass(frozen=True)
class PostingsClaim:
    """What a completeness document says about one key, before any checking: the key,
    the log size, the index root, the key's postings count and root (count 0 and root
    None: the key is absent), the window [start, end) and the postings in it, and the
    proofs."""

    key: str
    tree_size: int
    index_root: bytes
    count: int
    postings_root: bytes | None
    start: int
    end: int
    leaf_indices: tuple[int, ...]
    map_proof: MapProof
    window: WindowProof | None


def check_indices(claim: PostingsClaim) -> None:
    """The window lies in the log, and the postings given are strictly increasing and in
    it: ``tree size``, ``duplicated``, ``reordered`` (IndexProofError)."""
    size, start, end = claim.tree_size, claim.start, claim.end
    if not 0 <= start < end <= size:
        raise IndexProofError(
            "tree size",
            f"the window [{start}, {end}) is not a non-empty part of the first {size} entries",
        )
    previous: int | None = None
    for number, index in enumerate(claim.leaf_indices):
        if previous is not None and index == previous:
            raise IndexProofError(
                "duplicated", f"entry {number} repeats leaf {index} of the entry before it"
            )
        if previous is not None and index < previous:
            raise IndexProofError(
                "reordered",
                f"entry {number} (leaf {index}) comes after leaf {previous}: entries must be"
                " in increasing leaf order",
            )
        if not start <= index < end:
            where = "beyond the log's" if index >= size else "outside the window of"
            raise IndexProofError(
                "tree size",
                f"entry {number} is leaf {index}, {where} [{start}, {end}) of the first {size}",
            )
        previous = index


def verify_postings(claim: PostingsClaim) -> bytes:
    """Check `claim` against its index root; return the map root it leads to.

    Checks, in order: ``key``; ``tree size``, ``duplicated``, ``reordered`` (see
    check_indices); ``omitted`` (the postings are exactly those of the committed list
    in the window: count, neighbours, positions, postings root); ``index map`` (the map
    proof is one for this key); ``index root`` (R(S) from the map root and the size is
    the claimed index root). Raises IndexProofError naming the first that fails."""
    parse_key(claim.key)
    check_indices(claim)
    k = key_hash(claim.key)
    given = len(claim.leaf_indices)
    value: MapLeaf | None = None
    if claim.count == 0:
        if given or claim.postings_root is not None or claim.window is not None:
            raise IndexProofError(
                "added",
                f"the key is claimed absent (count 0) yet {given} entries or a postings proof"
                " are given",
            )
    else:
        if claim.postings_root is None or claim.window is None:
            raise IndexProofError(
                "omitted", f"count {claim.count} needs a postings root and a postings proof"
            )
        if claim.start == 0 and claim.end == claim.tree_size and given != claim.count:
            raise IndexProofError(
                "omitted",
                f"the index holds {claim.count} entries of {claim.key} in the first"
                f" {claim.tree_size}; {given} are given",
            )
        computed = root_from_window(
            claim.count, claim.start, claim.end, claim.leaf_indices, claim.window
        )
        if computed != claim.postings_root:
            raise IndexProofError(
                "omitted",
                f"the {given} entries given, at their positions, lead to postings root"
                f" 0x{computed.hex()}, not to the key's 0x{claim.postings_root.hex()}:"
                " the entries are not the key's committed postings (one omitted, or added)",
            )
        value = MapLeaf(k, claim.count, claim.postings_root)
    map_root = root_from_proof(k, value, claim.map_proof)
    computed_root = index_root(claim.tree_size, map_root)
    if computed_root != claim.index_root:
        raise IndexProofError(
            "index root",
            f"the map proof leads to map root 0x{map_root.hex()}, so to index root"
            f" 0x{computed_root.hex()} at size {claim.tree_size}, not to the claimed"
            f" 0x{claim.index_root.hex()} (a stale index root, another size, or a false"
            " count or postings root)",
        )
    return map_root


def build_claim(
    store: NodeReader,
    tree_size: int,
    key: str,
    postings: Sequence[int],
    start: int = 0,
    end: int | None = None,
) -> PostingsClaim:
    """The claim for `key` in [start, end) (default: the whole log) from the map at log
    size `tree_size` in `store` and the key's whole postings list up to that size."""
    end = tree_size if end is None else end
    k = key_hash(key)
    leaf, proof = prove(store, k)
    map_root = root_from_proof(k, leaf, proof)
    if leaf is None:
        if postings:
            raise ValueError(f"{key} is not in the map but has {len(postings)} postings")
        return PostingsClaim(
            key, tree_size, index_root(tree_size, map_root), 0, None, start, end, (), proof, None
        )
    if len(postings) != leaf.count:
        raise ValueError(f"the map counts {leaf.count} postings of {key}; {len(postings)} given")
    inside, window = window_proof(postings, start, end)
    return present_claim(
        key, tree_size, index_root(tree_size, map_root), leaf, proof, start, end, inside, window
    )


def present_claim(
    key: str,
    tree_size: int,
    root: bytes,
    leaf: MapLeaf,
    proof: MapProof,
    start: int,
    end: int,
    inside: Sequence[int],
    window: WindowProof,
) -> PostingsClaim:
    """The claim for a key the map holds as `leaf`, under index root `root`, with the
    postings `inside` the window [start, end) and their proofs."""
    return PostingsClaim(
        key,
        tree_size,
        root,
        leaf.count,
        leaf.postings_root,
        start,
        end,
        tuple(inside),
        proof,
        window,
    )
