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
     "map_proof": {"siblings": ["0x...", "0x", ...],
                   "other": null | {"key_hash": "0x...", "count": n, "postings_root": "0x..."}},
     "postings_proof": null | {"first_position": p, "before": i | null, "after": i | null,
                               "nodes": ["0x...", ...]},
     "entries": [{"leaf_index": i, "leaf_hash": "0x...", "record": {...}, "proof": [...]}]}

An entry whose record the operator erased (docs/privacy.md) has, instead of its
record, ``"erased": {"at": "<record time form>", "by": "0x<leaf hash of the erasure's
record>"}``: its leaf hash is still proven included at its leaf index, and the index
proof still says it is one of the key's entries.

An empty sibling is written "0x" (no bytes), so a path through sparse levels costs 4 bytes
a level; a 32-byte sibling of zeros is refused (one encoding per proof).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

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


@dataclass(frozen=True)
class ErasedEntry:
    """An entry whose record was erased: its leaf hash, index and inclusion proof, and
    when and by which logged record it was erased."""

    leaf_index: int
    leaf_hash: bytes
    erased_at: str
    erased_by: bytes
    proof: tuple[bytes, ...]


KeyEntry = BundleEntry | ErasedEntry
"""An entry given as one of a key's: opened (its record) or erased."""

_ERASED_AT = re.compile(TS_PATTERN)


def parse_key_entry(obj: Any, where: str) -> KeyEntry:
    """One entry of a key (in a completeness document or a complete pack's `outside`):
    with its record, or an erased one with its ``erased`` marker instead."""
    if not (isinstance(obj, dict) and "erased" in obj):
        return parse_entry(obj, where)
    fields = parse_fields(obj, where, ("leaf_index", "leaf_hash", "erased", "proof"))
    erased = parse_fields(fields["erased"], f"{where}.erased", ("at", "by"))
    if not isinstance(erased["at"], str) or not _ERASED_AT.match(erased["at"]):
        raise FormatError(f"{where}.erased.at must be a time as YYYY-MM-DDTHH:MM:SS.mmmZ")
    proof = _hash_list(fields["proof"], f"{where}.proof", MAX_PROOF_NODES)
    return ErasedEntry(
        leaf_index=parse_int(fields["leaf_index"], f"{where}.leaf_index", 0, MAX_TREE_SIZE - 1),
        leaf_hash=parse_bytes(fields["leaf_hash"], f"{where}.leaf_hash", HASH_SIZE),
        erased_at=erased["at"],
        erased_by=parse_bytes(erased["by"], f"{where}.erased.by", HASH_SIZE),
        proof=tuple(
            parse_bytes(node, f"{where}.proof[{i}]", HASH_SIZE) for i, node in enumerate(proof)
        ),
    )


def _hash_list(value: Any, where: str, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise FormatError(f"{where} must be a list of hashes")
    if len(value) > limit:
        raise FormatError(f"{where} has {len(value)} nodes; the most a proof can need is {limit}")
    return value


def _sibling(value: Any, where: str) -> bytes:
    if value == "0x":
        return EMPTY
    node = parse_bytes(value, where, HASH_SIZE)
    if node == EMPTY:
        raise FormatError(f'{where}: an empty sibling is written "0x", not as 32 zero bytes')
    return node


def parse_map_proof(obj: Any) -> MapProof:
    """A `map_proof` object (siblings root side first, `other` leaf or null)."""
    fields = parse_fields(obj, "map_proof", ("siblings", "other"))
    siblings = _hash_list(fields["siblings"], "map_proof.siblings", KEY_BITS)
    other = fields["other"]
    leaf = None
    if other is not None:
        parts = parse_fields(other, "map_proof.other", ("key_hash", "count", "postings_root"))
        leaf = MapLeaf(
            key_hash=parse_bytes(parts["key_hash"], "map_proof.other.key_hash", HASH_SIZE),
            count=parse_int(parts["count"], "map_proof.other.count", 1, MAX_COUNT),
            postings_root=parse_bytes(
                parts["postings_root"], "map_proof.other.postings_root", HASH_SIZE
            ),
        )
    return MapProof(
        tuple(_sibling(node, f"map_proof.siblings[{i}]") for i, node in enumerate(siblings)),
        leaf,
    )


def _optional_index(value: Any, where: str) -> int | None:
    return None if value is None else parse_int(value, where, 0, MAX_TREE_SIZE - 1)


def parse_postings_proof(obj: Any) -> WindowProof | None:
    """A `postings_proof` object, or None for null."""
    if obj is None:
        return None
    fields = parse_fields(obj, "postings_proof", ("first_position", "before", "after", "nodes"))
    nodes = _hash_list(fields["nodes"], "postings_proof.nodes", MAX_POSTINGS_NODES)
    return WindowProof(
        first_position=parse_int(
            fields["first_position"], "postings_proof.first_position", 0, MAX_COUNT
        ),
        before=_optional_index(fields["before"], "postings_proof.before"),
        after=_optional_index(fields["after"], "postings_proof.after"),
        nodes=tuple(
            parse_bytes(node, f"postings_proof.nodes[{i}]", HASH_SIZE)
            for i, node in enumerate(nodes)
        ),
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
    top = parse_fields(obj, "completeness proof", _FIELDS, optional=("producer",))
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
    )


def completeness_json(
    chain_id: int,
    contract: bytes,
    log_id: bytes,
    checkpoint: AnchoredCheckpoint,
    claim: PostingsClaim,
    entries: Sequence[tuple[int, bytes, dict[str, Any] | tuple[str, bytes], Sequence[bytes]]],
) -> dict[str, Any]:
    """The document for `claim` (built at `checkpoint.tree_size`) with `entries` (leaf
    index, leaf hash, record or (erased at, erased by) for an erased entry, inclusion
    proof), one per leaf index of the claim, in order."""
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
    }


def _entry_json(
    index: int, leaf: bytes, record: dict[str, Any] | tuple[str, bytes], proof: Sequence[bytes]
) -> dict[str, Any]:
    return {
        "leaf_index": index,
        "leaf_hash": hex0x(leaf),
        **(
            {"record": record}
            if isinstance(record, dict)
            else {"erased": {"at": record[0], "by": hex0x(record[1])}}
        ),
        "proof": [hex0x(node) for node in proof],
    }


def key_entry_json(entry: KeyEntry) -> dict[str, Any]:
    """One entry of a key as `parse_key_entry` reads it (the one writer, for
    completeness documents and complete packs)."""
    if isinstance(entry, ErasedEntry):
        return _entry_json(
            entry.leaf_index, entry.leaf_hash, (entry.erased_at, entry.erased_by), entry.proof
        )
    return _entry_json(entry.leaf_index, entry.leaf_hash, entry.record, entry.proof)


def map_proof_json(proof: MapProof) -> dict[str, Any]:
    """The `map_proof` object (the one writer, for completeness documents and packs)."""
    other = proof.other
    return {
        "siblings": ["0x" if s == EMPTY else hex0x(s) for s in proof.siblings],
        "other": None
        if other is None
        else {
            "key_hash": hex0x(other.key_hash),
            "count": other.count,
            "postings_root": hex0x(other.postings_root),
        },
    }


def postings_proof_json(window: WindowProof | None) -> dict[str, Any] | None:
    """The `postings_proof` object, null for an absent key."""
    if window is None:
        return None
    return {
        "first_position": window.first_position,
        "before": window.before,
        "after": window.after,
        "nodes": [hex0x(node) for node in window.nodes],
    }
