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
import threading
import weakref
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from ledger.core.disclosure import MAX_DISCLOSURE_BYTES
from ledger.core.index import (
    STATEMENT_KEY,
    IndexProofError,
    PostingsClaim,
    build_claim,
    key_hash,
    parse_key,
    present_claim,
    prove,
    verify_postings,
)
from ledger.core.index.blocks import (
    BLOCK,
    block_roots,
    window_proof_blocks,
    window_proof_stored,
)
from ledger.core.index.keys import KEY_FIELDS
from ledger.core.index.postings import WindowProof
from ledger.core.merkle import inclusion_ranges
from ledger.core.merkle.batch import Packed, level_path, tree_levels
from ledger.core.merkle.tiles import node_location, range_hash, range_keys
from ledger.errors import InvalidRequestError, NotAnchoredError
from ledger.formats.checkpoint import AnchoredCheckpoint, AnchorRef
from ledger.formats.completeness import (
    MAX_COMPLETENESS_BYTES,
    ErasureMarker,
    ErasureProof,
    FiledProof,
    Member,
    completeness_json,
)
from ledger.formats.statement import erasure_member, statement_salt
from ledger.service.evidence import Disclosed, evidence_record
from ledger.service.index import NodesAt
from ledger.store.anchors import Anchor, AnchorRepository, AnchorStatus
from ledger.store.erasure import ErasureStore
from ledger.store.index import KEY_COLUMNS, IndexStore
from ledger.store.repository import Store, StoreError, TileCache

KeyEntry = tuple[int, bytes, dict[str, Any] | ErasureMarker, list[bytes]]
"""An entry of a key: leaf index, leaf hash, record (for an erased entry its marker:
when it was erased, the leaf hash of the record that logged the erasure, and its
membership proof when `KeyClaims.prove_erasures` could make one), inclusion proof."""

K = TypeVar("K")
V = TypeVar("V")

MAX_ENTRIES = 100_000
"""Most entries in one completeness document (the format's limit): ask for a window."""

ENTRY_JSON_BOUND = 6 * MAX_DISCLOSURE_BYTES + 8 * 1024
"""More bytes than any entry of a document takes as JSON (its record with every
character escaped, its inclusion proof, its fields): documents with fewer entries than
MAX_COMPLETENESS_BYTES // ENTRY_JSON_BOUND need no measuring."""

MIN_BLOCKED = 4 * BLOCK
"""Keys with fewer postings at the size are proven by the full path (cheap enough)."""

MAX_BLOCKED_POSTINGS = 16_000_000
"""Most postings the block cache holds, over all keys (8 bytes each, ~128 MB): the
least recently used keys are dropped past it; a key larger than this is proven by the
full path, O(its postings), every time."""


@dataclass
class _KeyBlocks:
    """A key's postings (leaf indices, in order) up to entry seq `last_seq`, and the
    roots of its complete blocks of BLOCK postings."""

    leaves: array[int]
    roots: list[bytes]
    last_seq: int


class _PerStore(Generic[K, V]):
    """A process-wide cache of values by store (weakly: a closed store's go with it) and
    key, in least recently used order, its size bounded by `limit` (of what the
    subclass counts), safe across threads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._stores: weakref.WeakKeyDictionary[Store, OrderedDict[K, V]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._stores = weakref.WeakKeyDictionary()


class PostingsBlocks(_PerStore[str, _KeyBlocks]):
    """Process-wide cache of keys' postings and block roots, for windowed proofs
    (ledger.core.index.blocks): the first windowed proof of a key reads and hashes its
    postings once, O(n); later ones read only the postings sequenced since and hash
    O(window + BLOCK log n + n / BLOCK). Postings only grow (a key's list at a size is a
    prefix of its list at any larger size), so a cached list serves every size up to the
    one it was read at, and is extended for larger ones. Every proof made from it is
    checked against the postings root the map holds at the size; a mismatch drops the
    key and the proof is made by the full path."""

    def __init__(self, limit: int = MAX_BLOCKED_POSTINGS, stored: bool = True) -> None:
        super().__init__(limit)
        self.stored = stored
        """Prove from the blocks the seal stored (`index_blocks`) first."""
        self.served_stored = 0
        """Proofs made from stored blocks and served (for tests and benchmarks)."""

    def held(self) -> int:
        """Postings held, over all stores and keys."""
        with self._lock:
            return sum(len(k.leaves) for keys in self._stores.values() for k in keys.values())

    def drop(self, store: Store, key: str) -> None:
        with self._lock:
            self._stores.get(store, OrderedDict()).pop(key, None)

    def postings(
        self, claims: KeyClaims, key: str, kind: str, value: str, count: int
    ) -> _KeyBlocks | None:
        """The key's cached postings, read up to the size of `claims` (at least `count`
        of them: the map's count at that size); None if the key is too large to keep."""
        if count > self.limit:
            return None
        with self._lock:
            cached = self._stores.setdefault(claims.store, OrderedDict()).pop(key, None)
        # Read and hash outside the lock: a key being extended is out of the cache
        # meanwhile (a request for it then reads its own), so no proof of another key
        # waits on this one's reading.
        if cached is None or cached.last_seq < claims.last_seq and len(cached.leaves) < count:
            first = 0 if cached is None else cached.last_seq + 1
            found = claims.index.postings_with_seqs(
                claims.conn, kind, value, claims.last_seq, first
            )
            if cached is None:
                cached = _KeyBlocks(array("Q"), [], -1)
            cached.leaves.extend(leaf for _, leaf in found)
            cached.roots.extend(block_roots(cached.leaves, len(cached.roots)))
            cached.last_seq = claims.last_seq
        with self._lock:
            keys = self._stores.setdefault(claims.store, OrderedDict())
            other = keys.pop(key, None)
            if other is not None and other.last_seq > cached.last_seq:
                cached = other  # another request read further meanwhile
            keys[key] = cached
            total = sum(len(k.leaves) for ks in self._stores.values() for k in ks.values())
            while total > self.limit and keys:
                _, dropped = keys.popitem(last=False)
                total -= len(dropped.leaves)
            return cached if keys.get(key) is cached else None


POSTINGS_BLOCKS = PostingsBlocks()
"""The block cache of this process (`build_completeness` uses it for windows)."""


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


MAX_ERASURE_MEMBERS = 1_000_000
"""Most erased entries, over all erasures, whose trees `ERASURE_TREES` keeps (about 72
bytes each: the leaf index and two packed hashes, ~72 MB): the least recently used
erasures are dropped past it."""


@dataclass(frozen=True)
class ErasureTree:
    """The list a logged erasure's ``leaves_root`` commits to: the erased leaf indices,
    increasing, and the tree's levels (leaves first), packed."""

    leaves: array[int]
    levels: tuple[Packed, ...]

    def member(self, leaf_index: int) -> Member:
        """The membership proof of the erased entry at `leaf_index`."""
        position = bisect_left(self.leaves, leaf_index)
        if position == len(self.leaves) or self.leaves[position] != leaf_index:
            raise StoreError(f"leaf {leaf_index} is marked erased by an erasure not listing it")
        return Member(position, tuple(level_path(self.levels, position)))


class ErasureTrees(_PerStore[bytes, ErasureTree]):
    """Process-wide cache of erasures' trees, by the leaf hash of their digest record: an
    erasure's list never changes once made (an entry is erased once), so its tree is
    read and hashed once per process, not per document; bounded by `limit` members."""

    def __init__(self, limit: int = MAX_ERASURE_MEMBERS) -> None:
        super().__init__(limit)

    def tree(self, store: Store, by: bytes, build: Callable[[], ErasureTree]) -> ErasureTree:
        """The tree of the erasure `by` of `store`, from `build` when not kept."""
        with self._lock:
            trees = self._stores.setdefault(store, OrderedDict())
            kept = trees.pop(by, None)
            if kept is not None:
                trees[by] = kept
                return kept
        made = build()  # outside the lock: a large erasure does not hold up the others
        with self._lock:
            trees = self._stores.setdefault(store, OrderedDict())
            trees[by] = made
            total = sum(len(t.leaves) for ts in self._stores.values() for t in ts.values())
            while total > self.limit and len(trees) > 1:
                _, dropped = trees.popitem(last=False)
                total -= len(dropped.leaves)
        return made


ERASURE_TREES = ErasureTrees()
"""The erasure tree cache of this process (`KeyClaims` uses it)."""


@dataclass(frozen=True)
class _Erasure:
    """A logged erasure as `KeyClaims` proves its markers: its proof for the document
    and its tree."""

    proof: ErasureProof
    tree: ErasureTree

    def member(self, leaf_index: int) -> Member:
        return self.tree.member(leaf_index)


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
        self._erasures: dict[bytes, _Erasure | None] = {}
        self._statements: list[int] | None = None
        """Leaf indices of ``statement:log`` at the size (read once, for `_filed`)."""
        self.trees = ERASURE_TREES

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

    def window_claim(
        self, key: str, kind: str, value: str, start: int, end: int, blocks: PostingsBlocks
    ) -> tuple[PostingsClaim, list[tuple[int, int]]] | None:
        """The claim of `key` in the window [start, end) and its entries as (seq, leaf
        index), made from the block cache; None when the key is small or too large for
        it, or its cached postings do not give the map's postings root (then dropped):
        the caller takes the full path."""
        nodes = NodesAt(self.index, self.conn, self.size)
        k = key_hash(key)
        leaf, proof = prove(nodes, k)
        if leaf is None or leaf.count < MIN_BLOCKED:
            return None
        if blocks.stored:
            stored = self._stored_window(key, kind, value, leaf.count, start, end)
            if stored is not None:
                inside, window = stored
                claim = present_claim(
                    key, self.size, self.index_root, leaf, proof, start, end, inside, window
                )
                try:
                    verify_postings(claim)
                except IndexProofError:
                    pass  # a stored block is wrong: the cached postings prove it
                else:
                    blocks.served_stored += 1
                    return claim, self._chosen(inside)
        cached = blocks.postings(self, key, kind, value, leaf.count)
        if cached is None or len(cached.leaves) < leaf.count:
            return None
        leaves, count = cached.leaves, leaf.count
        # refused before any hashing
        _check_entries(
            key,
            bisect_left(leaves, end, 0, count) - bisect_left(leaves, start, 0, count),
            start,
            end,
        )
        inside, window = window_proof_blocks(cached.leaves, leaf.count, cached.roots, start, end)
        claim = present_claim(
            key, self.size, self.index_root, leaf, proof, start, end, inside, window
        )
        try:
            verify_postings(claim)
        except IndexProofError:
            blocks.drop(self.store, key)
            return None
        return claim, self._chosen(inside)

    def _chosen(self, inside: list[int]) -> list[tuple[int, int]]:
        return list(zip(self.index.seqs_of_leaves(self.conn, inside), inside, strict=True))

    def _stored_window(
        self, key: str, kind: str, value: str, count: int, start: int, end: int
    ) -> tuple[list[int], WindowProof] | None:
        """The postings of `key` (of `count` at the size) in [start, end) and their window
        proof, from the blocks the seal stored, reading only the postings of the blocks
        the proof needs; None when not all its complete blocks are stored, or the
        postings read do not fit them, and for `statement:log`, whose postings come from
        the statements table rather than an entries column a block could be read by."""
        if kind not in KEY_COLUMNS:
            return None
        lasts, roots = self.index.blocks(self.conn, key, count // BLOCK)
        if len(roots) < count // BLOCK:
            return None

        try:
            reader = self.index.block_postings(self.conn, kind, value, self.last_seq)
            return window_proof_stored(
                count,
                roots,
                lasts,
                reader.between,
                start,
                end,
                lambda inside: _check_entries(key, inside, start, end),
            )
        except (ValueError, StoreError):
            return None

    def _inclusion(self, tiles: TileCache, leaves: list[int]) -> dict[int, list[bytes]]:
        """The inclusion proof at the size of each leaf index of `leaves`. The leaves'
        paths share their upper ranges (a thousand leaves of a log of millions share
        about half of them): each distinct range is hashed once."""
        ranges = {leaf: inclusion_ranges(leaf, self.size) for leaf in leaves}
        distinct = {r for rs in ranges.values() for r in rs}
        # Most ranges are one complete aligned subtree: one node of one tile, found
        # without range_nodes/fold_nodes (which give the same for them).
        nodes = {
            (a, b): node_location((b - a).bit_length() - 1, a // (b - a))
            for a, b in distinct
            if (b - a) & (b - a - 1) == 0 and a % (b - a) == 0
        }
        edges = distinct - nodes.keys()
        tiles.prefetch(
            {key for key, _, _ in nodes.values()}
            | {key for a, b in edges for key in range_keys(a, b)}
        )
        hashes = {r: tiles(key).node(first, last) for r, (key, first, last) in nodes.items()}
        hashes.update({(a, b): range_hash(a, b, tiles) for a, b in edges})
        return {leaf: [hashes[r] for r in rs] for leaf, rs in ranges.items()}

    def _tiles(self) -> TileCache:
        """A tile reader for proofs in the tree of the size: a partial tile the shared
        cache holds serves it too when it is wide enough for that tree."""
        return self.store.tile_reader(self.conn, self.size)

    def _erasure(self, by: bytes) -> _Erasure | None:
        """The erasure logged by the digest record `by`, ready to prove its markers at the
        size: None when it cannot be (its record is not within the size, or its
        statement has no ``leaves_root`` or its record not the salt of the log's statement
        records, as those logged before each was added)."""
        erasures = ErasureStore(self.store)
        kept = erasures.statement(self.conn, by)
        found = self.store.find_entry(self.conn, by)
        if kept is None or found is None or kept[0] != "erasure":
            raise StoreError(f"erasure record 0x{by.hex()} or its statement is not stored")
        statement = json.loads(kept[1])
        if found.leaf_index is None or found.leaf_index >= self.size:
            return None
        record = json.loads(found.record)
        if "leaves_root" not in statement or record.get("salt") != statement_salt(
            record["body"]["sha256"]
        ):
            return None

        def build() -> ErasureTree:
            listed = erasures.erased_list(self.conn, by)
            indices = self.index.leaves_of_seqs(self.conn, [seq for seq, _ in listed])
            members = [
                erasure_member(i, leaf) for i, (_, leaf) in zip(indices, listed, strict=True)
            ]
            levels = tree_levels(members or [b""])
            if len(members) != statement["count"] or levels[-1][0].hex() != statement.get(
                "leaves_root"
            ):
                raise StoreError(
                    f"the entries erased by record 0x{by.hex()} are not those its statement"
                    " commits to: damaged"
                )
            return ErasureTree(array("Q", indices), tuple(Packed(level) for level in levels))

        proof = self._inclusion(self._tiles(), [found.leaf_index])
        return _Erasure(
            ErasureProof(
                found.leaf_index,
                record,
                statement,
                tuple(proof[found.leaf_index]),
                self._filed(found.leaf_index),
            ),
            self.trees.tree(self.store, by, build),
        )

    def _filed(self, leaf_index: int) -> FiledProof:
        """The index proof that the statement record at `leaf_index` is filed under
        ``statement:log`` at the size (the window [leaf_index, leaf_index + 1))."""
        if self._statements is None:
            kind, value = parse_key(STATEMENT_KEY)
            self._statements = [leaf for _, leaf in self.postings(kind, value)]
        claim = self.claim(STATEMENT_KEY, self._statements, leaf_index, leaf_index + 1)
        if (
            claim.leaf_indices != (leaf_index,)
            or claim.postings_root is None
            or claim.window is None
        ):
            raise StoreError(
                f"the statement record at leaf {leaf_index} is not filed under {STATEMENT_KEY}"
                " in the index: damaged"
            )
        return FiledProof(claim.count, claim.postings_root, claim.map_proof, claim.window)

    def prove_erasures(self, entries: list[KeyEntry]) -> list[KeyEntry]:
        """`entries` with each erased entry's marker proven where its erasure can prove
        it (`_erasure`); `erasures` then gives the erasures the proofs need."""
        known = self._erasures
        out: list[KeyEntry] = []
        for leaf, leaf_hash, record, proof in entries:
            if isinstance(record, ErasureMarker):
                if record.by not in known:
                    known[record.by] = self._erasure(record.by)
                erasure = known[record.by]
                if erasure is not None:
                    record = record._replace(member=erasure.member(leaf))
            out.append((leaf, leaf_hash, record, proof))
        return out

    def erasures(self) -> tuple[ErasureProof, ...]:
        """The erasures `prove_erasures` proved markers with, in leaf index order."""
        used = [erasure.proof for erasure in self._erasures.values() if erasure is not None]
        return tuple(sorted(used, key=lambda proof: proof.leaf_index))

    def entries(
        self, chosen: list[tuple[int, int]], record: Callable[[bytes], Any] = json.loads
    ) -> list[KeyEntry]:
        """(leaf index, leaf hash, record or erasure marker, inclusion proof at the size)
        of the entries `chosen` as (seq, leaf index); `record` makes the record of its
        stored bytes (a disclosure: `ledger.service.evidence.evidence_record`)."""
        records = self.index.records(self.conn, [seq for seq, _ in chosen])
        proofs = self._inclusion(self._tiles(), [leaf for _, leaf in chosen])
        out: list[KeyEntry] = []
        for seq, leaf in chosen:
            leaf_hash, canonical = records[seq]
            opened = (
                record(canonical) if isinstance(canonical, bytes) else ErasureMarker(*canonical)
            )
            out.append((leaf, leaf_hash, opened, proofs[leaf]))
        return out


def build_completeness(
    store: Store,
    anchors: AnchorRepository,
    key: str,
    tree_size: int | None = None,
    window: Window = Window(),
    disclosed: Disclosed = None,
    blocks: PostingsBlocks | None = POSTINGS_BLOCKS,
) -> dict[str, Any]:
    """The completeness document of `key` among the first `tree_size` entries (an
    anchored size; default the newest confirmed anchor), in `window`; with `disclosed`,
    each v2 record opens those fields and the key's own. A window that is not the whole
    log is proven from `blocks` (None: read and hash every posting of the key, the
    full path; the documents are the same).

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
    opens = (KEY_FIELDS[kind],) if kind in KEY_FIELDS else ()  # statement: a v1 record
    with store.read() as conn:
        proven = KeyClaims(store, index, conn, size, checkpoint.last_seq)
        fast = None
        if blocks is not None and (start, end) != (0, size):
            fast = proven.window_claim(key, kind, value, start, end, blocks)
        if fast is not None:
            claim, chosen = fast
        else:
            postings = proven.postings(kind, value)
            leaves = [leaf for _, leaf in postings]
            # refused before any hashing
            _check_entries(key, bisect_left(leaves, end) - bisect_left(leaves, start), start, end)
            claim = proven.claim(key, leaves, start, end)
            wanted = set(claim.leaf_indices)
            chosen = [(seq, leaf) for seq, leaf in postings if leaf in wanted]
        entries = proven.prove_erasures(
            proven.entries(
                chosen,
                lambda canonical: evidence_record(canonical, disclosed, opens),
            )
        )
        erasures = proven.erasures()
    document = completeness_json(
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
        erasures,
    )
    _check_size(key, start, end, document, len(entries))
    return document


def _check_entries(key: str, inside: int, start: int, end: int) -> None:
    if inside > MAX_ENTRIES:
        raise InvalidRequestError(
            f"{key} has {inside} entries in [{start}, {end}); one document holds at"
            f" most {MAX_ENTRIES}: ask for a narrower window (--from-size/--to-size)"
        )


def _check_size(key: str, start: int, end: int, document: dict[str, Any], entries: int) -> None:
    """Refuse a document larger than the verifiers read (MAX_COMPLETENESS_BYTES), as
    JSON with every non-ASCII character escaped (its largest form, which `mledger
    evidence` writes): they would refuse it unread."""
    if (entries + 1) * ENTRY_JSON_BOUND <= MAX_COMPLETENESS_BYTES:
        return
    size = len(json.dumps(document, separators=(",", ":")))
    if size > MAX_COMPLETENESS_BYTES:
        raise InvalidRequestError(
            f"the completeness proof of {key} in [{start}, {end}) would be {size:,} bytes of"
            f" JSON; verifiers read at most {MAX_COMPLETENESS_BYTES:,}: ask for a narrower"
            " window (--from-size/--to-size)"
        )
