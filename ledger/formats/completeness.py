"""Completeness evidence, `model-ledger/completeness/v1`: every entry of one index key
(``account:acct-1``) among the first S entries of the log, or those whose leaf index lies
in a window [A, B) of them, each with its record and inclusion proof, and the index proof
that there are no others. No entries at all, with a map proof of absence, is an absence
proof. Documented in docs/evidence-format.md; `parse_completeness` is the one reader,
`completeness_json` the one writer.

    {"format": "model-ledger/completeness/v1", "chain_id": 31337, "contract": "0x...",
     "log_id": "0x...", "checkpoint": {"tree_size": S, "root": "0x...", "anchor": {...}},
     "index_root": "0x...", "key": "account:acct-1",
     "window": {"from_size": A, "to_size": B}, "count": n, "postings_root": "0x..." | null,
     "map_proof": {"depth": d, "empty": "0x<bitmap>", "siblings": "<base64>",
                   "other": null | "<base64 of k' || u64be(n') || P'>"},
     "postings_proof": null | {"first_position": p, "before": i | null, "after": i | null,
                               "nodes": "<base64>"},
     "entries": [{"leaf_index": i, "leaf_hash": "0x...", "record": {...}, "proof": [...]}]}

An entry whose record the operator erased (docs/privacy.md) has, instead of its
record, ``"erased": {"at": "<record time form>", "by": "0x<leaf hash of the erasure's
record>"}``: its leaf hash is still proven included at its leaf index, and the index
proof still says it is one of the key's entries. A proven marker also has ``"member":
{"position": p, "path": ["0x...", ...]}``, its place in the list its erasure's
statement commits to (``leaves_root``, `ledger.formats.statement`), and the document
then has ``"erasures": [{"leaf_index": i, "record": {...}, "statement": {...},
"proof": [...], "filed": {...}}]``, once per erasure its markers name, in leaf index
order: the digest record that logs the erasure, the statement it commits to, its
inclusion proof in the document's tree, and the index proof that the record is filed
under ``statement:log`` (`FiledProof`).

The index proofs are compact, with one encoding per proof: the map proof's path of
`depth` levels is a bitmap of its empty siblings (bit i, most significant first, set
when the sibling at level i, root side first, is the empty subtree; the bits past the
path zero) and one base64 string of the other siblings' 32-byte hashes concatenated, in
level order; a 32-byte sibling of zeros there is refused (it is marked in the bitmap).
The postings proof's nodes are one base64 string too. Base64 is RFC 4648 section 4,
padded, in its one canonical spelling (unused bits zero).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from ledger.core.index import EMPTY, MapLeaf, MapProof, PostingsClaim, WindowProof
from ledger.core.index.smt import KEY_BITS, MAX_COUNT
from ledger.core.merkle import HASH_SIZE
from ledger.core.records import TS_PATTERN
from ledger.formats.bundle import (
    ADDRESS_SIZE,
    MAX_ENTRIES,
    MAX_PROOF_NODES,
    BundleEntry,
    parse_entry,
)
from ledger.formats.checkpoint import MAX_TREE_SIZE, AnchoredCheckpoint, AnchorRef, parse_checkpoint
from ledger.formats.fields import (
    FormatError,
    hex0x,
    load_document,
    parse_bytes,
    parse_fields,
    parse_int,
    parse_producer,
)
from ledger.formats.producer import producer

COMPLETENESS_FORMAT = "model-ledger/completeness/v1"
"""The only completeness format this verifier reads."""

MAX_COMPLETENESS_BYTES = 64 * 1024 * 1024
"""Largest completeness document read, in bytes of JSON."""

MAX_KEY_CHARS = 300
"""Longest key string read (a kind, a colon and a 256-character value)."""

MAX_POSTINGS_NODES = 2 * 64
"""Most nodes of a window proof: one per level on each side of the window."""

_FIELDS = (
    "format",
    "chain_id",
    "contract",
    "log_id",
    "checkpoint",
    "index_root",
    "key",
    "window",
    "count",
    "postings_root",
    "map_proof",
    "postings_proof",
    "entries",
)


@dataclass(frozen=True)
class Completeness:
    """A parsed completeness document: where it is anchored, the checkpoint, the claim
    about its key (`ledger.core.index.PostingsClaim`) and the entries."""

    noun: ClassVar[str] = "completeness proof"
    chain_id: int
    contract: bytes
    log_id: bytes
    tree_size: int
    root: bytes
    anchor: AnchorRef
    claim: PostingsClaim
    entries: tuple[BundleEntry | ErasedEntry, ...]
    erasures: tuple[ErasureProof, ...] = ()


@dataclass(frozen=True)
class Member:
    """Where an erased entry is in its erasure's list: its position and the audit path
    to the statement's ``leaves_root`` (a tree of the statement's ``count`` leaves)."""

    position: int
    path: tuple[bytes, ...]


@dataclass(frozen=True)
class ErasedEntry:
    """An entry whose record was erased: its leaf hash, index and inclusion proof, and
    when and by which logged record it was erased; with `member`, the proof that this
    erasure's statement lists it (None: the marker is the operator's claim)."""

    leaf_index: int
    leaf_hash: bytes
    erased_at: str
    erased_by: bytes
    proof: tuple[bytes, ...]
    member: Member | None = None


@dataclass(frozen=True)
class FiledProof:
    """That an erasure's record is one of the log's statement records by the index: the
    index proof of key ``statement:log`` (`ledger.core.index.keys.STATEMENT_KEY`) for the
    window [i, i + 1) of the record's leaf index i, against the document's index root
    (its postings count and root, map proof and window proof)."""

    count: int
    postings_root: bytes
    map_proof: MapProof
    window: WindowProof


@dataclass(frozen=True)
class ErasureProof:
    """One logged erasure, as a document carries it to prove its markers: the digest
    record that logs it at `leaf_index`, the statement the record commits to, the
    record's inclusion proof in the document's tree, and (`filed`) the index proof that
    the record is filed under ``statement:log`` at the document's size (None: not given,
    which the verifiers refuse)."""

    leaf_index: int
    record: dict[str, Any]
    statement: dict[str, Any]
    proof: tuple[bytes, ...]
    filed: FiledProof | None = None


class ErasureMarker(NamedTuple):
    """An erased entry's marker as the service gives it to the writers: when, the leaf
    hash of the erasure's record, and its `Member` proof (None: not proven)."""

    at: str
    by: bytes
    member: Member | None = None


KeyEntry = BundleEntry | ErasedEntry
"""An entry given as one of a key's: opened (its record) or erased."""

_ERASED_AT = re.compile(TS_PATTERN)


def parse_key_entry(obj: Any, where: str) -> KeyEntry:
    """One entry of a key (in a completeness document or a complete pack's `outside`):
    with its record, or an erased one with its ``erased`` marker instead."""
    if not (isinstance(obj, dict) and "erased" in obj):
        return parse_entry(obj, where)
    fields = parse_fields(obj, where, ("leaf_index", "leaf_hash", "erased", "proof"))
    erased = parse_fields(fields["erased"], f"{where}.erased", ("at", "by"), optional=("member",))
    if not isinstance(erased["at"], str) or not _ERASED_AT.fullmatch(erased["at"]):
        raise FormatError(f"{where}.erased.at must be a time as YYYY-MM-DDTHH:MM:SS.mmmZ")
    member = None
    if "member" in erased:
        found = parse_fields(erased["member"], f"{where}.erased.member", ("position", "path"))
        member = Member(
            position=parse_int(
                found["position"], f"{where}.erased.member.position", 0, MAX_TREE_SIZE - 1
            ),
            path=_hashes(found["path"], f"{where}.erased.member.path"),
        )
    return ErasedEntry(
        leaf_index=parse_int(fields["leaf_index"], f"{where}.leaf_index", 0, MAX_TREE_SIZE - 1),
        leaf_hash=parse_bytes(fields["leaf_hash"], f"{where}.leaf_hash", HASH_SIZE),
        erased_at=erased["at"],
        erased_by=parse_bytes(erased["by"], f"{where}.erased.by", HASH_SIZE),
        proof=_hashes(fields["proof"], f"{where}.proof"),
        member=member,
    )


def _hashes(value: Any, where: str) -> tuple[bytes, ...]:
    """A proof: a list of at most MAX_PROOF_NODES 32-byte hashes as 0x hex."""
    nodes = _hash_list(value, where, MAX_PROOF_NODES)
    return tuple(parse_bytes(node, f"{where}[{i}]", HASH_SIZE) for i, node in enumerate(nodes))


def parse_erasures(obj: Mapping[str, Any], where: str) -> tuple[ErasureProof, ...]:
    """The optional ``erasures`` list of `obj` (a completeness document, a complete
    pack's `completeness`): absent for none (an empty list is refused), in strictly
    increasing leaf index order, each a digest record, the statement it commits to and
    its inclusion proof. Checks the shape only: the verifier checks what they prove."""
    if "erasures" not in obj:
        return ()
    items = obj["erasures"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ENTRIES:
        raise FormatError(
            f"{where}erasures must be a list of 1 to {MAX_ENTRIES} erasures (absent for none)"
        )
    found: list[ErasureProof] = []
    for i, item in enumerate(items):
        at = f"{where}erasures[{i}]"
        fields = parse_fields(
            item, at, ("leaf_index", "record", "statement", "proof"), optional=("filed",)
        )
        for name in ("record", "statement"):
            if not isinstance(fields[name], dict):
                raise FormatError(f"{at}.{name} must be a JSON object")
        index = parse_int(fields["leaf_index"], f"{at}.leaf_index", 0, MAX_TREE_SIZE - 1)
        filed = None
        if "filed" in fields:
            filed = parse_filed(fields["filed"], f"{at}.filed")
        if found and index <= found[-1].leaf_index:
            raise FormatError(
                f"{at}.leaf_index is {index}, not above the previous erasure's"
                f" {found[-1].leaf_index}: erasures are given once each, in leaf index order"
            )
        found.append(
            ErasureProof(
                index,
                fields["record"],
                fields["statement"],
                _hashes(fields["proof"], f"{at}.proof"),
                filed,
            )
        )
    return tuple(found)


def parse_filed(obj: Any, where: str) -> FiledProof:
    """An erasure's ``filed`` object: the index proof that its record is filed under
    ``statement:log`` ({"count", "postings_root", "map_proof", "postings_proof"}, as the
    document's own fields of those names)."""
    fields = parse_fields(obj, where, ("count", "postings_root", "map_proof", "postings_proof"))
    window = parse_postings_proof(fields["postings_proof"], f"{where}.postings_proof")
    if window is None:
        raise FormatError(f"{where}.postings_proof must be a postings proof, not null")
    return FiledProof(
        parse_int(fields["count"], f"{where}.count", 1, MAX_COUNT),
        parse_bytes(fields["postings_root"], f"{where}.postings_root", HASH_SIZE),
        parse_map_proof(fields["map_proof"], f"{where}.map_proof"),
        window,
    )


def filed_json(filed: FiledProof) -> dict[str, Any]:
    """The ``filed`` object as `parse_filed` reads it."""
    return {
        "count": filed.count,
        "postings_root": hex0x(filed.postings_root),
        "map_proof": map_proof_json(filed.map_proof),
        "postings_proof": postings_proof_json(filed.window),
    }


def erasures_json(erasures: Sequence[ErasureProof]) -> dict[str, Any]:
    """The ``erasures`` field as `parse_erasures` reads it: {} for none (the one writer)."""
    if not erasures:
        return {}
    return {
        "erasures": [
            {
                "leaf_index": erasure.leaf_index,
                "record": erasure.record,
                "statement": erasure.statement,
                "proof": [hex0x(node) for node in erasure.proof],
                **({} if erasure.filed is None else {"filed": filed_json(erasure.filed)}),
            }
            for erasure in erasures
        ]
    }


def _hash_list(value: Any, where: str, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise FormatError(f"{where} must be a list of hashes")
    if len(value) > limit:
        raise FormatError(f"{where} has {len(value)} nodes; the most a proof can need is {limit}")
    return value


def b64_text(data: bytes) -> str:
    """Standard padded base64 (RFC 4648 section 4)."""
    return base64.b64encode(data).decode()


_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
"""Padded standard base64 (RFC 4648 section 4), whole quads."""


def _b64_length(size: int) -> int:
    """Characters of the padded base64 of `size` bytes."""
    return 4 * ((size + 2) // 3)


def parse_b64(value: Any, where: str, size: int, what: str) -> bytes:
    """Exactly `size` bytes (`what` says which) as standard padded base64 in its one
    canonical spelling; FormatError otherwise."""
    if not isinstance(value, str):
        raise FormatError(f"{where} must be a base64 string, got {type(value).__name__}")
    if len(value) != _b64_length(size):
        raise FormatError(
            f"{where} must hold {size} bytes ({what}) in {_b64_length(size)} base64"
            f" characters, got {len(value)} characters"
        )
    if not _BASE64.fullmatch(value):
        raise FormatError(f"{where} is not base64: {value!r:.80}")
    data = base64.b64decode(value, validate=True)
    if len(data) != size:
        raise FormatError(f"{where} must hold {size} bytes ({what}), got {len(data)}")
    if b64_text(data) != value:
        raise FormatError(f"{where} is not canonical base64 (padding bits set): {value!r:.80}")
    return data


LEAF_BYTES = HASH_SIZE + 8 + HASH_SIZE
"""Bytes of a map leaf's values as `map_proof.other` carries them: k || u64be(n) || P."""


def empty_bitmap(siblings: Sequence[bytes]) -> bytes:
    """The bitmap of a path's empty siblings: bit i (most significant first) of byte
    i // 8 set when sibling i is EMPTY; ceil(depth / 8) bytes."""
    bitmap = bytearray((len(siblings) + 7) // 8)
    for level, node in enumerate(siblings):
        if node == EMPTY:
            bitmap[level >> 3] |= 0x80 >> (level & 7)
    return bytes(bitmap)


def parse_map_proof(obj: Any, name: str = "map_proof") -> MapProof:
    """A `map_proof` object: the path's depth, the bitmap of its empty siblings, the
    other siblings as one base64 string (root side first), and the `other` leaf or
    null. Every proof has one spelling: bits past the path, a sibling of 32 zero bytes
    (an empty one not marked), bytes short or left over all fail."""
    fields = parse_fields(obj, name, ("depth", "empty", "siblings", "other"))
    depth = parse_int(fields["depth"], f"{name}.depth", 0, KEY_BITS)
    bitmap = parse_bytes(fields["empty"], f"{name}.empty", (depth + 7) // 8)
    if depth % 8 and bitmap[-1] & (0xFF >> (depth % 8)):
        raise FormatError(
            f"{name}.empty has bits set past the path's {depth} levels (they must be zero)"
        )
    empty = [bool(bitmap[level >> 3] & (0x80 >> (level & 7))) for level in range(depth)]
    given = depth - sum(empty)
    blob = parse_b64(
        fields["siblings"],
        f"{name}.siblings",
        HASH_SIZE * given,
        f"the {given} non-empty siblings of {depth} levels, {HASH_SIZE} each",
    )
    siblings: list[bytes] = []
    offset = 0
    for level, is_empty in enumerate(empty):
        if is_empty:
            siblings.append(EMPTY)
            continue
        node = blob[offset : offset + HASH_SIZE]
        if node == EMPTY:
            raise FormatError(
                f"{name}.siblings: the sibling at level {level} is 32 zero bytes; an empty"
                f" sibling is marked in {name}.empty, not written"
            )
        siblings.append(node)
        offset += HASH_SIZE
    other = fields["other"]
    leaf = None
    if other is not None:
        raw = parse_b64(other, f"{name}.other", LEAF_BYTES, "key hash, count, postings root")
        count = int.from_bytes(raw[HASH_SIZE : HASH_SIZE + 8], "big")
        if count < 1:
            raise FormatError(f"{name}.other: a leaf's count must be 1 or more, got 0")
        leaf = MapLeaf(key_hash=raw[:HASH_SIZE], count=count, postings_root=raw[HASH_SIZE + 8 :])
    return MapProof(tuple(siblings), leaf)


def _optional_index(value: Any, where: str) -> int | None:
    return None if value is None else parse_int(value, where, 0, MAX_TREE_SIZE - 1)


def parse_postings_proof(obj: Any, name: str = "postings_proof") -> WindowProof | None:
    """A `postings_proof` object, or None for null."""
    if obj is None:
        return None
    fields = parse_fields(obj, name, ("first_position", "before", "after", "nodes"))
    text = fields["nodes"]
    if not isinstance(text, str):
        raise FormatError(f"{name}.nodes must be a base64 string, got {type(text).__name__}")
    count = (len(text) // 4 * 3) // HASH_SIZE
    if count > MAX_POSTINGS_NODES:
        raise FormatError(
            f"{name}.nodes has {count} nodes or more; the most a proof can need is"
            f" {MAX_POSTINGS_NODES}"
        )
    nodes = parse_b64(text, f"{name}.nodes", HASH_SIZE * count, f"whole {HASH_SIZE}-byte nodes")
    return WindowProof(
        first_position=parse_int(fields["first_position"], f"{name}.first_position", 0, MAX_COUNT),
        before=_optional_index(fields["before"], f"{name}.before"),
        after=_optional_index(fields["after"], f"{name}.after"),
        nodes=tuple(nodes[i : i + HASH_SIZE] for i in range(0, len(nodes), HASH_SIZE)),
    )


def parse_completeness(data: bytes | str | Mapping[str, Any]) -> Completeness:
    """Parse a completeness document (JSON text or a decoded object); FormatError says
    what is wrong and where. Checks the shape only: ledger.verify.completeness checks
    what it claims."""
    obj = (
        dict(data)
        if isinstance(data, Mapping)
        else load_document(data, MAX_COMPLETENESS_BYTES, "completeness proof")
    )
    if not isinstance(obj, dict):
        raise FormatError(f"a completeness proof is a JSON object, got {type(obj).__name__}")
    if "format" not in obj:
        raise FormatError("no 'format': not a model-ledger completeness proof")
    if obj["format"] != COMPLETENESS_FORMAT:
        raise FormatError(
            f"unknown format {obj['format']!r:.80}; this verifier reads {COMPLETENESS_FORMAT!r}"
        )
    top = parse_fields(obj, "completeness proof", _FIELDS, optional=("producer", "erasures"))
    parse_producer(top)
    entries = top["entries"]
    if not isinstance(entries, list):
        raise FormatError("entries must be a list (empty for none)")
    if len(entries) > MAX_ENTRIES:
        raise FormatError(f"{len(entries)} entries; the limit is {MAX_ENTRIES}")
    parsed = tuple(parse_key_entry(entry, f"entries[{i}]") for i, entry in enumerate(entries))
    chain_id = parse_int(top["chain_id"], "chain_id", 1, 2**256 - 1)
    contract = parse_bytes(top["contract"], "contract", ADDRESS_SIZE)
    log_id = parse_bytes(top["log_id"], "log_id", HASH_SIZE)
    checkpoint = parse_checkpoint(top["checkpoint"])
    index_root = parse_bytes(top["index_root"], "index_root", HASH_SIZE)
    key = top["key"]
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_CHARS:
        raise FormatError(f"key must be a string of 1 to {MAX_KEY_CHARS} characters")
    window = parse_fields(top["window"], "window", ("from_size", "to_size"))
    start = parse_int(window["from_size"], "window.from_size", 0, MAX_TREE_SIZE)
    end = parse_int(window["to_size"], "window.to_size", 0, MAX_TREE_SIZE)
    count = parse_int(top["count"], "count", 0, MAX_COUNT)
    postings_root = (
        None
        if top["postings_root"] is None
        else parse_bytes(top["postings_root"], "postings_root", HASH_SIZE)
    )
    claim = PostingsClaim(
        key=key,
        tree_size=checkpoint.tree_size,
        index_root=index_root,
        count=count,
        postings_root=postings_root,
        start=start,
        end=end,
        leaf_indices=tuple(entry.leaf_index for entry in parsed),
        map_proof=parse_map_proof(top["map_proof"]),
        window=parse_postings_proof(top["postings_proof"]),
    )
    return Completeness(
        chain_id=chain_id,
        contract=contract,
        log_id=log_id,
        tree_size=checkpoint.tree_size,
        root=checkpoint.root,
        anchor=checkpoint.anchor,
        claim=claim,
        entries=parsed,
        erasures=parse_erasures(top, ""),
    )


def completeness_json(
    chain_id: int,
    contract: bytes,
    log_id: bytes,
    checkpoint: AnchoredCheckpoint,
    claim: PostingsClaim,
    entries: Sequence[tuple[int, bytes, dict[str, Any] | ErasureMarker, Sequence[bytes]]],
    erasures: Sequence[ErasureProof] = (),
) -> dict[str, Any]:
    """The document for `claim` (built at `checkpoint.tree_size`) with `entries` (leaf
    index, leaf hash, record or its `ErasureMarker`, inclusion proof), one per leaf
    index of the claim, in order, and the `erasures` the markers' members prove
    against."""
    if claim.tree_size != checkpoint.tree_size:
        raise ValueError("the claim and the checkpoint are of different sizes")
    if [entry[0] for entry in entries] != list(claim.leaf_indices):
        raise ValueError("the entries are not the claim's leaf indices, in order")
    return {
        "format": COMPLETENESS_FORMAT,
        "producer": producer(),
        "chain_id": chain_id,
        "contract": hex0x(contract),
        "log_id": hex0x(log_id),
        "checkpoint": checkpoint.as_json(),
        "index_root": hex0x(claim.index_root),
        "key": claim.key,
        "window": {"from_size": claim.start, "to_size": claim.end},
        "count": claim.count,
        "postings_root": None if claim.postings_root is None else hex0x(claim.postings_root),
        "map_proof": map_proof_json(claim.map_proof),
        "postings_proof": postings_proof_json(claim.window),
        "entries": [
            _entry_json(index, leaf, record, proof) for index, leaf, record, proof in entries
        ],
        **erasures_json(erasures),
    }


def _marker_json(marker: ErasureMarker) -> dict[str, Any]:
    member = marker.member
    return {
        "at": marker.at,
        "by": hex0x(marker.by),
        **(
            {}
            if member is None
            else {
                "member": {
                    "position": member.position,
                    "path": [hex0x(node) for node in member.path],
                }
            }
        ),
    }


def _entry_json(
    index: int, leaf: bytes, record: dict[str, Any] | ErasureMarker, proof: Sequence[bytes]
) -> dict[str, Any]:
    return {
        "leaf_index": index,
        "leaf_hash": hex0x(leaf),
        **({"record": record} if isinstance(record, dict) else {"erased": _marker_json(record)}),
        "proof": ["0x" + node.hex() for node in proof],  # hex0x, inlined: 20 a proof
    }


def key_entry_json(entry: KeyEntry) -> dict[str, Any]:
    """One entry of a key as `parse_key_entry` reads it (the one writer, for
    completeness documents and complete packs)."""
    if isinstance(entry, ErasedEntry):
        marker = ErasureMarker(entry.erased_at, entry.erased_by, entry.member)
        return _entry_json(entry.leaf_index, entry.leaf_hash, marker, entry.proof)
    return _entry_json(entry.leaf_index, entry.leaf_hash, entry.record, entry.proof)


def map_proof_json(proof: MapProof) -> dict[str, Any]:
    """The `map_proof` object (the one writer, for completeness documents and packs)."""
    other = proof.other
    return {
        "depth": len(proof.siblings),
        "empty": hex0x(empty_bitmap(proof.siblings)),
        "siblings": b64_text(b"".join(s for s in proof.siblings if s != EMPTY)),
        "other": None
        if other is None
        else b64_text(other.key_hash + other.count.to_bytes(8, "big") + other.postings_root),
    }


def postings_proof_json(window: WindowProof | None) -> dict[str, Any] | None:
    """The `postings_proof` object, null for an absent key."""
    if window is None:
        return None
    return {
        "first_position": window.first_position,
        "before": window.before,
        "after": window.after,
        "nodes": b64_text(b"".join(window.nodes)),
    }
