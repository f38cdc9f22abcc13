"""The verifiable index: for each key (``account:acct-1``...), the ordered leaf indices
of its entries, committed in a sparse Merkle map whose root the log key signs with each
checkpoint, so that "these are all the entries of key K among the first S" verifies
against the chain alone. The construction and its security argument are in
docs/completeness.md.

Pure like `ledger.core.merkle`: no I/O. `smt` is the map (incremental updates over a
node store, proofs of presence and absence), `postings` a key's list (an RFC 9162 tree
of leaf indices, window proofs), `keys` which keys a record has, `completeness` the
index root and the verification of a claim against it.

FROZEN once roots are anchored: changing a hash, a key function or the tree shape
changes every index root. Change it only as a new version (INDEX_DOMAIN).
"""

from ledger.core.index.builder import IndexBuilder
from ledger.core.index.completeness import (
    INDEX_DOMAIN,
    PostingsClaim,
    build_claim,
    check_indices,
    index_root,
    present_claim,
    verify_postings,
)
from ledger.core.index.errors import IndexProofError
from ledger.core.index.keys import (
    KEY_FUNCTIONS,
    KEY_KINDS,
    MAX_ENTRY_KEYS,
    STATEMENT_KEY,
    entry_keys,
    group_entry_keys,
    key_hash,
    parse_key,
    record_keys,
)
from ledger.core.index.postings import (
    Frontier,
    WindowProof,
    postings_leaf,
    postings_leaves,
    postings_root,
    root_from_window,
    window_proof,
)
from ledger.core.index.smt import (
    EMPTY,
    MapLeaf,
    MapProof,
    MapUpdate,
    NodeReader,
    SparseMap,
    build,
    prove,
    root_from_proof,
    update,
)

__all__ = [
    "EMPTY",
    "INDEX_DOMAIN",
    "KEY_FUNCTIONS",
    "KEY_KINDS",
    "MAX_ENTRY_KEYS",
    "STATEMENT_KEY",
    "Frontier",
    "IndexBuilder",
    "IndexProofError",
    "MapLeaf",
    "MapProof",
    "MapUpdate",
    "NodeReader",
    "PostingsClaim",
    "SparseMap",
    "WindowProof",
    "build",
    "build_claim",
    "check_indices",
    "entry_keys",
    "group_entry_keys",
    "index_root",
    "key_hash",
    "parse_key",
    "postings_leaf",
    "postings_leaves",
    "postings_root",
    "present_claim",
    "prove",
    "record_keys",
    "root_from_proof",
    "root_from_window",
    "update",
    "verify_postings",
    "window_proof",
]
