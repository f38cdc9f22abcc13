"""RFC 9162 Merkle tree math: hashing, which subtrees a proof needs, and verification.

FROZEN: every inclusion and consistency proof this log has ever issued, and every root
anchored on chain, was computed by this package. Changing how it hashes, splits trees
or orders proof nodes breaks all of them. Fix bugs only with a new record or bundle
version, never in place.

Pure: no I/O, no storage. `inclusion_ranges` / `consistency_ranges` say which leaf
ranges a proof needs; the caller loads their hashes (from tiles, say) and the
`verify_*` functions check the result.
"""

from ledger.core.merkle.errors import ProofError, ProofLengthError, RootMismatchError
from ledger.core.merkle.hashing import EMPTY_ROOT, HASH_SIZE, hash_children, hash_leaf
from ledger.core.merkle.proof import (
    Node,
    consistency_proof,
    consistency_ranges,
    fold_nodes,
    inclusion_proof,
    inclusion_ranges,
    range_nodes,
    root_hash,
    split_point,
)
from ledger.core.merkle.verify import (
    inclusion_length,
    root_from_consistency_proof,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Node",
    "ProofError",
    "ProofLengthError",
    "RootMismatchError",
    "consistency_proof",
    "consistency_ranges",
    "fold_nodes",
    "hash_children",
    "hash_leaf",
    "inclusion_length",
    "inclusion_proof",
    "inclusion_ranges",
    "range_nodes",
    "root_from_consistency_proof",
    "root_from_inclusion_proof",
    "root_hash",
    "split_point",
    "verify_consistency",
    "verify_inclusion",
]
