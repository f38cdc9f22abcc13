"""The evidence pack, `model-ledger/evidence-pack/v1`: every anchored entry matching a
query, with one multi-entry proof whose shared nodes appear once. Documented in
docs/evidence-format.md; `parse_query` and `parse_pack` are the readers, `PackQuery`'s
`as_json` and `pack_head` the writers (a builder streams the entries after the head).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from ledger.core.errors import InputError
from ledger.core.index import MapProof, WindowProof
from ledger.core.index.smt import MAX_COUNT
from ledger.core.merkle import HASH_SIZE
from ledger.core.records import (
    KINDS,
    MAX_ID_LENGTH,
    TIME_FORMS,
    Entry,
    RecordError,
    canonical_time,
)
from ledger.formats.bundle import (
    ADDRESS_SIZE,
    CHECKPOINT_NOTE,
    MAX_PROOF_NODES,
    parse_checkpoint_note,
)
from ledger.formats.checkpoint import MAX_TREE_SIZE, AnchoredCheckpoint, AnchorRef, parse_checkpoint
from ledger.formats.completeness import (
    ErasureProof,
    KeyEntry,
    erasures_json,
    key_entry_json,
    map_proof_json,
    parse_erasures,
    parse_key_entry,
    parse_map_proof,
    parse_postings_proof,
    postings_proof_json,
)
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

PACK_FORMAT = "model-ledger/evidence-pack/v1"
"""The format of evidence packs."""

MAX_PACK_ENTRIES = 100_000
"""Most entries in one pack: a query matching more is refused (narrow it)."""

MAX_PACK_BYTES = 256 * 1024 * 1024
"""Largest pack read, in bytes of JSON."""

MAX_QUERY_ACCOUNTS = 10_000
"""Most account ids in one query."""


class QueryError(InputError):
    """A query that cannot be answered; `field` names the bad field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# -- the query ---------------------------------------------------------------------

_BOUND = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{3})?Z)?")


def normalize_time(value: str, field: str) -> str:
    """A time bound as a record timestamp (YYYY-MM-DDTHH:MM:SS.mmmZ), from that form, from
    YYYY-MM-DDTHH:MM:SSZ or from a date YYYY-MM-DD (midnight UTC). Timestamps of one
    fixed form compare as text, which is how the store filters them."""
    match = _BOUND.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise QueryError(
            field,
            "must be a UTC time like 2026-06-05T12:00:00.000Z or a"
            f" date like 2026-06-05, got {value!r:.80}",
        )
    day, clock, millis = match.groups()
    text = f"{day}T{clock or '00:00:00'}{millis or '.000'}Z"
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        raise QueryError(field, f"is not a real date and time: {value!r}") from None
    return text


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def time_bound(value: Any, field: str) -> str:
    """A time bound as a user gives it (the API's query, `mledger audit`, the search of
    GET /v1/entries), in the stored form of record times: a date YYYY-MM-DD (midnight
    UTC) or any RFC 3339 UTC time `ledger.core.records.canonical_time` accepts. Packs
    state their query in the form `normalize_time` reads."""
    if not isinstance(value, str):
        raise QueryError(field, f"must be a UTC time or a date, got {value!r:.80}")
    text = f"{value}T00:00:00.000Z" if _DAY.fullmatch(value) else value
    try:
        return canonical_time(text, field)
    except RecordError as error:
        message = error.message
        if _DAY.fullmatch(value):
            message = f"is not a real date: {value!r}"
        elif message.startswith("not a UTC time in RFC 3339 form"):
            message = (
                f"must be a UTC time in RFC 3339 form ({TIME_FORMS}) or a date like"
                f" 2026-06-05, got {value!r:.80}"
            )
        raise QueryError(field, message) from None


@dataclass(frozen=True)
class PackQuery:
    """Which entries a pack holds: every entry that matches all the given filters
    (None: no filter). `ts_from` is inclusive and `ts_to` exclusive."""

    account_ids: tuple[str, ...] | None = None
    ts_from: str | None = None
    ts_to: str | None = None
    model: str | None = None
    kind: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The query as the API takes it and packs state it: only the given filters."""
        out: dict[str, Any] = {}
        if self.account_ids is not None:
            out["account_ids"] = list(self.account_ids)
        if self.ts_from is not None:
            out["from"] = self.ts_from
        if self.ts_to is not None:
            out["to"] = self.ts_to
        if self.model is not None:
            out["model"] = self.model
        if self.kind is not None:
            out["kind"] = self.kind
        return out

    def matches(self, entry: Entry, accounts: frozenset[str] | None = None) -> bool:
        """Whether a validated record matches (its lookup columns, as the store keeps
        them); `accounts` may pass `account_ids` as a set, for speed."""
        return (
            (
                self.account_ids is None
                or entry.account_id in (self.account_ids if accounts is None else accounts)
            )
            and (self.ts_from is None or entry.ts >= self.ts_from)
            and (self.ts_to is None or entry.ts < self.ts_to)
            and (self.model is None or entry.model == self.model)
            and (self.kind is None or entry.kind == self.kind)
        )

    def describe(self) -> str:
        """The query in words."""
        parts = []
        if self.account_ids is not None:
            shown = ", ".join(self.account_ids[:3]) + (
                f" and {len(self.account_ids) - 3} more" if len(self.account_ids) > 3 else ""
            )
            parts.append(f"account in ({shown})")
        if self.ts_from is not None:
            parts.append(f"ts >= {self.ts_from}")
        if self.ts_to is not None:
            parts.append(f"ts < {self.ts_to}")
        if self.model is not None:
            parts.append(f"model = {self.model}")
        if self.kind is not None:
            parts.append(f"kind = {self.kind}")
        return " and ".join(parts) or "every entry"


def _ident(value: Any, field: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_LENGTH:
        raise QueryError(
            field, f"must be a string of 1 to {MAX_ID_LENGTH} characters, got {value!r:.80}"
        )
    return value


def parse_query(obj: Any) -> PackQuery:
    """A query `{"account_ids": [...], "from": T, "to": T, "model": M, "kind": K}` (any
    subset; null is the same as absent). Raises QueryError naming the field."""
    if not isinstance(obj, dict):
        raise QueryError("query", "must be a JSON object")
    unknown = sorted(set(obj) - {"account_ids", "from", "to", "model", "kind"})
    if unknown:
        raise QueryError(unknown[0], "unknown field (known: account_ids, from, to, model, kind)")
    accounts = obj.get("account_ids")
    if accounts is not None:
        if not isinstance(accounts, list) or not accounts:
            raise QueryError("account_ids", "must be a non-empty list of account ids")
        if len(accounts) > MAX_QUERY_ACCOUNTS:
            raise QueryError(
                "account_ids", f"holds {len(accounts)} ids; the limit is {MAX_QUERY_ACCOUNTS}"
            )
        accounts = tuple(
            dict.fromkeys(_ident(a, f"account_ids[{i}]") for i, a in enumerate(accounts))
        )
    ts_from = None if obj.get("from") is None else normalize_time(obj["from"], "from")
    ts_to = None if obj.get("to") is None else normalize_time(obj["to"], "to")
    if ts_from is not None and ts_to is not None and ts_from >= ts_to:
        raise QueryError("to", f"must be after from ({ts_from}), got {ts_to}")
    model = None if obj.get("model") is None else _ident(obj["model"], "model")
    kind = obj.get("kind")
    if kind is not None and kind not in KINDS:
        raise QueryError("kind", f"must be one of {', '.join(KINDS)}, got {kind!r:.80}")
    return PackQuery(accounts, ts_from, ts_to, model, kind)


def parse_query_input(obj: Any) -> PackQuery:
    """A query as a user sends it: `parse_query`, with `from` and `to` in any form
    `time_bound` accepts."""
    if isinstance(obj, dict):
        obj = {
            name: time_bound(value, name) if name in ("from", "to") and value is not None else value
            for name, value in obj.items()
        }
    return parse_query(obj)


# -- the completeness part ---------------------------------------------------------

COMPLETE_KIND = "interaction"
"""The record kind a complete pack holds: the `account` key indexes interactions."""


@dataclass(frozen=True)
class KeyProof:
    """The index proof of one account key in a complete pack: the key's count and
    postings root at the pack's size, the map and postings proofs, and the key's entries
    in the window that do not match the query (each with its record and inclusion proof,
    so a verifier sees why it is not counted; an erased entry, whose record is gone, with
    its erasure marker: docs/privacy.md)."""

    key: str
    count: int
    postings_root: bytes | None
    map_proof: MapProof
    postings_proof: WindowProof | None
    outside: tuple[KeyEntry, ...]


@dataclass(frozen=True)
class PackCompleteness:
    """A complete pack's proof that no entry of its accounts is missing: the index root
    the log key signed at the pack's size, the window [start, end) of leaf indices, one
    `KeyProof` per account of the query, in its order."""

    index_root: bytes
    start: int
    end: int
    keys: tuple[KeyProof, ...]
    erasures: tuple[ErasureProof, ...] = ()
    """The logged erasures the erased entries' markers prove against (docs/completeness.md)."""


def account_key(account_id: str) -> str:
    """The index key of an account."""
    return f"account:{account_id}"


def check_complete_query(query: PackQuery) -> None:
    """A query a complete pack can prove: account ids, kind interaction, no model
    (QueryError naming the field otherwise)."""
    if query.account_ids is None:
        raise QueryError(
            "account_ids", "a complete pack needs the accounts whose entries it proves"
        )
    if query.kind != COMPLETE_KIND:
        raise QueryError(
            "kind",
            f"a complete pack holds {COMPLETE_KIND} records (the account key's): give"
            f" kind {COMPLETE_KIND!r}",
        )
    if query.model is not None:
        raise QueryError(
            "model", "a complete pack proves all of an account's entries: drop the model filter"
        )


def _key_proof(obj: Any, where: str, tree_size: int) -> KeyProof:
    fields = parse_fields(
        obj, where, ("key", "count", "postings_root", "map_proof", "postings_proof", "outside")
    )
    if not isinstance(fields["key"], str):
        raise FormatError(f"{where}.key must be a string")
    outside = fields["outside"]
    if not isinstance(outside, list) or len(outside) > MAX_PACK_ENTRIES:
        raise FormatError(f"{where}.outside must be a list of at most {MAX_PACK_ENTRIES} entries")
    entries = tuple(parse_key_entry(e, f"{where}.outside[{i}]") for i, e in enumerate(outside))
    for i, entry in enumerate(entries):
        if entry.leaf_index >= tree_size:
            raise FormatError(
                f"{where}.outside[{i}].leaf_index is {entry.leaf_index}, beyond the tree of"
                f" size {tree_size}"
            )
    try:
        map_proof = parse_map_proof(fields["map_proof"])
        postings = parse_postings_proof(fields["postings_proof"])
    except FormatError as error:
        raise FormatError(f"{where}.{error}") from None
    return KeyProof(
        key=fields["key"],
        count=parse_int(fields["count"], f"{where}.count", 0, MAX_COUNT),
        postings_root=None
        if fields["postings_root"] is None
        else parse_bytes(fields["postings_root"], f"{where}.postings_root", HASH_SIZE),
        map_proof=map_proof,
        postings_proof=postings,
        outside=entries,
    )


def _completeness(obj: Any, query: PackQuery, tree_size: int) -> PackCompleteness:
    fields = parse_fields(
        obj, "completeness", ("index_root", "window", "keys"), optional=("erasures",)
    )
    try:
        check_complete_query(query)
    except QueryError as error:
        raise FormatError(f"completeness: query.{error}") from None
    assert query.account_ids is not None
    window = parse_fields(fields["window"], "completeness.window", ("from_size", "to_size"))
    start = parse_int(window["from_size"], "completeness.window.from_size", 0, tree_size - 1)
    end = parse_int(window["to_size"], "completeness.window.to_size", start + 1, tree_size)
    keys = fields["keys"]
    if not isinstance(keys, list):
        raise FormatError("completeness.keys must be a list, one per account of the query")
    if len(keys) != len(query.account_ids):
        raise FormatError(
            f"completeness.keys has {len(keys)} proofs; the query names"
            f" {len(query.account_ids)} accounts"
        )
    proofs = tuple(
        _key_proof(item, f"completeness.keys[{i}]", tree_size) for i, item in enumerate(keys)
    )
    return PackCompleteness(
        index_root=parse_bytes(fields["index_root"], "completeness.index_root", HASH_SIZE),
        start=start,
        end=end,
        keys=proofs,
        erasures=parse_erasures(fields, "completeness."),
    )


def completeness_part_json(part: PackCompleteness) -> dict[str, Any]:
    """The `completeness` field of a complete pack (the one writer)."""
    return {
        "index_root": hex0x(part.index_root),
        "window": {"from_size": part.start, "to_size": part.end},
        "keys": [
            {
                "key": proof.key,
                "count": proof.count,
                "postings_root": None
                if proof.postings_root is None
                else hex0x(proof.postings_root),
                "map_proof": map_proof_json(proof.map_proof),
                "postings_proof": postings_proof_json(proof.postings_proof),
                "outside": [key_entry_json(entry) for entry in proof.outside],
            }
            for proof in part.keys
        ],
        **erasures_json(part.erasures),
    }


# -- the pack ----------------------------------------------------------------------


@dataclass(frozen=True)
class Pack:
    """A parsed pack: where it is anchored, the checkpoint, the query, the entries (leaf
    indices strictly increasing, records as JSON objects) and the multi-entry proof."""

    noun: ClassVar[str] = "pack"
    chain_id: int
    contract: bytes
    log_id: bytes
    tree_size: int
    root: bytes
    anchor: AnchorRef
    query: PackQuery
    indices: tuple[int, ...]
    records: tuple[dict[str, Any], ...]
    proof: tuple[bytes, ...]
    completeness: PackCompleteness | None = None
    """A complete pack's proof that its accounts have no other entry (None: not one)."""
    checkpoint_note: str | None = None
    """The checkpoint as a C2SP signed note with its witnesses' cosignatures (optional)."""


def parse_pack(data: bytes | str | Mapping[str, Any]) -> Pack:
    """Parse a pack (JSON text or a decoded object); FormatError says what is wrong and
    where."""
    obj = dict(data) if isinstance(data, Mapping) else load_document(data, MAX_PACK_BYTES, "pack")
    return _parse(obj)


def _parse(obj: Any) -> Pack:
    if not isinstance(obj, dict):
        raise FormatError(f"a pack is a JSON object, got {type(obj).__name__}")
    if obj.get("format") != PACK_FORMAT:
        raise FormatError(
            f"unknown format {obj.get('format')!r:.80}; this verifier reads {PACK_FORMAT!r}"
        )
    top = parse_fields(
        obj,
        "pack",
        ("format", "chain_id", "contract", "log_id", "checkpoint", "query", "entries", "proof"),
        optional=("producer", "completeness", CHECKPOINT_NOTE),
    )
    parse_producer(top)
    checkpoint = parse_fields(top["checkpoint"], "checkpoint", ("tree_size", "root", "anchor"))
    tree_size = parse_int(checkpoint["tree_size"], "checkpoint.tree_size", 1, MAX_TREE_SIZE)
    try:
        query = parse_query(top["query"])
    except QueryError as error:
        raise FormatError(f"query.{error}" if error.field != "query" else str(error)) from None
    entries = top["entries"]
    complete = top.get("completeness") is not None
    if not isinstance(entries, list) or not (entries or complete):
        raise FormatError("entries must be a non-empty list")
    if len(entries) > MAX_PACK_ENTRIES:
        raise FormatError(f"pack has {len(entries)} entries; the limit is {MAX_PACK_ENTRIES}")
    indices: list[int] = []
    records: list[dict[str, Any]] = []
    previous = -1
    for i, entry in enumerate(entries):
        where = f"entries[{i}]"
        fields = parse_fields(entry, where, ("leaf_index", "record"))
        index = parse_int(fields["leaf_index"], f"{where}.leaf_index", 0, tree_size - 1)
        if index <= previous:
            raise FormatError(
                f"{where}.leaf_index is {index} after {previous}: leaf"
                " indices must increase strictly"
            )
        if not isinstance(fields["record"], dict):
            raise FormatError(f"{where}.record must be a JSON object")
        indices.append(index)
        records.append(fields["record"])
        previous = index
    proof = top["proof"]
    if not isinstance(proof, list):
        raise FormatError("proof must be a list of hashes")
    if len(proof) > MAX_PROOF_NODES * len(entries) or (not entries and proof):
        raise FormatError(
            f"proof has {len(proof)} nodes; {len(entries)} entries"
            f" need at most {MAX_PROOF_NODES * len(entries)}"
        )
    # Read in this order, so the first bad field is the one named (as on the page).
    chain_id = parse_int(top["chain_id"], "chain_id", 1, 2**256 - 1)
    contract = parse_bytes(top["contract"], "contract", ADDRESS_SIZE)
    log_id = parse_bytes(top["log_id"], "log_id", HASH_SIZE)
    anchored = parse_checkpoint(top["checkpoint"])
    nodes = tuple(parse_bytes(node, f"proof[{i}]", HASH_SIZE) for i, node in enumerate(proof))
    completeness = _completeness(top["completeness"], query, tree_size) if complete else None
    note = parse_checkpoint_note(top)
    return Pack(
        chain_id=chain_id,
        contract=contract,
        log_id=log_id,
        tree_size=tree_size,
        root=anchored.root,
        anchor=anchored.anchor,
        query=query,
        indices=tuple(indices),
        records=tuple(records),
        proof=nodes,
        completeness=completeness,
        checkpoint_note=note,
    )


def pack_head(
    chain_id: int,
    contract: bytes,
    log_id: bytes,
    checkpoint: AnchoredCheckpoint,
    query: PackQuery,
    checkpoint_note: str | None = None,
) -> dict[str, Any]:
    """Every field of a pack but `entries` and `proof` (which a builder streams after it),
    with the checkpoint's cosigned note when there is one."""
    note = {} if checkpoint_note is None else {CHECKPOINT_NOTE: checkpoint_note}
    return {
        "format": PACK_FORMAT,
        "producer": producer(),
        "chain_id": chain_id,
        "contract": hex0x(contract),
        "log_id": hex0x(log_id),
        "checkpoint": checkpoint.as_json(),
        "query": query.as_json(),
        **note,
    }
