"""A full audit of the log from an export and the chain, trusting neither the operator's
database nor its code paths.

Pure: imports only the frozen modules (`ledger.core.merkle`, `ledger.core.records`), the public
formats (`ledger.formats`), the export line format (`ledger.formats.export_line`) and, for the
chain, JSON-RPC reads (`AuditChain`, which `ledger.verify.rpc.JsonRpcReader` provides). No
store, API or web3.

What it proves, in the order the work runs:

1. **The chain's anchors form one history, of the pinned log.** The node serves the
   pinned chain; the code at the pinned LogAnchor address is the runtime code this
   package ships; the log exists there with the pinned log key (so every anchor was
   signed by it). Every `Anchored(logId, size, root, prevSize)` event of the log from
   the deployment block on is read (eth_getLogs, in block chunks) with the contract's
   own root at each size (`rootAt`) and the header of each event's block (its time):
   sizes strictly increase, each event's prevSize is the size before it (0 for the
   first), the contract holds the same root, the block is on the chain, and the newest
   event is the contract's latest. The contract accepted each root only with a
   consistency proof from the one before. A retired log is audited up to the size its
   admin still trusts.
2. **The export is the log.** Lines carry leaf indices 0, 1, 2, ... with no gap,
   duplicate or reordering. Each record is a valid v1 record in canonical form
   (RFC 8785), and its leaf hash is recomputed from it. An erased entry's line carries
   its leaf hash and an erasure marker instead (docs/privacy.md); its leaf hash enters
   the tree as given (the roots still vouch for it). A digest record that logs a
   statement carries it, and its ``sha256`` must be the statement's. Every marker must
   name a digest record of the export that logs an erasure statement, made at the
   marker's time and sequenced after the entry; and each erasure statement's count and
   ``leaves_sha256`` (and, when it gives one, ``leaves_root``, which binds each leaf
   index too) must be those of the export's lines marked erased by it, in leaf
   index order (`ledger.formats.statement`): an entry marked erased that no logged
   erasure covers, or an erased entry shown, fails check ``erasure``. An erasure whose
   record lies between a legal hold's record and its lift's (or after a hold never
   lifted) must not have erased a line filed under the key hash the hold names: check
   ``hold``.
3. **Every anchored root is re-derived.** Leaf hashes are folded into a compact range
   (the right edge of the tree: one hash per set bit of the size, O(log n) memory)
   and the root at every anchored size is compared with the chain's. Since every
   anchored root is rebuilt from the same leaves, consecutive anchors are consistent
   by construction.
4. **Every anchored index root is re-derived** (docs/completeness.md). Each record's
   index keys are filed in leaf order into an `IndexBuilder` by their hashes (an erased
   entry's line carries its keys' hashes, which no record vouches for), and R(S) at
   every anchored size whose index root is not zero (anchors sealed before the log kept
   its index carry none) is compared with the one the log key signed and LogAnchor
   emitted. A mismatch where the roots matched means the log key signed a false index,
   or an erased entry's line names other keys than its entry was filed under.

The first problem stops the audit and is reported with where it is: the line and leaf
index (a bad record, a missing, duplicated or moved line), or the anchor whose root
differs and the range of leaves that holds the alteration (those after the previous
anchor, whose root matched).

Files of more than PARALLEL_THRESHOLD bytes are checked by worker processes, a chunk
of about CHUNK_BYTES each, in file order. A worker whose lines all pass and hold the
leaf indices their line numbers give also hashes them into the subtrees the tree takes
and into their index filing, cut at the anchored sizes (`aligned_blocks`, `_postings`):
the main process folds those in and checks the chunks follow each other. Plain
interaction lines (`_PLAIN_LINE`, the bulk of a log) are read by one pattern that gives
exactly what the line parser and the record model give; every other line is read by them.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import multiprocessing
import os
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any, Protocol

from ledger.core.errors import LedgerError
from ledger.core.index import STATEMENT_KEY, IndexBuilder, entry_keys, key_hash
from ledger.core.index.postings import Frontier, postings_leaves
from ledger.core.merkle import EMPTY_ROOT, hash_children, root_hash
from ledger.core.records import (
    MAX_ID_LENGTH,
    MAX_SAFE_INTEGER,
    TS_PATTERN,
    RecordError,
    validate_canonical,
)
from ledger.formats.abi import contract as shipped_contract
from ledger.formats.eip712 import NO_INDEX_ROOT
from ledger.formats.export_line import (
    ERASED_PREFIX,
    MAX_INDEX_DIGITS,
    MAX_LINE_BYTES,
    ExportLineError,
    parse_erased_line,
    parse_logged_line,
)
from ledger.formats.identity import LogIdentity
from ledger.formats.producer import producer
from ledger.formats.statement import (
    ERASURE_TYPE,
    HOLD_TYPE,
    LIFT_TYPE,
    erasure_member,
    statement_record,
)
from ledger.verify.rpc import Block, ContractCallError, EventLog, LogInfo

CHUNK_BYTES = 1 << 20
"""About how much of the export one worker task checks (cut at a line end)."""

PARALLEL_THRESHOLD = 4 << 20
"""Exports smaller than this are checked in-process (no worker start-up)."""

IN_FLIGHT_PER_WORKER = 4
"""Chunks queued or checked ahead of the tree, per worker: memory stays flat."""


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


# -- the chain --------------------------------------------------------------------------


class AuditChain(Protocol):
    """The chain reads of an audit (`ledger.verify.rpc.JsonRpcReader` has them). Each raises
    `ledger.verify.rpc.ChainUnreadableError` when the chain cannot be read."""

    where: str

    def chain_id(self) -> int:
        """The node's chain id."""

    def code(self, address: bytes) -> bytes:
        """The code at `address`."""

    def block_number(self) -> int:
        """The latest block's number."""

    def log_info(self, log_anchor: bytes, log_id: bytes) -> LogInfo:
        """LogAnchor.logInfo(logId); ContractCallError if there is no such log."""

    def logs(
        self, address: bytes, topics: list[bytes], from_block: int, to_block: int
    ) -> list[EventLog]:
        """eth_getLogs, removed logs left out."""

    def roots_at(self, log_anchor: bytes, log_id: bytes, sizes: list[int]) -> list[bytes | None]:
        """LogAnchor.rootAt(logId, size) for each size (None: nothing there)."""

    def blocks(self, numbers: list[int]) -> list[Block | None]:
        """The headers of blocks `numbers` (None: no such block)."""


@dataclass(frozen=True)
class AnchorRecord:
    """One anchor of the log as the chain has it: the event, the contract's root and the
    block header's time."""

    number: int
    """1 for the log's first anchor, 2 for the next, ..."""
    size: int
    root: bytes
    prev_size: int
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    timestamp: int
    index_root: bytes = NO_INDEX_ROOT
    """The index root R(S) the log key signed with this checkpoint (zero: none)."""

    def name(self) -> str:
        """How messages name it."""
        return f"anchor #{self.number} (tree size {self.size:,}, block {self.block_number})"

    def as_json(self) -> dict[str, Any]:
        """As printed in JSON output and reports."""
        return {
            "number": self.number,
            "tree_size": self.size,
            "root": _hex(self.root),
            "prev_size": self.prev_size,
            "block_number": self.block_number,
            "block_hash": _hex(self.block_hash),
            "tx_hash": _hex(self.tx_hash),
            "block_timestamp": self.timestamp,
            "index_root": _hex(self.index_root),
        }


class AuditError(LedgerError):
    """The audit found a problem, or could not start; `check` names what failed."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message


@dataclass(frozen=True)
class ChainAnchors:
    """The log's anchors (oldest first) and what the contract says of the log."""

    anchors: list[AnchorRecord]
    info: LogInfo
    ignored: int = 0
    """Anchors after the trusted size of a retired log: not audited."""


def _check_log(chain: AuditChain, identity: LogIdentity) -> LogInfo:
    """The pinned chain, contract code and log key (AuditError otherwise)."""
    chain_id = chain.chain_id()
    if chain_id != identity.chain_id:
        raise AuditError(
            "chain id",
            f"the node at {chain.where} serves chain id {chain_id};"
            f" the pinned log is on chain id {identity.chain_id}",
        )
    contract = identity.log_anchor
    code = chain.code(contract)
    if code != shipped_contract("LogAnchor").runtime_code:
        found = "no contract" if not code else "code that is not the LogAnchor model-ledger ships"
        raise AuditError(
            "contract", f"{found} at {_hex(contract)} on chain id {chain_id} ({chain.where})"
        )
    try:
        info = chain.log_info(contract, identity.log_id)
    except ContractCallError as error:
        raise AuditError(
            "log",
            f"the LogAnchor at {_hex(contract)} knows no log {_hex(identity.log_id)} ({error})",
        ) from None
    if info.signer != identity.log_signer:
        raise AuditError(
            "log",
            f"log {_hex(identity.log_id)} is anchored with log key"
            f" {_hex(info.signer)}, but the pinned identity names"
            f" {_hex(identity.log_signer)}: the identity document is not this log's",
        )
    return info


def read_anchors(
    chain: AuditChain, identity: LogIdentity, *, from_block: int | None = None
) -> ChainAnchors:
    """Every anchor of the pinned log, oldest first, checked to form one history (see the
    module's step 1). Raises AuditError ("chain id", "contract", "log" or "anchors")
    naming the anchor at fault."""
    info = _check_log(chain, identity)
    contract, log_id = identity.log_anchor, identity.log_id
    start = identity.deployment_block if from_block is None else from_block
    head = chain.block_number()
    topic = shipped_contract("LogAnchor").event_topic("Anchored")
    events = sorted(
        chain.logs(contract, [topic, log_id], start, head),
        key=lambda log: (log.block_number, log.log_index),
    )
    for log in events:
        if len(log.topics) != 3 or len(log.data) != 96:
            raise AuditError(
                "anchors", f"an Anchored event of block {log.block_number} is malformed"
            )
    sizes = [int.from_bytes(log.topics[2], "big") for log in events]
    roots = chain.roots_at(contract, log_id, sizes)
    headers = chain.blocks(sorted({log.block_number for log in events}))
    by_number = {block.number: block for block in headers if block is not None}
    anchors: list[AnchorRecord] = []
    previous = 0
    ignored = 0
    for number, (log, size, held) in enumerate(zip(events, sizes, roots, strict=True), 1):
        root, prev_size = log.data[:32], int.from_bytes(log.data[64:96], "big")
        block = by_number.get(log.block_number)
        anchor = AnchorRecord(
            number,
            size,
            root,
            prev_size,
            log.block_number,
            log.block_hash,
            log.tx_hash,
            0 if block is None else block.timestamp,
            log.data[32:64],
        )
        if size <= previous:
            raise AuditError(
                "anchors",
                f"{anchor.name()} does not grow the log: the anchor"
                f" before it has size {previous:,}",
            )
        if prev_size != previous:
            raise AuditError(
                "anchors",
                f"{anchor.name()} extends tree size {prev_size:,}, but the anchor before it has"
                f" size {previous:,} (an Anchored event is missing: try a lower --from-block)",
            )
        if held is None or held != root:
            shown = "no anchor" if held is None else f"root {_hex(held)}"
            raise AuditError(
                "anchors",
                f"{anchor.name()}: the event says root {_hex(root)}; the contract holds {shown}",
            )
        if block is None or block.hash != log.block_hash:
            raise AuditError(
                "anchors",
                f"{anchor.name()}: block {log.block_number} is not on"
                " the chain any more (reorganised)",
            )
        previous = size
        if info.retired and size > info.trusted_size:
            ignored += 1
            continue
        anchors.append(anchor)
    if info.latest_size != previous:
        raise AuditError(
            "anchors",
            f"the contract's latest anchor has tree size {info.latest_size:,}, but the Anchored"
            f" events from block {start} end at size {previous:,} (try a lower --from-block)",
        )
    return ChainAnchors(anchors, info, ignored)


# -- the tree ---------------------------------------------------------------------------


class CompactRange:
    """The right edge of a growing RFC 9162 tree: the roots of its complete subtrees,
    largest (leftmost) first, one per set bit of the size. Memory O(log n)."""

    __slots__ = ("hashes", "heights", "size")

    def __init__(self) -> None:
        self.size = 0
        self.hashes: list[bytes] = []
        self.heights: list[int] = []

    def _push(self, node: bytes, height: int) -> None:
        hashes, heights = self.hashes, self.heights
        while heights and heights[-1] == height:
            node = hash_children(hashes.pop(), node)
            heights.pop()
            height += 1
        hashes.append(node)
        heights.append(height)

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Append leaf hashes. Runs of leaves that fill an aligned subtree are hashed as
        one block, bottom up."""
        self.add_blocks(aligned_blocks(self.size, leaves))

    def add_blocks(self, blocks: Sequence[tuple[int, bytes]]) -> None:
        """Append complete subtrees, each (height, root) as `aligned_blocks` gives them
        for leaves from this range's size on (ValueError if one is not aligned there)."""
        for height, node in blocks:
            if self.size & ((1 << height) - 1):
                raise ValueError(f"a subtree of height {height} cannot start at {self.size}")
            self._push(node, height)
            self.size += 1 << height

    def root(self) -> bytes:
        """MTH of the leaves so far (EMPTY_ROOT for none)."""
        if not self.hashes:
            return EMPTY_ROOT
        folded = self.hashes[-1]
        for node in reversed(self.hashes[:-1]):
            folded = hash_children(node, folded)
        return folded


def aligned_blocks(
    start: int, leaves: Sequence[bytes], cuts: Sequence[int] = ()
) -> list[tuple[int, bytes]]:
    """The leaves at positions start, start + 1, ... as the complete subtrees a compact
    range from `start` on takes them: (height, root) of each, left to right, each the
    largest aligned block that fits (limited by its position's lowest set bit), none
    crossing a position in `cuts` (increasing), so a range fed with them passes every cut.
    What a worker hashes for the tree of the export; `CompactRange.add_blocks` takes
    them."""
    blocks: list[tuple[int, bytes]] = []
    position, count = 0, len(leaves)
    ends = [cut - start for cut in cuts if start < cut < start + count] + [count]
    for end in ends:
        while position < end:
            at = start + position
            height = (end - position).bit_length() - 1
            if at:
                height = min(height, (at & -at).bit_length() - 1)
            block = 1 << height
            node = (
                leaves[position] if block == 1 else root_hash(leaves[position : position + block])
            )
            blocks.append((height, node))
            position += block
    return blocks


# -- the export -------------------------------------------------------------------------


Job = tuple[str, int, int, int, bool, tuple[int, ...]]
"""(path, first line number, start offset, end offset, whether to give index keys, the
anchored sizes among its lines) of one chunk."""

Postings = list[tuple[int, dict[bytes, list[bytes]]]]
"""A chunk's index filing, cut at anchored sizes: (entries, key hash -> the postings
leaves of those entries filed under it, in leaf order) of each run of entries."""


@dataclass
class ChunkResult:
    """What a worker found in one chunk: leaf indices and hashes of the lines up to
    the first bad one, record statistics, and that bad line if any."""

    first_line: int
    indices: Sequence[int]
    """The lines' leaf indices (a range when `blocks` is given)."""
    hashes: list[bytes]
    kinds: dict[str, int]
    first_ts: str | None
    last_ts: str | None
    failure: tuple[int, int | None, str, str] | None = None
    """(line, leaf index if known, check, message)."""
    erased_by: dict[bytes, tuple[int, int]] = field(default_factory=dict)
    """Leaf hash of an erasure's digest record -> (entries it erased here, first line)."""
    digests: set[bytes] = field(default_factory=set)
    """Leaf hashes of the digest records here."""
    keys: list[list[bytes]] | None = None
    """Each line's index key hashes (`ledger.core.index.key_hash` of each of
    `entry_keys`, or those an erased entry's line carries), when asked for."""
    first_erased: int | None = None
    """Leaf index of the first erased entry's line here."""
    erased_leaves: dict[bytes, bytes] = field(default_factory=dict)
    """Erasure record -> the leaf hashes of the lines here it erased, concatenated in
    order."""
    erased_ats: dict[bytes, dict[str, int]] = field(default_factory=dict)
    """Erasure record -> each erasure time its markers here give -> the first line."""
    erased_last: dict[bytes, tuple[int, int]] = field(default_factory=dict)
    """Erasure record -> (leaf index, line) of the last line here it erased."""
    claims: dict[bytes, Claim] = field(default_factory=dict)
    """Digest record -> the erasure statement it logs, for those here."""
    statements: int = 0
    """Digest records here that carry a statement (checked against it)."""
    erased_keys: dict[bytes, list[tuple[int, int, tuple[bytes, ...]]]] = field(default_factory=dict)
    """Erasure record -> (line, leaf index, key hashes) of each line here it erased."""
    holds: list[Hold] = field(default_factory=list)
    """The legal holds logged here."""
    lifts: dict[str, list[int]] = field(default_factory=dict)
    """Hold id -> leaf indices of the records logging its lifts here, in order."""
    erased_members: dict[bytes, list[bytes]] = field(default_factory=dict)
    """Erasure record -> `erasure_member` of each line here it erased, in order (for its
    statement's ``leaves_root``)."""
    blocks: list[tuple[int, bytes]] | None = None
    """When the chunk's lines all passed and hold leaf indices first_line - 1, first_line,
    ... (`indices` is then a range): their leaf hashes as `aligned_blocks` (cut at the
    anchored sizes), instead of `hashes`, so the tree's hashing is done in the workers."""
    postings: Postings | None = None
    """With `blocks`, when keys were asked for: the lines' index filing, instead of
    `keys`."""


HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Hold:
    """What a logged legal hold statement says: no later erasure may take what it holds
    until a logged lift (None `key_hash`: a hold logged before holds named their key)."""

    leaf_index: int
    line: int
    hold_id: str
    key_hash: bytes | None


@dataclass(frozen=True)
class Claim:
    """What a logged erasure statement says: checked against the export's markers."""

    leaf_index: int
    line: int
    count: int
    leaves_sha256: bytes
    ts: str
    leaves_root: bytes | None = None
    """None: a statement logged before erasure statements gave it."""


def _hold(value: dict[str, Any], leaf_index: int, line: int) -> Hold:
    """The hold a hold statement states; ExportLineError without its fields."""
    hold_id, key = value.get("hold"), value.get("key_sha256", None)
    if not isinstance(hold_id, str) or not (
        key is None or (isinstance(key, str) and len(key) == 64 and not key.strip(HEX))
    ):
        raise ExportLineError(
            "the legal hold statement must give hold (its id) and key_sha256 (64 lowercase hex)"
        )
    return Hold(leaf_index, line, hold_id, None if key is None else bytes.fromhex(key))


def _lift(value: dict[str, Any]) -> str:
    """The id of the hold a lift statement lifts; ExportLineError without it."""
    hold_id = value.get("hold")
    if not isinstance(hold_id, str):
        raise ExportLineError("the legal hold lift statement must give hold (the hold's id)")
    return hold_id


def _claim(value: dict[str, Any], leaf_index: int, line: int) -> Claim:
    """The erasure an erasure statement states; ExportLineError without its fields."""
    count, leaves, ts = value.get("count"), value.get("leaves_sha256"), value.get("ts")
    if (
        type(count) is not int
        or count < 1
        or not isinstance(leaves, str)
        or len(leaves) != 64
        or leaves.strip(HEX)
        or not isinstance(ts, str)
    ):
        raise ExportLineError(
            "the erasure statement must give count (a positive integer), leaves_sha256"
            " (64 lowercase hex) and ts"
        )
    root = value.get("leaves_root")
    if root is not None and (
        not isinstance(root, str) or len(root) != 64 or root.strip("0123456789abcdef")
    ):
        raise ExportLineError("the erasure statement's leaves_root must be 64 lowercase hex")
    return Claim(
        leaf_index,
        line,
        count,
        bytes.fromhex(leaves),
        ts,
        None if root is None else bytes.fromhex(root),
    )


_KEY_HASHES: dict[str, bytes] = {}
"""`key_hash` of the key strings met (an account's key recurs on each of its entries)."""

_KEY_HASHES_KEPT = 1 << 17
"""At most this many kept (about 20 MB): beyond, the cache starts again."""


def _key_hashes(keys: list[str]) -> list[bytes]:
    """`key_hash` of each key, from the cache where it can."""
    found = []
    for key in keys:
        hashed = _KEY_HASHES.get(key)
        if hashed is None:
            if len(_KEY_HASHES) >= _KEY_HASHES_KEPT:
                _KEY_HASHES.clear()
            hashed = _KEY_HASHES[key] = key_hash(key)
        found.append(hashed)
    return found


_IDENT = rb'"([A-Za-z0-9_.:-]{1,%d})"' % MAX_ID_LENGTH
_COUNT = rb"(0|[1-9][0-9]{0,15})"
_PLAIN_LINE = re.compile(
    rb'\{"leaf_index":(0|[1-9][0-9]{0,%d}),"record":(' % (MAX_INDEX_DIGITS - 1)
    + rb'\{"body":\{"account_id":'
    + _IDENT
    + rb',"input_tokens":'
    + _COUNT
    + rb',"model":'
    + _IDENT
    + rb',"output_tokens":'
    + _COUNT
    + rb',"prompt_sha256":"[0-9a-f]{64}","request_id":'
    + _IDENT
    + rb',"response_sha256":"[0-9a-f]{64}"\},"kind":"interaction","salt":"[0-9a-f]{32}"'
    + rb',"ts":"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:)([0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z)"'
    + rb',"v":1\})\}'
)
"""An export line, as `export_line` writes it, of a v1 interaction record with no
optional body field, whose ids are 1 to MAX_ID_LENGTH of A-Z a-z 0-9 _ . : - and whose
counts are written without leading zeros, laid out as RFC 8785 writes it. Its record,
when its time is a real `TS_PATTERN` time and its counts are at most MAX_SAFE_INTEGER,
is a valid record in canonical form: every field the model requires, each within its
constraints, no other, and the model writes it as the same bytes (no character of it is
escaped). The time's minutes, seconds and milliseconds are checked here, as TS_PATTERN
checks them; its date and hour by `_hour`."""

_TIME = re.compile(TS_PATTERN)

_HOURS: dict[bytes, bool] = {}
"""Whether each date and hour met ("2026-06-01T05:") begins a TS_PATTERN time."""


def _hour(head: bytes) -> bool:
    """Whether `head` + MM:SS.mmmZ is a TS_PATTERN time (for any MM:SS.mmmZ of
    `_PLAIN_LINE`: the pattern checks the date and hour apart from them)."""
    valid = _HOURS.get(head)
    if valid is None:
        if len(_HOURS) >= 1 << 16:
            _HOURS.clear()
        valid = _HOURS[head] = _TIME.fullmatch(head.decode() + "00:00.000Z") is not None
    return valid


def _plain_line(line: bytes) -> tuple[int, bytes, str, str, str, str] | None:
    """(leaf index, leaf hash, ts, request_id, account_id, model) of an export line
    `_PLAIN_LINE` describes (the bulk of a log), read without the record model: what
    `parse_logged_line` and `validate_canonical` give of it. None for any other line,
    which they check (and name the fault of)."""
    found = _PLAIN_LINE.fullmatch(line)
    if found is None:
        return None
    digits, record, account, tokens_in, model, tokens_out, request, head, tail = found.groups()
    if int(tokens_in) > MAX_SAFE_INTEGER or int(tokens_out) > MAX_SAFE_INTEGER or not _hour(head):
        return None
    return (
        int(digits),
        hashlib.sha256(b"\x00" + record).digest(),
        (head + tail).decode(),
        request.decode(),
        account.decode(),
        model.decode(),
    )


_INTERACTION_KEYS: dict[tuple[str, str], list[bytes]] = {}
"""(account_id, model) -> the key hashes an interaction of them is filed under."""


def _interaction_keys(account: str, model: str) -> list[bytes]:
    """`key_hash` of each of `entry_keys` of an interaction of `account` and `model`."""
    found = _INTERACTION_KEYS.get((account, model))
    if found is None:
        if len(_INTERACTION_KEYS) >= _KEY_HASHES_KEPT:
            _INTERACTION_KEYS.clear()
        found = _INTERACTION_KEYS[account, model] = _key_hashes(
            entry_keys("interaction", None, account, model)
        )
    return found


def check_lines(
    lines: Sequence[bytes],
    first_line: int,
    with_keys: bool = False,
    cuts: Sequence[int] | None = None,
) -> ChunkResult:
    """Parse and check export lines: each is an export line whose record is a valid,
    canonical v1 record, whose leaf hash is computed, or an erased entry's line, whose
    leaf hash is taken as given (and, `with_keys`, each line's index key hashes: computed
    from the record, or as an erased entry's line gives them).

    With `cuts` (the anchored sizes among these lines), when every line passed and they
    hold leaf indices first_line - 1, first_line, ... in order (as lines of a whole
    export do), the result gives the leaf hashes as subtree roots (`blocks`) and the
    keys as the index filing (`postings`): the same checks, their hashing done here."""
    indices: list[int] = []
    erased_by: dict[bytes, tuple[int, int]] = {}
    digests: set[bytes] = set()
    hashes: list[bytes] = []
    kinds: Counter[str] = Counter()
    first_ts: str | None = None
    last_ts: str | None = None
    failure: tuple[int, int | None, str, str] | None = None
    keys: list[list[bytes]] | None = [] if with_keys else None
    first_erased: int | None = None
    erased_leaves: dict[bytes, list[bytes]] = {}
    members: dict[bytes, list[bytes]] = {}
    erased_ats: dict[bytes, dict[str, int]] = {}
    erased_last: dict[bytes, tuple[int, int]] = {}
    claims: dict[bytes, Claim] = {}
    statements = 0
    erased_keys: dict[bytes, list[tuple[int, int, tuple[bytes, ...]]]] = {}
    holds: list[Hold] = []
    lifts: dict[str, list[int]] = {}
    interactions = 0
    for offset, line in enumerate(lines):
        if line.endswith(b"\r"):
            line = line[:-1]
        plain = _plain_line(line)
        if plain is not None:  # what the lines below find of it, found at once
            at, leaf, ts, _, account, model = plain
            indices.append(at)
            hashes.append(leaf)
            if keys is not None:
                keys.append(_interaction_keys(account, model))
            interactions += 1
            if first_ts is None or ts < first_ts:
                first_ts = ts
            if last_ts is None or ts > last_ts:
                last_ts = ts
            continue
        index: int | None = None
        try:
            if not line or line.isspace():  # what `not line.strip()` says, with no copy
                raise ExportLineError("empty line (one entry per line)")
            if line.startswith(ERASED_PREFIX):
                index, erased = parse_erased_line(line)
                if STATEMENT_HASH in erased.key_hashes:
                    failure = (first_line + offset, index, "statement", ERASED_STATEMENT)
                    break
                indices.append(index)
                hashes.append(erased.leaf_hash)
                if keys is not None:
                    keys.append(list(erased.key_hashes))
                if first_erased is None:
                    first_erased = index
                by = erased.erased_by
                count, first = erased_by.get(by, (0, first_line + offset))
                erased_by[by] = (count + 1, first)
                erased_leaves.setdefault(by, []).append(erased.leaf_hash)
                members.setdefault(by, []).append(erasure_member(index, erased.leaf_hash))
                erased_ats.setdefault(by, {}).setdefault(erased.erased_at, first_line + offset)
                erased_last[by] = (index, first_line + offset)
                erased_keys.setdefault(by, []).append(
                    (first_line + offset, index, tuple(erased.key_hashes))
                )
                continue
            index, record, statement = parse_logged_line(line)
            entry = validate_canonical(record)
            if statement is None and statement_record(
                entry.kind, entry.external_id, entry.canonical
            ):
                failure = (first_line + offset, index, "statement", WITHHELD)
                break
            if statement is not None:
                if entry.kind != "digest" or entry.external_id != sha256_hex(statement):
                    failure = (
                        first_line + offset,
                        index,
                        "statement",
                        NOT_LOGGED,
                    )
                    break
                statements += 1
                value = json.loads(statement)
                kind = value.get("type")
                if kind == ERASURE_TYPE:  # the first logging counts (see _Erasures.add)
                    claim = _claim(value, index, first_line + offset)
                    claims.setdefault(entry.leaf_hash, claim)
                elif kind == HOLD_TYPE:
                    holds.append(_hold(value, index, first_line + offset))
                elif kind == LIFT_TYPE:
                    lifts.setdefault(_lift(value), []).append(index)
        except ExportLineError as error:
            failure = (first_line + offset, index, "line", str(error))
            break
        except RecordError as error:
            failure = (
                first_line + offset,
                index,
                "record",
                f"not a valid v1 or v2 record in canonical form: {error}",
            )
            break
        indices.append(index)
        hashes.append(entry.leaf_hash)
        if keys is not None:
            keys.append(
                _key_hashes(
                    entry_keys(
                        entry.kind,
                        entry.external_id,
                        entry.account_id,
                        entry.model,
                        entry.canonical,
                    )
                )
            )
        kinds[entry.kind] += 1
        if entry.kind == "digest":
            digests.add(entry.leaf_hash)
        if first_ts is None or entry.ts < first_ts:
            first_ts = entry.ts
        if last_ts is None or entry.ts > last_ts:
            last_ts = entry.ts
    if interactions:
        kinds["interaction"] += interactions
    count = len(indices)
    first = first_line - 1
    blocks = postings = None
    if (
        cuts is not None
        and failure is None
        and count
        and indices[0] == first
        and indices[-1] == first + count - 1
        and indices == list(range(first, first + count))
    ):
        blocks = aligned_blocks(first, hashes, cuts)
        postings = None if keys is None else _postings(first, keys, cuts)
        hashes, keys = [], None
    return ChunkResult(
        first_line,
        indices if blocks is None else range(first, first + count),
        hashes,
        dict(kinds),
        first_ts,
        last_ts,
        failure,
        erased_by,
        digests,
        keys,
        first_erased,
        {by: b"".join(leaves) for by, leaves in erased_leaves.items()},
        erased_ats,
        erased_last,
        claims,
        statements,
        erased_keys,
        holds,
        lifts,
        members,
        blocks,
        postings,
    )


def _postings(first: int, keys: list[list[bytes]], cuts: Sequence[int]) -> Postings:
    """The index filing of entries first, first + 1, ... under `keys` (each entry's key
    hashes), cut at `cuts`: what `IndexBuilder.add_hashed` of each entry in turn files."""
    leaves = postings_leaves(first, len(keys))
    found: Postings = []
    position = 0
    ends = [cut - first for cut in cuts if first < cut < first + len(keys)] + [len(keys)]
    for end in ends:
        filed: dict[bytes, list[bytes]] = {}
        for offset in range(position, end):
            leaf = leaves[offset]
            for key in keys[offset]:
                mine = filed.get(key)
                if mine is None:
                    filed[key] = [leaf]
                else:
                    mine.append(leaf)
        found.append((end - position, filed))
        position = end
    return found


WITHHELD = (
    "the record is one of the log's own statement records (a digest record whose salt is"
    " derived from its sha256: an erasure, a legal hold or a lift), but the line carries"
    " no statement: the export withholds a statement the log logged"
)

ERASED_STATEMENT = (
    "the line is an erased entry filed under statement:log, the index key of the log's own"
    " statement records (erasures, legal holds, lifts): a statement record is never erased,"
    " and an erased one hides from the audit what it stated (a forged erasure erased by a"
    " second one)"
)

STATEMENT_HASH = key_hash(STATEMENT_KEY)
"""The index key hash an erased statement record's line would carry (`ERASED_STATEMENT`)."""

NOT_LOGGED = (
    "the line carries a statement, but its record is not the digest record of it (a digest"
    " record whose sha256 is SHA-256 of the statement's bytes): the statement is not the one"
    " the log logged"
)


def sha256_hex(data: bytes) -> str:
    """SHA-256 of `data`, 64 lowercase hex (a digest record's sha256)."""
    return hashlib.sha256(data).hexdigest()


def _check_chunk(job: Job) -> ChunkResult:
    path, first_line, start, end, with_keys, cuts = job
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return check_lines(lines, first_line, with_keys, cuts)


def _jobs(
    path: Path, digest: Any, with_keys: bool, sizes: Sequence[int] = ()
) -> Iterator[tuple[Job, int]]:
    """Cut the file at line ends into jobs (and their byte sizes), hashing it as it goes;
    each job is given the sizes of `sizes` (increasing) that fall among its lines."""
    name = str(path)

    def among(line: int, lines: int) -> tuple[int, ...]:
        low = bisect.bisect_right(sizes, line - 1)
        return tuple(sizes[low : bisect.bisect_left(sizes, line - 1 + lines, low)])

    with path.open("rb") as handle:
        start, line, carry = 0, 1, b""
        while True:
            block = handle.read(CHUNK_BYTES)
            if not block:
                break
            digest.update(block)
            data = carry + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if len(data) > MAX_LINE_BYTES:
                    # No line is this long: check what the line must fit in (it fails there)
                    # rather than hold and copy a line as long as the file.
                    yield (name, line, start, start + MAX_LINE_BYTES + 1, with_keys, ()), len(data)
                    return
                carry = data
                continue
            end = start + cut
            lines = data.count(b"\n", 0, cut)
            yield (name, line, start, end, with_keys, among(line, lines)), cut
            line += lines
            start, carry = end, data[cut:]
        if carry:
            yield (name, line, start, start + len(carry), with_keys, ()), len(carry)


def _chunk_results(
    path: Path, digest: Any, workers: int, with_keys: bool, sizes: Sequence[int] = ()
) -> Iterator[tuple[ChunkResult, int]]:
    """Checked chunks of the export in file order, with their byte sizes (`sizes`: the
    anchored sizes, where the workers cut their subtrees and index filing)."""
    if workers < 1 or path.stat().st_size < PARALLEL_THRESHOLD:
        for job, size in _jobs(path, digest, with_keys, sizes):
            yield _check_chunk(job), size
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        in_flight: deque[tuple[AsyncResult[ChunkResult], int]] = deque()
        for job, size in _jobs(path, digest, with_keys, sizes):
            in_flight.append((pool.apply_async(_check_chunk, (job,)), size))
            if len(in_flight) >= IN_FLIGHT_PER_WORKER * workers:
                result, done = in_flight.popleft()
                yield result.get(), done
        while in_flight:
            result, done = in_flight.popleft()
            yield result.get(), done


# -- the audit --------------------------------------------------------------------------


NOTHING_PROVEN = "nothing proven"
"""The check that fails when no anchored root covers the export (a new log, or a log
retired at trusted size 0): no alteration was found, but nothing is proven either."""


@dataclass(frozen=True)
class AuditFailure:
    """The first problem found, and where: a line and leaf index, or an anchor and the
    range of leaf indices [start, end) that holds the alteration."""

    check: str
    message: str
    line: int | None = None
    leaf_index: int | None = None
    anchor: AnchorRecord | None = None
    index_range: tuple[int, int] | None = None

    def as_json(self) -> dict[str, Any]:
        """As printed in JSON output."""
        return {
            "check": self.check,
            "message": self.message,
            "line": self.line,
            "leaf_index": self.leaf_index,
            "anchor": None if self.anchor is None else self.anchor.as_json(),
            "index_range": None if self.index_range is None else list(self.index_range),
        }


@dataclass
class AuditResult:
    """What an audit checked and found."""

    identity: LogIdentity
    rpc_url: str
    export: str
    export_bytes: int = 0
    export_sha256: bytes = b""
    entries: int = 0
    """Lines checked and in order (all of them when the audit passed)."""
    anchors: list[AnchorRecord] = field(default_factory=list)
    retired: LogInfo | None = None
    """What the contract says of a retired log (None: not retired)."""
    ignored_anchors: int = 0
    """Anchors after a retired log's trusted size: not audited."""
    roots_matched: int = 0
    """Anchors whose root was re-derived from the export and matched."""
    index_roots_matched: int = 0
    """Anchors whose (non-zero) index root was re-derived from the export and matched."""
    kinds: dict[str, int] = field(default_factory=dict)
    """Records per kind (erased entries have no record: they are counted in `erased`)."""
    erased: int = 0
    """Erased entries: leaf hash and erasure marker, no record."""
    erasures: int = 0
    """Erasure records (digest records) the erased entries name."""
    unanchored_erasures: int = 0
    """Of those, the ones after the newest anchor: logged in the export, but no anchored
    root vouches for them yet (the operator could still rewrite them)."""
    statements: int = 0
    """Digest records that carry their statement (erasure, hold, lift), each checked."""
    holds: int = 0
    """Legal holds logged that name their key: every later erasure checked against them."""
    keyless_holds: int = 0
    """Legal holds logged without ``key_sha256`` (as before holds named their key): no
    erasure can be checked against them, so the audit says how many."""
    first_ts: str | None = None
    last_ts: str | None = None
    failure: AuditFailure | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """No problem found and at least one anchored root matched: the export is the
        whole anchored log."""
        return self.failure is None

    @property
    def anchored_size(self) -> int:
        """The newest anchor's tree size (0: none)."""
        return self.anchors[-1].size if self.anchors else 0

    def as_json(self) -> dict[str, Any]:
        """The result as one JSON document."""
        first = self.anchors[0] if self.anchors else None
        last = self.anchors[-1] if self.anchors else None
        return {
            "passed": self.passed,
            "producer": producer(),
            "export": self.export,
            "export_bytes": self.export_bytes,
            "export_sha256": _hex(self.export_sha256) if self.export_sha256 else None,
            "log": self.identity.as_json(),
            "chain_id": self.identity.chain_id,
            "rpc_url": self.rpc_url,
            "contract": _hex(self.identity.log_anchor),
            "log_id": _hex(self.identity.log_id),
            "retired": None
            if self.retired is None
            else {
                "trusted_size": self.retired.trusted_size,
                "ignored_anchors": self.ignored_anchors,
            },
            "entries": self.entries,
            "anchored_entries": self.anchored_size,
            "unanchored_entries": max(0, self.entries - self.anchored_size)
            if self.passed
            else None,
            "anchors": len(self.anchors),
            "roots_matched": self.roots_matched,
            "index_roots_matched": self.index_roots_matched,
            "first_anchor": None if first is None else first.as_json(),
            "last_anchor": None if last is None else last.as_json(),
            "kinds": self.kinds,
            "erased_entries": self.erased,
            "erasure_records": self.erasures,
            "unanchored_erasure_records": self.unanchored_erasures,
            "statements": self.statements,
            "legal_holds": self.holds,
            "legal_holds_without_key": self.keyless_holds,
            "first_record_ts": self.first_ts,
            "last_record_ts": self.last_ts,
            "seconds": round(self.seconds, 3),
            "failure": None if self.failure is None else self.failure.as_json(),
            "anchor_list": [anchor.as_json() for anchor in self.anchors],
        }


class _Sequence:
    """Checks leaf indices run 0, 1, 2, ... and feeds leaves to the tree, comparing the
    root at every anchored size."""

    def __init__(self, result: AuditResult) -> None:
        self.result = result
        self.tree = CompactRange()
        self.pending = deque(result.anchors)
        self.previous_size = 0
        self.index_until = max(
            (a.size for a in result.anchors if a.index_root != NO_INDEX_ROOT), default=0
        )
        """Entries up to the newest anchor that signed an index root are indexed."""
        self.index = IndexBuilder() if self.index_until else None
        self.first_erased: int | None = None
        """Leaf index of the export's first erased entry, once seen."""

    def add(self, chunk: ChunkResult) -> AuditFailure | None:
        indices, hashes = chunk.indices, chunk.hashes
        if self.first_erased is None:
            self.first_erased = chunk.first_erased
        expected = self.tree.size
        count = len(indices)
        keys = chunk.keys or []
        if count and (
            indices[0] != expected
            or indices[-1] != expected + count - 1
            or (type(indices) is not range and indices != list(range(expected, expected + count)))
        ):
            position = next(p for p, index in enumerate(indices) if index != expected + p)
            failure = self._feed(hashes[:position], keys[:position])
            return failure or self._order_failure(chunk, position)
        if chunk.blocks is not None:
            return self._feed_blocks(chunk.blocks, chunk.postings)
        return self._feed(hashes, keys)

    def _feed_blocks(
        self, blocks: list[tuple[int, bytes]], postings: Postings | None
    ) -> AuditFailure | None:
        """`_feed` of a chunk whose worker hashed its subtrees and its index filing."""
        filing = deque(postings or ())
        filed = self.tree.size
        for height, node in blocks:
            self.tree.add_blocks(((height, node),))
            if self.pending and self.tree.size == self.pending[0].size:
                filed = self._file(filing, filed, self.tree.size)
                failure = self._compare(self.pending.popleft())
                if failure is not None:
                    return failure
        self._file(filing, filed, self.tree.size)
        self.result.entries = self.tree.size
        return None

    def _file(
        self, filing: deque[tuple[int, dict[bytes, list[bytes]]]], filed: int, size: int
    ) -> int:
        """File in the index the runs of `filing` (the first starts at leaf index
        `filed`) that end by `size`, those below the newest anchor that signed an index
        root; where the next run starts."""
        while filing and filed + filing[0][0] <= size:
            count, keys = filing.popleft()
            if self.index is not None and filed < self.index_until:
                self.index.add_hashed_batch(count, keys)
            filed += count
        return filed

    def _order_failure(self, chunk: ChunkResult, position: int) -> AuditFailure:
        want = self.tree.size
        got = chunk.indices[position]
        line = chunk.first_line + position
        if want == 0 and position == 0 and got > 0:
            return AuditFailure(
                "sequence",
                f"line {line} holds leaf index {got}: an audit needs the export from leaf index 0",
                line,
                0,
            )
        if got < want:
            # Every index below `want` was seen, in order: index k on the line k before this one's.
            seen_on = line - (want - got)
            what = "a duplicated line" if got == want - 1 else "a duplicated or moved line"
            return AuditFailure(
                "sequence",
                f"line {line} holds leaf index {got} again (already on"
                f" line {seen_on}), after leaf index {want - 1}: {what}",
                line,
                got,
            )
        later = [p for p in range(position + 1, len(chunk.indices)) if chunk.indices[p] == want]
        if later:
            where = f"it is on line {chunk.first_line + later[0]}: a moved line"
        else:
            where = "it was deleted or moved"
        return AuditFailure(
            "sequence",
            f"leaf index {want} is missing from line {line}, which holds leaf index {got}; {where}",
            line,
            want,
        )

    def _feed(self, hashes: list[bytes], keys: list[list[bytes]]) -> AuditFailure | None:
        position = 0
        while position < len(hashes):
            if self.pending:
                room = self.pending[0].size - self.tree.size
                take = min(room, len(hashes) - position)
            else:
                take = len(hashes) - position
            if self.index is not None and self.tree.size < self.index_until:
                add = self.index.add_hashed
                for offset, key_hashes in enumerate(keys[position : position + take]):
                    add(self.tree.size + offset, key_hashes)
            self.tree.extend(hashes[position : position + take])
            position += take
            if self.pending and self.tree.size == self.pending[0].size:
                failure = self._compare(self.pending.popleft())
                if failure is not None:
                    return failure
        self.result.entries = self.tree.size
        return None

    def _compare(self, anchor: AnchorRecord) -> AuditFailure | None:
        computed = self.tree.root()
        self.result.entries = self.tree.size
        if computed != anchor.root:
            start = self.previous_size
            return AuditFailure(
                "root",
                f"the export's first {anchor.size:,} entries have root {_hex(computed)},"
                f" but {anchor.name()} holds {_hex(anchor.root)}: an entry among leaf"
                f" indices {start:,} to {anchor.size - 1:,} was altered"
                + (
                    " (the roots of the anchors before it match)"
                    if start
                    else " (it is the first anchor)"
                ),
                anchor=anchor,
                index_range=(start, anchor.size),
            )
        self.result.roots_matched += 1
        self.previous_size = anchor.size
        if self.index is not None and anchor.index_root != NO_INDEX_ROOT:
            computed = self.index.seal()
            if computed != anchor.index_root:
                erased = self.first_erased is not None and self.first_erased < anchor.size
                return AuditFailure(
                    "index root",
                    f"the index of the export's first {anchor.size:,} entries has root"
                    f" {_hex(computed)}, but the log key signed index root"
                    f" {_hex(anchor.index_root)} with {anchor.name()}: the entries match"
                    " the anchored root, so the signed index is false (an entry filed under"
                    " the wrong key or left out of its key's list)"
                    + (
                        ", or an erased entry's line carries other key hashes than its"
                        " entry was filed under (its leaf hash cannot vouch for them; the"
                        f" first is at leaf index {self.first_erased:,})"
                        if erased
                        else ""
                    ),
                    anchor=anchor,
                    index_range=(0, anchor.size),
                )
            self.result.index_roots_matched += 1
        return None

    def finish(self) -> AuditFailure | None:
        if self.pending:
            anchor = self.pending[0]
            size = self.tree.size
            return AuditFailure(
                "export end",
                f"the export ends after {size:,} entries, but {anchor.name()} covers"
                f" {anchor.size:,}: leaf indices {size:,} to"
                f" {self.result.anchored_size - 1:,} are missing (a truncated export)",
                leaf_index=size,
                anchor=anchor,
                index_range=(size, self.result.anchored_size),
            )
        return None


@dataclass
class _Spans:
    """The holds of one key in leaf order: their starts, and for each prefix the hold
    whose span reaches furthest and where it ends."""

    starts: list[int] = field(default_factory=list)
    furthest: list[tuple[int, Hold]] = field(default_factory=list)

    def add(self, hold: Hold, end: int) -> None:
        self.starts.append(hold.leaf_index)
        if self.furthest and self.furthest[-1][0] >= end:
            self.furthest.append(self.furthest[-1])
        else:
            self.furthest.append((end, hold))


def _holding(spans: _Spans | None, at: int) -> tuple[Hold, int] | None:
    """A hold of `spans` in force at leaf index `at` (logged before it, lifted after it)
    and its end, or None: one binary search, however many holds name the key."""
    if spans is None:
        return None
    before = bisect.bisect_left(spans.starts, at)
    if not before:
        return None
    end, hold = spans.furthest[before - 1]
    return (hold, end) if end > at else None


@dataclass
class _Erasures:
    """The export's erasure markers and erasure statements, gathered chunk by chunk in
    file order."""

    erased_by: dict[bytes, tuple[int, int]] = field(default_factory=dict)
    digests: set[bytes] = field(default_factory=set)
    hashers: dict[bytes, Any] = field(default_factory=dict)
    ats: dict[bytes, dict[str, int]] = field(default_factory=dict)
    last: dict[bytes, tuple[int, int]] = field(default_factory=dict)
    claims: dict[bytes, Claim] = field(default_factory=dict)
    statements: int = 0
    erased_keys: dict[bytes, list[tuple[int, int, tuple[bytes, ...]]]] = field(default_factory=dict)
    holds: list[Hold] = field(default_factory=list)
    lifts: dict[str, list[int]] = field(default_factory=dict)
    trees: dict[bytes, Frontier] = field(default_factory=dict)
    """Erasure record -> the right edge of the tree of its members so far."""

    def add(self, chunk: ChunkResult) -> None:
        self.digests |= chunk.digests
        for by, members in chunk.erased_members.items():
            self.trees[by] = self.trees.get(by, Frontier()).extend_leaves(members)
        for by, (count, line) in chunk.erased_by.items():
            seen, first = self.erased_by.get(by, (0, line))
            self.erased_by[by] = (seen + count, first)
        for by, leaves in chunk.erased_leaves.items():
            self.hashers.setdefault(by, hashlib.sha256()).update(leaves)
        for by, ats in chunk.erased_ats.items():
            known = self.ats.setdefault(by, {})
            for at, line in ats.items():
                known.setdefault(at, line)
        self.last.update(chunk.erased_last)
        # The same erasure record logged again later (an operator's log may repeat a
        # leaf) does not move the erasure: it erased only entries before its first line.
        for by, claim in chunk.claims.items():
            self.claims.setdefault(by, claim)
        self.statements += chunk.statements
        for by, lines in chunk.erased_keys.items():
            self.erased_keys.setdefault(by, []).extend(lines)
        self.holds += chunk.holds
        for hold_id, indices in chunk.lifts.items():
            self.lifts.setdefault(hold_id, []).extend(indices)

    def check(self) -> AuditFailure | None:
        """The first marker that no logged erasure covers, the first erasure statement
        the export's markers disagree with, or the first erased entry a logged legal hold
        held when it was erased (by line)."""
        failures = [self._marker(by, line) for by, (_, line) in self.erased_by.items()]
        failures += [self._claim(by, claim) for by, claim in self.claims.items()]
        found = [failure for failure in failures if failure is not None]
        return min(found, key=lambda failure: failure.line or 0, default=None) or self._held()

    def _held(self) -> AuditFailure | None:
        """The first erased entry (by line) filed under a key that a hold logged before
        its erasure's record, and not lifted before it, held."""
        spans = self._spans()
        found: AuditFailure | None = None
        for by, lines in self.erased_keys.items() if spans else ():
            erased_at = self.claims[by].leaf_index  # check() found every marker's claim
            held_keys: dict[bytes, tuple[Hold, int] | None] = {}
            for line, index, keys in lines:  # in file order
                if found is not None and found.line is not None and line >= found.line:
                    break
                held = None
                for key in keys:
                    if key not in held_keys:
                        held_keys[key] = _holding(spans.get(key), erased_at)
                    held = held or held_keys[key]
                if held:
                    hold, end = held
                    until = f"lifted at leaf index {end:,}" if end < 1 << 64 else "not lifted"
                    found = AuditFailure(
                        "hold",
                        f"line {line}: the entry at leaf index {index:,} was erased by record"
                        f" {_hex(by)} (leaf index {erased_at:,}) while legal hold"
                        f" {hold.hold_id} (logged at leaf index {hold.leaf_index:,}, line"
                        f" {hold.line}, {until}) held its key: an erasure must leave held"
                        " entries",
                        line,
                        index,
                    )
        return found

    def _spans(self) -> dict[bytes, _Spans]:
        """Key hash -> the spans its holds are in force, from each hold's record to the
        first lift of its id logged after it (a lift before it, as of another hold of the
        same id, does not lift it): each looked up in log time, not per hold."""
        spans: dict[bytes, _Spans] = {}
        for hold in self.holds:  # in leaf order
            if hold.key_hash is not None:
                lifts = self.lifts.get(hold.hold_id, [])
                after = bisect.bisect_right(lifts, hold.leaf_index)
                end = lifts[after] if after < len(lifts) else 1 << 64
                spans.setdefault(hold.key_hash, _Spans()).add(hold, end)
        return spans

    def _marker(self, by: bytes, line: int) -> AuditFailure | None:
        if by not in self.digests:
            return AuditFailure(
                "erasure",
                f"line {line}: the entry was erased by record {_hex(by)}, but no digest record"
                " of the export has that leaf hash: the erasure was not logged (or the export"
                " was taken before the record was sealed: export again)",
                line,
            )
        claim = self.claims.get(by)
        if claim is None:
            return AuditFailure(
                "erasure",
                f"line {line}: the entry was erased by record {_hex(by)}, a digest record of"
                " the export that carries no erasure statement: no logged erasure covers it",
                line,
            )
        wrong = sorted((first, at) for at, first in self.ats[by].items() if at != claim.ts)
        if wrong:
            first, at = wrong[0]
            return AuditFailure(
                "erasure",
                f"line {first}: the entry is marked erased at {at} by record {_hex(by)}, but"
                f" that erasure (line {claim.line}) was made at {claim.ts}",
                first,
            )
        index, last_line = self.last[by]
        if index >= claim.leaf_index:
            return AuditFailure(
                "erasure",
                f"line {last_line}: the entry at leaf index {index:,} is marked erased by"
                f" record {_hex(by)}, which is at leaf index {claim.leaf_index:,}: an erasure"
                " erases only entries logged before its record",
                last_line,
                index,
            )
        return None

    def _claim(self, by: bytes, claim: Claim) -> AuditFailure | None:
        count = self.erased_by.get(by, (0, 0))[0]
        hasher = self.hashers.get(by)
        digest = hasher.digest() if hasher is not None else hashlib.sha256().digest()
        if count == claim.count and digest == claim.leaves_sha256:
            tree = self.trees.get(by, Frontier())
            if claim.leaves_root is None or tree.root() == claim.leaves_root:
                return None
            return AuditFailure(
                "erasure",
                f"line {claim.line}: record {_hex(by)} logs the erasure of {claim.count:,}"
                f" entries whose leaf indices and leaf hashes have leaves root"
                f" {claim.leaves_root.hex()}, but the export's entries marked erased by it"
                f" give {tree.root().hex()}: an entry erased by it is at another leaf index",
                claim.line,
                claim.leaf_index,
            )
        return AuditFailure(
            "erasure",
            f"line {claim.line}: record {_hex(by)} logs the erasure of {claim.count:,}"
            f" entries whose leaf hashes have SHA-256 {claim.leaves_sha256.hex()}, but the"
            f" export marks {count:,} entries erased by it, whose leaf hashes have SHA-256"
            f" {digest.hex()}: an entry is marked erased that this erasure did not erase,"
            " or one it erased is shown or missing",
            claim.line,
            claim.leaf_index,
        )


def audit_export(
    path: Path,
    result: AuditResult,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditResult:
    """Check the export at `path` against `result.anchors` (from `read_anchors`), filling
    in `result`. `progress(bytes, entries)` is called as chunks complete."""
    started = time.perf_counter()
    workers = workers if workers is not None else (os.cpu_count() or 1)
    digest = hashlib.sha256()
    result.export = str(path)
    result.export_bytes = path.stat().st_size
    sequence = _Sequence(result)
    kinds: Counter[str] = Counter()
    erasures = _Erasures()
    failure: AuditFailure | None = None
    with_keys = any(anchor.index_root != NO_INDEX_ROOT for anchor in result.anchors)
    sizes = sorted({anchor.size for anchor in result.anchors})
    for chunk, size in _chunk_results(path, digest, workers, with_keys, sizes):
        kinds.update(chunk.kinds)
        erasures.add(chunk)
        if chunk.first_ts is not None and (
            result.first_ts is None or chunk.first_ts < result.first_ts
        ):
            result.first_ts = chunk.first_ts
        if chunk.last_ts is not None and (result.last_ts is None or chunk.last_ts > result.last_ts):
            result.last_ts = chunk.last_ts
        failure = sequence.add(chunk)
        if failure is None and chunk.failure is not None:
            line, index, check, message = chunk.failure
            shown = "" if index is None else f" (leaf index {index})"
            failure = AuditFailure(check, f"line {line}{shown}: {message}", line, index)
        if progress is not None:
            progress(size, len(chunk.indices))
        if failure is not None:
            break
    if failure is None:
        failure = sequence.finish()
        result.export_sha256 = digest.digest()
    result.erased = sum(count for count, _ in erasures.erased_by.values())
    result.erasures = len(erasures.erased_by)
    result.unanchored_erasures = sum(
        1
        for by in erasures.erased_by
        if (claim := erasures.claims.get(by)) is not None
        and claim.leaf_index >= result.anchored_size
    )
    result.statements = erasures.statements
    result.holds = sum(hold.key_hash is not None for hold in erasures.holds)
    result.keyless_holds = len(erasures.holds) - result.holds
    if failure is None:
        failure = erasures.check()
    if failure is None and result.roots_matched == 0:
        failure = AuditFailure(
            NOTHING_PROVEN,
            f"no anchor of the pinned log covers any of the export's {result.entries:,} entries"
            + (
                f" (the log was retired, trusted up to tree size {result.retired.trusted_size:,})"
                if result.retired
                else ""
            )
            + ": no root vouches for them, so nothing about them is proven",
        )
    result.kinds = dict(kinds)
    result.failure = failure
    result.seconds = time.perf_counter() - started
    return result
