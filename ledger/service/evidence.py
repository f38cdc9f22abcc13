"""Evidence bundles, service side: one entry, its proof and the anchor that covers it.

A bundle (format "model-ledger/evidence/v1", documented field by field in
docs/evidence-format.md) holds everything an outsider needs to check an entry with
`ledger.verify.bundle`, trusting only mathematics and the chain:

- where the log is anchored: chain id, LogAnchor contract address, log id;
- the checkpoint it proves against: the tree size and root of the newest confirmed
  anchor that covers the entry, with the anchor's transaction and block;
- `entries`: the record (a JSON object; its canonical bytes are its RFC 8785 encoding,
  which `ledger.core.records` guarantees is exactly what the log hashed), leaf hash, leaf
  index and inclusion proof. One entry today; a list so multi-entry packs fit.

Read-only: nothing here writes to the store or talks to the chain.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from ledger.errors import NotAnchoredError, NotFoundError, NotSequencedError
from ledger.formats.bundle import bundle_json
from ledger.formats.checkpoint import AnchoredCheckpoint, AnchorRef
from ledger.service.proofs import inclusion
from ledger.store.anchors import Anchor, AnchorRepository
from ledger.store.repository import Store, StoredEntry, StoreError


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _entry(store: Store, leaf_hash: bytes) -> StoredEntry:
    """The stored, sequenced entry with `leaf_hash`."""
    with store.read() as conn:
        entry = store.find_entry(conn, leaf_hash)
    if entry is None:
        raise NotFoundError(f"no entry has leaf hash {_hex(leaf_hash)}")
    if entry.leaf_index is None:
        raise NotSequencedError(
            f"entry {_hex(leaf_hash)} is pending: it has no leaf index yet, so no evidence"
            " (seal and anchor, then ask again)"
        )
    return entry


def _covering_anchor(anchors: AnchorRepository, entry: StoredEntry) -> Anchor:
    """The newest confirmed anchor whose tree holds the entry's leaf index."""
    assert entry.leaf_index is not None
    newest = anchors.latest_confirmed()
    if newest is None or newest.tree_size <= entry.leaf_index:
        covered = (
            "no anchor is confirmed yet"
            if newest is None
            else (
                f"the newest confirmed anchor is of tree size {newest.tree_size}"
                f" (leaves 0 to {newest.tree_size - 1})"
            )
        )
        raise NotAnchoredError(
            f"entry {_hex(entry.leaf_hash)} has leaf index {entry.leaf_index} but is not anchored yet:"
            f" {covered}; ask again once an anchor of a larger tree is confirmed"
        )
    if (
        newest.tx_hash is None
        or newest.block_number is None
        or newest.block_hash is None
        or newest.block_timestamp is None
    ):
        raise StoreError(
            f"confirmed anchor of tree size {newest.tree_size} has no block recorded: the store is damaged"
        )
    return newest


def _record(entry: StoredEntry) -> Any:
    """The stored canonical record as a JSON object, checked to re-encode (RFC 8785)
    to exactly the stored bytes, so a verifier can rebuild them from the bundle."""
    record = json.loads(entry.record)
    if rfc8785.dumps(record) != entry.record:
        raise StoreError(
            f"record of entry {_hex(entry.leaf_hash)} is not in canonical form: the store is damaged"
        )
    return record


def build_evidence(store: Store, anchors: AnchorRepository, leaf_hash: bytes) -> dict[str, Any]:
    """The evidence bundle of the entry with `leaf_hash`, against the newest confirmed
    anchor that covers it.

    Raises NotFoundError (no such entry), NotSequencedError (pending) or
    NotAnchoredError (sealed, but no confirmed anchor covers it yet, or the log was
    never deployed on a chain).
    """
    entry = _entry(store, leaf_hash)
    deployment = anchors.deployment()
    if deployment is None:
        raise NotAnchoredError(
            f"entry {_hex(leaf_hash)} is not anchored: this log records no LogAnchor deployment"
        )
    anchor = _covering_anchor(anchors, entry)
    proof = inclusion(store, leaf_hash, anchor.tree_size)
    if proof.root != anchor.root:
        raise StoreError(
            f"the stored tree of size {anchor.tree_size} has root {_hex(proof.root)},"
            f" but {_hex(anchor.root)} was anchored: the store is damaged"
        )
    assert anchor.tx_hash and anchor.block_hash  # checked by _covering_anchor
    assert anchor.block_number is not None and anchor.block_timestamp is not None
    checkpoint = AnchoredCheckpoint(
        anchor.tree_size,
        anchor.root,
        AnchorRef(anchor.tx_hash, anchor.block_number, anchor.block_hash, anchor.block_timestamp),
    )
    return bundle_json(
        deployment.chain_id,
        deployment.contract,
        deployment.log_id,
        checkpoint,
        [(proof.leaf_index, leaf_hash, _record(entry), proof.proof)],
    )
