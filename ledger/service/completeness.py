"""Completeness evidence, service side: `model-ledger/completeness/v1` documents
(docs/completeness.md, docs/evidence-format.md) from the index tables, the entries and
the tiles, against a confirmed anchor.

The size S must be an anchored size (a confirmed anchor of exactly S; default the
newest); a window is given as leaf indices [A, B) with B <= S, or as two chain times,
each turned into the size of the newest anchor confirmed in a block no later than it
(none: 0). Read-only: nothing here writes to the store or talks to the chain.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from ledger.core.index import IndexProofError, PostingsClaim, build_claim, parse_key
from ledger.core.index.keys import KEY_FIELDS
from ledger.core.merkle import inclusion_ranges
from ledger.core.merkle.tiles import range_hash, range_keys
from ledger.errors import InvalidRequestError, NotAnchoredError
from ledger.formats.checkpoint import AnchoredCheckpoint, AnchorRef
from ledger.formats.completeness import completeness_json
from ledger.service.evidence import Disclosed, evidence_record
from ledger.service.index import NodesAt
from ledger.store.anchors import Anchor, AnchorRepository, AnchorStatus
from ledger.store.index import IndexStore
from ledger.store.repository import Store, StoreError

KeyEntry = tuple[int, bytes, dict[str, Any] | tuple[str, bytes], list[bytes]]
"""An entry of a key: leaf index, leaf hash, record (for an erased entry, when it was
erased and the leaf hash of the record that logged the erasure), inclusion proof."""

MAX_ENTRIES = 100_000
"""Most entries in one completeness document (the format's limit): ask for a window."""


@dataclass(frozen=True)
class Window:
    """Which part of the first S entries: leaf indices [from_size, to_size), or chain
    times [from_time, to_time) turned into anchored sizes; all None: the whole log."""

    from_size: int | None = None
    to_size: int | None = None
    from_time: str | None = None
    to_time: str | None = None


_EPOCH_SECONDS = re.compile(r"[0-9]{1,12}")
"""Seconds since the epoch as a window bound: ASCII digits only (Python's isdigit and
int() also read superscripts and other scripts' digits), at most 12 of them."""


def parse_time(value: str, name: str) -> int:
    """Seconds since the epoch of `value`: an integer, a date (2026-06-05, midnight UTC)
    or an RFC 3339 time (2026-06-05T12:00:00Z); InvalidRequestError otherwise."""
    text = value.strip()
    if _EPOCH_SECONDS.fullmatch(text):
        return int(text)
    try:
        if not text.isascii():
            raise ValueError(text)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(
            f"{name} {value!r:.80} is not a time: give seconds since the epoch, a date"
            " (2026-06-05) or an RFC 3339 time (2026-06-05T12:00:00Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def _confirmed(anchors: AnchorRepository) -> list[Anchor]:
    return [a for a in anchors.anchors() if a.status is AnchorStatus.CONFIRMED]


def _anchor_at(confirmed: list[Anchor], tree_size: int | None) -> Anchor:
    if not confirmed:
        raise NotAnchoredError("no anchor is confirmed yet: completeness needs an anchored size")
    if tree_size is None:
        return confirmed[-1]
    for anchor in confirmed:
        if anchor.tree_size == tree_size:
            return anchor
    sizes = ", ".join(str(a.tree_size) for a in confirmed[-5:])
    raise NotAnchoredError(
        f"tree size {tree_size} is not an anchored size (the newest confirmed: {sizes}):"
        " completeness is proven only at a size the chain holds"
    )


def _size_at(confirmed: list[Anchor], when: int) -> int:
    """The size of the newest anchor confirmed in a block no later than `when`."""
    sizes = [a.tree_size for a in confirmed if (a.block_timestamp or 0) <= when]
    return max(sizes, default=0)


def _bounds(confirmed: list[Anchor], size: int, window: Window) -> tuple[int, int]:
    by_size = window.from_size is not None or window.to_size is not None
    by_time = window.from_time is not None or window.to_time is not None
    if by_size and by_time:
        raise InvalidRequestError("give the window as sizes or as times, not both")
    if by_time:
        start = (
            0
            if window.from_time is None
            else _size_at(confirmed, parse_time(window.from_time, "from"))
        )
        end = (
            size
            if window.to_time is None
            else _size_at(confirmed, parse_time(window.to_time, "to"))
        )
        end = min(end, size)
        if start >= end:
            raise InvalidRequestError(
                f"the times give the anchored sizes [{start}, {end}): no entry was anchored"
                " between them (at or below the proven size)"
            )
        return start, end
    start = 0 if window.from_size is None else window.from_size
    end = size if window.to_size is None else window.to_size
    if not 0 <= start < end <= size:
        raise InvalidRequestError(
            f"the window [{start}, {end}) is not a non-empty part of the first {size} entries"
            " (the anchored size proven against)"
        )
    return start, end


class KeyClaims:
    """Index claims and their entries at one anchored size, read in one transaction
    (`conn`): for completeness documents and complete evidence packs."""

    def __init__(
        self, store: Store, index: IndexStore, conn: Connection, size: int, last_seq: int
    ) -> None:
        self.store = store
        self.index = index
        self.conn = conn
        self.size = size
        self.last_seq = last_seq
        stored_root = index.index_root(conn, size)
        if stored_root is None:
            raise NotAnchoredError(
                f"the checkpoint of size {size} was sealed before the log kept its index: no"
                " completeness proof at that size (ask for a newer anchored size)"
            )
        self.index_root = stored_root

    def postings(self, kind: str, value: str) -> list[tuple[int, int]]:
        """(seq, leaf index) of the key's entries in the first `size`, in leaf order."""
        return self.index.postings_with_seqs(self.conn, kind, value, self.last_seq)

    def claim(self, key: str, leaves: list[int], start: int, end: int) -> PostingsClaim:
        """The claim of `key` (whose whole postings up to the size are `leaves`) in
        [start, end), from the versioned map nodes; StoreError if they do not give the
        index root kept for the size."""
        claim = build_claim(
            NodesAt(self.index, self.conn, self.size), self.size, key, leaves, start, end
        )
        if claim.index_root != self.index_root:
            raise StoreError(
                f"the index nodes of size {self.size} give another root than the one kept: damaged"
            )
        return claim

    def entries(
        self, chosen: list[tuple[int, int]], record: Callable[[bytes], Any] = json.loads
    ) -> list[KeyEntry]:
        """(leaf index, leaf hash, record or erasure marker, inclusion proof at the size)
        of the entries `chosen` as (seq, leaf index); `record` makes the record of its
        stored bytes (a disclosure: `ledger.service.evidence.evidence_record`)."""
        records = self.index.records(self.conn, [seq for seq, _ in chosen])
        tiles = self.store.tile_reader(self.conn)
        ranges = {leaf: inclusion_ranges(leaf, self.size) for _, leaf in chosen}
        tiles.prefetch(key for rs in ranges.values() for a, b in rs for key in range_keys(a, b))
        out: list[KeyEntry] = []
        for seq, leaf in chosen:
            leaf_hash, canonical = records[seq]
            proof = [range_hash(a, b, tiles) for a, b in ranges[leaf]]
            opened = record(canonical) if isinstance(canonical, bytes) else canonical
            out.append((leaf, leaf_hash, opened, proof))
        return out


def build_completeness(
    store: Store,
    anchors: AnchorRepository,
    key: str,
    tree_size: int | None = None,
    window: Window = Window(),
    disclosed: Disclosed = None,
) -> dict[str, Any]:
    """The completeness document of `key` among the first `tree_size` entries (an
    anchored size; default the newest confirmed anchor), in `window`; with `disclosed`,
    each v2 record opens those fields and the key's own.

    Raises InvalidRequestError (a bad key, size or window), NotAnchoredError (no
    deployment, no confirmed anchor of that size, or a size sealed before the index)."""
    try:
        kind, value = parse_key(key)
    except IndexProofError as error:
        raise InvalidRequestError(error.message) from None
    deployment = anchors.deployment()
    if deployment is None:
        raise NotAnchoredError("this log records no LogAnchor deployment: nothing is anchored")
    confirmed = _confirmed(anchors)
    anchor = _anchor_at(confirmed, tree_size)
    size = anchor.tree_size
    start, end = _bounds(confirmed, size, window)
    if (
        anchor.tx_hash is None
        or anchor.block_number is None
        or anchor.block_hash is None
        or anchor.block_timestamp is None
    ):
        raise StoreError(f"confirmed anchor of tree size {size} has no block: store damaged")
    index = IndexStore(store)
    checkpoint = store.checkpoint(size)
    if checkpoint is None or checkpoint.root != anchor.root:
        raise StoreError(f"the anchored checkpoint of size {size} is not stored: store damaged")
    with store.read() as conn:
        proven = KeyClaims(store, index, conn, size, checkpoint.last_seq)
        postings = proven.postings(kind, value)
        leaves = [leaf for _, leaf in postings]
        inside = bisect_left(leaves, end) - bisect_left(leaves, start)
        if inside > MAX_ENTRIES:  # refused before any hashing
            raise InvalidRequestError(
                f"{key} has {inside} entries in [{start}, {end}); one document holds at"
                f" most {MAX_ENTRIES}: ask for a narrower window (--from-size/--to-size)"
            )
        claim = proven.claim(key, leaves, start, end)
        wanted = set(claim.leaf_indices)
        chosen = [(seq, leaf) for seq, leaf in postings if leaf in wanted]
        entries = proven.entries(
            chosen, lambda canonical: evidence_record(canonical, disclosed, (KEY_FIELDS[kind],))
        )
    return completeness_json(
        deployment.chain_id,
        deployment.contract,
        deployment.log_id,
        AnchoredCheckpoint(
            size,
            anchor.root,
            AnchorRef(
                anchor.tx_hash, anchor.block_number, anchor.block_hash, anchor.block_timestamp
            ),
        ),
        claim,
        entries,
    )
