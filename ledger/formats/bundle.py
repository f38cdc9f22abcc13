"""The evidence bundle, `model-ledger/evidence/v1`: entries of the log, each with its
record, leaf hash and inclusion proof, against one anchored checkpoint. Documented in
docs/evidence-format.md; `parse_bundle` is the one reader, `bundle_json` the one writer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ledger.core.merkle import HASH_SIZE
from ledger.formats.checkpoint import MAX_TREE_SIZE, AnchoredCheckpoint, AnchorRef, parse_checkpoint
from ledger.formats.fields import (
    FormatError,
    hex0x,
    load_document,
    parse_bytes,
    parse_fields,
    parse_hash_list,
    parse_int,
    parse_producer,
)
from ledger.formats.note import MAX_NOTE_BYTES, NoteError, parse_note
from ledger.formats.producer import producer
from ledger.formats.tlog_checkpoint import parse_checkpoint as parse_checkpoint_text

BUNDLE_FORMAT = "model-ledger/evidence/v1"
"""The only bundle format this verifier accepts."""

MAX_BUNDLE_BYTES = 64 * 1024 * 1024
"""Largest bundle read, in bytes of JSON."""

MAX_ENTRIES = 100_000
"""Most entries in one bundle."""

MAX_PROOF_NODES = 64
"""Most nodes in an inclusion proof: the contract counts tree sizes in uint64."""

ADDRESS_SIZE = 20
"""Bytes in a contract address."""


@dataclass(frozen=True)
class BundleEntry:
    """One entry: the record (a JSON object), its leaf hash, index and inclusion proof."""

    leaf_index: int
    leaf_hash: bytes
    record: dict[str, Any]
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class Bundle:
    """A parsed bundle: where it is anchored, the checkpoint, the entries."""

    noun: ClassVar[str] = "bundle"
    chain_id: int
    contract: bytes
    log_id: bytes
    tree_size: int
    root: bytes
    anchor: AnchorRef
    entries: tuple[BundleEntry, ...]
    checkpoint_note: str | None = None
    """The checkpoint as a C2SP signed note with its witnesses' cosignatures (optional)."""


CHECKPOINT_NOTE = "checkpoint_note"
"""The optional top-level field of bundles and packs holding the cosigned checkpoint note."""


def parse_checkpoint_note(obj: Mapping[str, Any]) -> str | None:
    """The optional `checkpoint_note` of a bundle or pack: a signed note (c2sp.org/signed-note)
    whose text is a checkpoint (c2sp.org/tlog-checkpoint). Its signatures and whether it is
    the document's checkpoint are for the verifier (ledger.verify.checkpoint_note)."""
    value = obj.get(CHECKPOINT_NOTE)
    if value is None and CHECKPOINT_NOTE not in obj:
        return None
    if not isinstance(value, str) or len(value.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
        raise FormatError(
            f"{CHECKPOINT_NOTE} must be a signed note of at most {MAX_NOTE_BYTES} bytes"
        )
    try:
        parse_checkpoint_text(parse_note(value).text)
    except NoteError as error:
        raise FormatError(f"{CHECKPOINT_NOTE}: {error}") from None
    return value


def parse_entry(obj: Any, where: str) -> BundleEntry:
    """One entry object: leaf index, leaf hash, record and inclusion proof."""
    fields = parse_fields(obj, where, ("leaf_index", "leaf_hash", "record", "proof"))
    if not isinstance(fields["record"], dict):
        raise FormatError(f"{where}.record must be a JSON object")
    proof = fields["proof"]
    if not isinstance(proof, list):
        raise FormatError(f"{where}.proof must be a list of hashes")
    if len(proof) > MAX_PROOF_NODES:
        raise FormatError(
            f"{where}.proof has {len(proof)} nodes; the most a tree can need is {MAX_PROOF_NODES}"
        )
    return BundleEntry(
        leaf_index=parse_int(fields["leaf_index"], f"{where}.leaf_index", 0, MAX_TREE_SIZE - 1),
        leaf_hash=parse_bytes(fields["leaf_hash"], f"{where}.leaf_hash", HASH_SIZE),
        record=fields["record"],
        proof=parse_hash_list(proof, f"{where}.proof", HASH_SIZE),
    )


def parse_bundle(data: bytes | str | Mapping[str, Any]) -> Bundle:
    """Parse a bundle (JSON text or an already decoded object); FormatError says what
    is wrong and where."""
    obj = (
        dict(data) if isinstance(data, Mapping) else load_document(data, MAX_BUNDLE_BYTES, "bundle")
    )
    if not isinstance(obj, dict):
        raise FormatError(f"a bundle is a JSON object, got {type(obj).__name__}")
    if "format" not in obj:
        raise FormatError("no 'format': not a model-ledger evidence bundle")
    if obj["format"] != BUNDLE_FORMAT:
        raise FormatError(
            f"unknown format {obj['format']!r:.80}; this verifier reads {BUNDLE_FORMAT!r}"
        )
    top = parse_fields(
        obj,
        "bundle",
        ("format", "chain_id", "contract", "log_id", "checkpoint", "entries"),
        optional=("producer", CHECKPOINT_NOTE),
    )
    parse_producer(top)
    parse_fields(top["checkpoint"], "checkpoint", ("tree_size", "root", "anchor"))
    entries = top["entries"]
    if not isinstance(entries, list) or not entries:
        raise FormatError("entries must be a non-empty list")
    if len(entries) > MAX_ENTRIES:
        raise FormatError(f"bundle has {len(entries)} entries; the limit is {MAX_ENTRIES}")
    parsed = tuple(parse_entry(entry, f"entries[{i}]") for i, entry in enumerate(entries))
    seen: dict[bytes, int] = {}
    for i, entry in enumerate(parsed):
        if entry.leaf_hash in seen:
            raise FormatError(
                f"entries[{i}] repeats the entry of"
                f" entries[{seen[entry.leaf_hash]}] ({hex0x(entry.leaf_hash)})"
            )
        seen[entry.leaf_hash] = i
    # The fields are read in this order, so the first bad one is the one named (the page
    # reads them in the same order).
    chain_id = parse_int(top["chain_id"], "chain_id", 1, 2**256 - 1)
    contract = parse_bytes(top["contract"], "contract", ADDRESS_SIZE)
    log_id = parse_bytes(top["log_id"], "log_id", HASH_SIZE)
    checkpoint = parse_checkpoint(top["checkpoint"])
    note = parse_checkpoint_note(top)
    return Bundle(
        chain_id=chain_id,
        contract=contract,
        log_id=log_id,
        tree_size=checkpoint.tree_size,
        root=checkpoint.root,
        anchor=checkpoint.anchor,
        entries=parsed,
        checkpoint_note=note,
    )


def bundle_json(
    chain_id: int,
    contract: bytes,
    log_id: bytes,
    checkpoint: AnchoredCheckpoint,
    entries: Sequence[tuple[int, bytes, dict[str, Any], Sequence[bytes]]],
    checkpoint_note: str | None = None,
) -> dict[str, Any]:
    """A bundle of `entries` (leaf index, leaf hash, record, inclusion proof) against
    `checkpoint` of log `log_id` on `contract` of chain `chain_id`, with the checkpoint's
    cosigned note when there is one."""
    note = {} if checkpoint_note is None else {CHECKPOINT_NOTE: checkpoint_note}
    return {
        "format": BUNDLE_FORMAT,
        "producer": producer(),
        "chain_id": chain_id,
        "contract": hex0x(contract),
        "log_id": hex0x(log_id),
        "checkpoint": checkpoint.as_json(),
        "entries": [
            {
                "leaf_index": index,
                "leaf_hash": hex0x(leaf),
                "record": record,
                "proof": [hex0x(node) for node in proof],
            }
            for index, leaf, record, proof in entries
        ],
        **note,
    }
