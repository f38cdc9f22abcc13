"""Evidence packs, service side: every anchored entry matching a campaign query, in one
document with one multi-entry proof (format `model-ledger/evidence-pack/v1`,
documented in docs/evidence-format.md, verified by `ledger.verify.pack`).

The pack holds the entries of the newest confirmed anchor's tree that match the query,
proven against the earliest confirmed anchor whose tree holds them all (by default: its
block's time is the tightest "existed no later than" one checkpoint gives; `anchor=`
chooses the latest or a given tree size, whose tree then bounds the entries). Matching
entries sequenced after it, or still pending, are not in it (`BuiltPack.unanchored`
counts them, so a caller can say so).

A complete pack (`complete=True`, docs/completeness.md) also proves that its accounts
have no other entry in the first S entries: it carries each account key's index proof at
S (the newest confirmed anchor, or the size asked for) and the key's entries that do not
match the query (so a verifier sees why each is not counted). The accounts' erased
entries (docs/privacy.md) are among those: no record of theirs can match, so each is
there by leaf hash, inclusion proof and erasure marker.

Read-only: nothing here writes to the store or talks to the chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection

from ledger.core.merkle.multiproof import multi_inclusion_ranges
from ledger.core.merkle.tiles import range_hash, range_keys
from ledger.core.records import RecordError, validate_canonical
from ledger.errors import (
    InvalidRequestError,
    NotAnchoredError,
    NotFoundError,
    NotPublishedError,
)
from ledger.formats.bundle import BundleEntry
from ledger.formats.checkpoint import AnchoredCheckpoint, AnchorRef
from ledger.formats.completeness import ErasedEntry
from ledger.formats.cosignature import WitnessPolicy
from ledger.formats.pack import (
    MAX_PACK_BYTES,
    MAX_PACK_ENTRIES,
    KeyProof,
    PackCompleteness,
    PackQuery,
    QueryError,
    account_key,
    check_complete_query,
    completeness_part_json,
    pack_head,
)
from ledger.service.completeness import KeyClaims
from ledger.service.evidence import (
    AnchorChoice,
    Disclosed,
    choose_anchor,
    evidence_record,
    published_checkpoints,
)
from ledger.service.witness import cosigned_note_of
from ledger.store.anchors import Anchor, AnchorRepository, AnchorStatus
from ledger.store.exports import Filters, RunMap, count_matching, matching_entries
from ledger.store.index import IndexStore
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


def _newest_published(anchors: AnchorRepository, published: set[tuple[int, bytes]]) -> Anchor:
    """The newest confirmed anchor whose checkpoint is published: a complete pack's bound."""
    for anchor in reversed(anchors.anchors()):
        if anchor.status is AnchorStatus.CONFIRMED and (anchor.tree_size, anchor.root) in published:
            return choose_anchor(anchors, 1, anchor.tree_size, "the pack")
    raise NotPublishedError(
        "the complete pack is not yet published: no confirmed anchor has a checkpoint the"
        " log's witnesses cosigned to their quorum; ask again after the next witness round,"
        " or choose the anchor (latest or a tree size) to take its note as it is"
    )


def _filters(query: PackQuery) -> Filters:
    return Filters(query.account_ids, query.ts_from, query.ts_to, query.model, query.kind)


def build_pack(
    store: Store,
    anchors: AnchorRepository,
    query: PackQuery,
    *,
    anchor: AnchorChoice = "earliest",
    max_entries: int = MAX_PACK_ENTRIES,
    max_bytes: int = MAX_PACK_BYTES,
    complete: bool = False,
    disclosed: Disclosed = None,
    witnesses: WitnessPolicy | None = None,
) -> BuiltPack:
    """The pack of every anchored entry matching `query`, against the confirmed anchor
    `anchor` names: by default the earliest whose tree holds every matching entry of the
    newest confirmed anchor's tree; `latest` that newest one; a tree size that anchor's
    tree (and the matching entries in it).

    Raises NotAnchoredError (no deployment or no confirmed anchor), NotFoundError (no
    anchored entry matches), TooManyEntriesError (more than `max_entries` match, or the
    pack would be larger than `max_bytes`, the most a verifier reads) or
    InvalidRequestError (a chosen size that was not anchored and confirmed, a query a
    complete pack cannot prove, or a v1 record among those `disclosed` would open in part).

    With `complete`, the pack proves that no other entry of its accounts exists in the
    first S entries, S the chosen anchor's size (by default the newest confirmed: the
    claim reaches as far as the chain does); no matching entry is then an absence proof,
    not NotFoundError. With `disclosed`, each v2 record opens those fields and the ones
    the query selects on (`query_fields`). With the log's `witnesses`, the default anchor
    is one whose checkpoint is published (NotPublishedError when none is yet): for a
    complete pack, the newest of those.
    """
    if complete:
        try:
            check_complete_query(query)
        except QueryError as error:
            raise InvalidRequestError(f"complete: {error}") from None
    deployment = anchors.deployment()
    if deployment is None:
        raise NotAnchoredError(
            "this log records no LogAnchor deployment: nothing is anchored, so no evidence"
        )
    published = published_checkpoints(store, witnesses)
    if isinstance(anchor, int):
        bound = choose_anchor(anchors, 1, anchor, "the pack")
    elif complete and anchor == "earliest" and published is not None:
        bound = _newest_published(anchors, published)
    else:
        newest = anchors.latest_confirmed()
        if newest is None:
            raise NotAnchoredError("no anchor is confirmed yet: ask again once the log is anchored")
        bound = choose_anchor(anchors, newest.tree_size, "latest", "the pack")
    filters = _filters(query)
    with store.read() as conn:
        run_map = RunMap.load(store, conn, bound.tree_size)
        rows = matching_entries(conn, filters, run_map.seq_of(bound.tree_size - 1), max_entries + 1)
        if len(rows) > max_entries:
            raise TooManyEntriesError(
                f"the query matches more than {max_entries:,} anchored entries, the most one pack"
                " holds: narrow it (a shorter time range, fewer accounts, one model or kind)"
            )
        if not rows and not complete:
            unanchored = count_matching(conn, filters, run_map.seq_of(bound.tree_size - 1))
            raise NotFoundError(
                f"no entry in the anchored tree of size {bound.tree_size:,} matches the query"
                f" ({query.describe()})"
                + (
                    f"; {unanchored:,} newer matching entries are not anchored yet"
                    if unanchored
                    else ""
                )
            )
        indices = run_map.indices_of([seq for seq, _leaf, _record in rows])
        # The earliest anchor holding the last matching entry holds them all (anchors
        # grow); its block dates the pack as tightly as one checkpoint can.
        chosen = (
            choose_anchor(anchors, indices[-1] + 1, "earliest", "the pack", published)
            if anchor == "earliest" and not complete
            else bound
        )
        size = chosen.tree_size
        unanchored = count_matching(conn, filters, run_map.seq_of(size - 1))
        for (_seq, leaf, record), index in zip(rows, indices, strict=True):
            _check_record(record, leaf, index)
        ranges = multi_inclusion_ranges(indices, size) if indices else []
        tiles = store.tile_reader(conn)
        keys = sorted({key for a, b in ranges for key in range_keys(a, b)})
        for start in range(0, len(keys), PREFETCH_TILES):
            tiles.prefetch(keys[start : start + PREFETCH_TILES])
        proof = [range_hash(a, b, tiles) for a, b in ranges]
        stored_root = store.checkpoint_root(conn, size)
        part = (
            _completeness(
                store, conn, query, size, run_map.seq_of(size - 1), set(indices), disclosed
            )
            if complete
            else None
        )
    if stored_root is not None and stored_root != chosen.root:
        raise StoreError(
            f"the stored tree of size {size} has root {_hex(stored_root)},"
            f" but {_hex(chosen.root)} was anchored: the store is damaged"
        )
    assert chosen.tx_hash and chosen.block_hash  # checked by choose_anchor
    assert chosen.block_number is not None and chosen.block_timestamp is not None
    checkpoint = AnchoredCheckpoint(
        size,
        chosen.root,
        AnchorRef(
            chosen.tx_hash,
            chosen.block_number,
            chosen.block_hash,
            chosen.block_timestamp,
        ),
    )
    head = pack_head(
        deployment.chain_id,
        deployment.contract,
        deployment.log_id,
        checkpoint,
        query,
        cosigned_note_of(store, size, chosen.root),
    )
    # Whole records go in as their stored canonical bytes (valid JSON): no re-encoding.
    opening = json.dumps(head, separators=(",", ":")).encode()[:-1]
    records = [record for _s, _l, record in rows]
    if disclosed is not None:
        needed = query_fields(query)
        records = [
            json.dumps(evidence_record(record, disclosed, needed), separators=(",", ":")).encode()
            for record in records
        ]
    body = b",".join(
        b'{"leaf_index":%d,"record":%s}' % (index, record)
        for index, record in zip(indices, records, strict=True)
    )
    nodes = b",".join(b'"0x%s"' % node.hex().encode() for node in proof)
    document = opening + b',"entries":[' + body + b'],"proof":[' + nodes + b"]"
    if part is not None:
        document += (
            b',"completeness":'
            + json.dumps(
                completeness_part_json(part), separators=(",", ":"), ensure_ascii=False
            ).encode()
        )
    document += b"}"
    if len(document) > max_bytes:
        raise TooManyEntriesError(
            f"the pack of {len(rows):,} entries would be {len(document):,} bytes of JSON;"
            f" verifiers read at most {max_bytes:,}: narrow the query (a shorter time range,"
            " fewer accounts, one model or kind)"
        )
    return BuiltPack(document, len(rows), len(proof), size, unanchored)


def query_fields(query: PackQuery) -> tuple[str, ...]:
    """The body fields a pack's query selects on, which its disclosures must open so the
    verifier can check each entry matches: an account (account_id, or a licence's
    licensee) and a model (model, or a model record's model_id)."""
    fields: list[str] = []
    if query.account_ids is not None:
        fields += ["account_id", "licensee"]
    if query.model is not None:
        fields += ["model", "model_id"]
    return tuple(fields)


def _completeness(
    store: Store,
    conn: Connection,
    query: PackQuery,
    size: int,
    last_seq: int,
    included: set[int],
    disclosed: Disclosed = None,
) -> PackCompleteness:
    """Each account key's index proof at `size` over the whole log, and the key's
    entries not in the pack (`included`: the pack's leaf indices), disclosed as the
    pack's own (`disclosed`, with the fields the query selects on)."""
    assert query.account_ids is not None
    proven = KeyClaims(store, IndexStore(store), conn, size, last_seq)
    needed = query_fields(query)
    keys = []
    budget = MAX_PACK_ENTRIES
    for account in query.account_ids:
        key = account_key(account)
        postings = proven.postings("account", account)
        claim = proven.claim(key, [leaf for _, leaf in postings], 0, size)
        others = [(seq, leaf) for seq, leaf in postings if leaf not in included]
        budget -= len(others)
        if budget < 0:
            raise TooManyEntriesError(
                f"the accounts have more than {MAX_PACK_ENTRIES:,} entries outside the query,"
                " which a complete pack must show: ask for fewer accounts"
            )
        outside = tuple(
            BundleEntry(leaf, leaf_hash, record, tuple(proof))
            if isinstance(record, dict)
            else ErasedEntry(leaf, leaf_hash, record.at, record.by, tuple(proof), record.member)
            for leaf, leaf_hash, record, proof in proven.prove_erasures(
                proven.entries(
                    others, lambda canonical: evidence_record(canonical, disclosed, needed)
                )
            )
        )
        keys.append(
            KeyProof(key, claim.count, claim.postings_root, claim.map_proof, claim.window, outside)
        )
    return PackCompleteness(proven.index_root, 0, size, tuple(keys), proven.erasures())


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
