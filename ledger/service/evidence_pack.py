"""Evidence packs, service side: every anchored entry matching a campaign query, in one
document with one multi-entry proof (format `model-ledger/evidence-pack/v1`,
documented in docs/evidence-format.md, verified by `ledger.verify.pack`).

The pack proves against the newest confirmed anchor: entries of that tree that match
the query are in it; matching entries sequenced after it, or still pending, are not
(`BuiltPack.unanchored` counts them, so a caller can say so).

Read-only: nothing here writes to the store or talks to the chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ledger.core.merkle.multiproof import multi_inclusion_ranges
from ledger.core.merkle.tiles import range_hash, range_keys
from ledger.core.records import RecordError, validate_canonical
from ledger.errors import InvalidRequestError, NotAnchoredError, NotFoundError
from ledger.formats.checkpoint import AnchoredCheckpoint, AnchorRef
from ledger.formats.pack import MAX_PACK_ENTRIES, PackQuery, pack_head
from ledger.store.anchors import AnchorRepository
from ledger.store.exports import Filters, RunMap, count_matching, matching_entries
from ledger.store.repository import Store, StoreError

UNANCHORED_HEADER = "X-Ledger-Unanchored-Matches"
"""HTTP response header of a pack: matching entries newer than its checkpoint (not in it)."""

PREFETCH_TILES = 200
"""Tiles read per query while gathering proof nodes."""


class TooManyEntriesError(InvalidRequestError):
    """A query matching more entries than one pack may hold."""


@dataclass(frozen=True)
class BuiltPack:
    """A pack as JSON bytes, and what it holds."""

    document: bytes
    entries: int
    proof_nodes: int
    tree_size: int
    unanchored: int
    """Matching entries not in the pack: sequenced after its checkpoint, or pending."""


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _filters(query: PackQuery) -> Filters:
    return Filters(query.account_ids, query.ts_from, query.ts_to, query.model, query.kind)


def build_pack(
    store: Store,
    anchors: AnchorRepository,
    query: PackQuery,
    *,
    max_entries: int = MAX_PACK_ENTRIES,
) -> BuiltPack:
    """The pack of every entry matching `query` in the newest confirmed anchor's tree.

    Raises NotAnchoredError (no deployment or no confirmed anchor), NotFoundError (no
    anchored entry matches) or TooManyEntriesError (more than `max_entries` match).
    """
    deployment = anchors.deployment()
    if deployment is None:
        raise NotAnchoredError(
            "this log records no LogAnchor deployment: nothing is anchored, so no evidence"
        )
    anchor = anchors.latest_confirmed()
    if anchor is None:
        raise NotAnchoredError("no anchor is confirmed yet: ask again once the log is anchored")
    if (
        anchor.tx_hash is None
        or anchor.block_number is None
        or anchor.block_hash is None
        or anchor.block_timestamp is None
    ):
        raise StoreError(
            f"confirmed anchor of tree size {anchor.tree_size} has no block recorded: the store is damaged"
        )
    size = anchor.tree_size
    filters = _filters(query)
    with store.read() as conn:
        run_map = RunMap.load(store, conn, size)
        last_seq = run_map.seq_of(size - 1)
        rows = matching_entries(conn, filters, last_seq, max_entries + 1)
        if len(rows) > max_entries:
            raise TooManyEntriesError(
                f"the query matches more than {max_entries:,} anchored entries, the most one pack holds:"
                " narrow it (a shorter time range, fewer accounts, one model or kind)"
            )
        unanchored = count_matching(conn, filters, last_seq)
        if not rows:
            raise NotFoundError(
                f"no entry in the anchored tree of size {size:,} matches the query ({query.describe()})"
                + (
                    f"; {unanchored:,} newer matching entries are not anchored yet"
                    if unanchored
                    else ""
                )
            )
        indices = run_map.indices_of([seq for seq, _leaf, _record in rows])
        for (_seq, leaf, record), index in zip(rows, indices, strict=True):
            _check_record(record, leaf, index)
        ranges = multi_inclusion_ranges(indices, size)
        tiles = store.tile_reader(conn)
        keys = sorted({key for a, b in ranges for key in range_keys(a, b)})
        for start in range(0, len(keys), PREFETCH_TILES):
            tiles.prefetch(keys[start : start + PREFETCH_TILES])
        proof = [range_hash(a, b, tiles) for a, b in ranges]
        stored_root = store.checkpoint_root(conn, size)
    if stored_root is not None and stored_root != anchor.root:
        raise StoreError(
            f"the stored tree of size {size} has root {_hex(stored_root)}, but {_hex(anchor.root)} was anchored:"
            " the store is damaged"
        )
    assert anchor.tx_hash and anchor.block_hash
    assert anchor.block_number is not None and anchor.block_timestamp is not None
    checkpoint = AnchoredCheckpoint(
        size,
        anchor.root,
        AnchorRef(anchor.tx_hash, anchor.block_number, anchor.block_hash, anchor.block_timestamp),
    )
    head = pack_head(deployment.chain_id, deployment.contract, deployment.log_id, checkpoint, query)
    # Records go in as their stored canonical bytes (valid JSON): no re-encoding.
    opening = json.dumps(head, separators=(",", ":")).encode()[:-1]
    body = b",".join(
        b'{"leaf_index":%d,"record":%s}' % (index, record)
        for index, (_s, _l, record) in zip(indices, rows, strict=True)
    )
    nodes = b",".join(b'"0x%s"' % node.hex().encode() for node in proof)
    document = opening + b',"entries":[' + body + b'],"proof":[' + nodes + b"]}"
    return BuiltPack(document, len(rows), len(proof), size, unanchored)


def _check_record(record: bytes, leaf: bytes, index: int) -> None:
    """The stored record must be canonical and hash to its stored leaf hash, so the
    pack a verifier reads is what the log holds."""
    try:
        entry = validate_canonical(record)
    except RecordError as error:
        raise StoreError(
            f"the record at leaf index {index} is not canonical ({error}): the store is damaged"
        ) from None
    if entry.leaf_hash != leaf:
        raise StoreError(
            f"the record at leaf index {index} does not hash to its leaf hash: the store is damaged"
        )
