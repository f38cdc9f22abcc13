"""Evidence packs: many entries of one anchored checkpoint in one document, with one
multi-entry proof (`ledger.core.merkle.multiproof`) whose shared nodes appear once.

The format, `model-ledger/evidence-pack/v1`, is documented in docs/evidence-format.md.
Like `ledger.verify.bundle` (whose chain checks it reuses), this is the independent verifier:
it imports nothing of the service, only the pure modules and the chain reads.

Checks, in order; the first that fails stops verification with a `VerificationError`
naming it:

1. ``pack``: strict JSON, the known format, every field present, typed and in range;
   leaf indices strictly increasing and below the tree size.
2. ``records``: every record's RFC 8785 encoding is a valid, canonical v1 record.
3. ``query``: every entry matches the query the pack states (accounts, time range,
   model, kind). A pack cannot prove that no other entry matches: an auditor with the
   whole log (`ledger audit`) can.
4. ``inclusion``: the leaf hashes, leaf indices and proof nodes lead to the
   checkpoint's root.
5. with a chain: the checks of a single bundle (``chain id`` ... ``anchor block``).

`verify_evidence` reads either kind of document and dispatches on its format.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from ledger.core.merkle import (
    HASH_SIZE,
    ProofError,
    ProofLengthError,
    RootMismatchError,
    inclusion_length,
)
from ledger.core.merkle.multiproof import verify_multi_inclusion
from ledger.core.records import KINDS, MAX_ID_LENGTH, Entry, RecordError, validate_canonical
from ledger.formats.identity import LogIdentity
from ledger.verify.bundle import (
    ADDRESS_SIZE,
    BUNDLE_FORMAT,
    MAX_BUNDLE_BYTES,
    MAX_PROOF_NODES,
    MAX_TREE_SIZE,
    BundleAnchor,
    BundleError,
    ChainReader,
    Run,
    VerificationError,
    VerificationResult,
    canonical_bytes,
    check_chain,
    check_identity,
    hex0x,
    load_bundle_json,
    parse_anchor,
    parse_bytes,
    parse_fields,
    parse_int,
    start,
    verify_bundle,
)

PACK_FORMAT = "model-ledger/evidence-pack/v1"
"""The format of evidence packs."""

MAX_PACK_ENTRIES = 100_000
"""Most entries in one pack: a query matching more is refused (narrow it)."""

MAX_PACK_BYTES = 256 * 1024 * 1024
"""Largest pack read, in bytes of JSON."""

MAX_QUERY_ACCOUNTS = 10_000
"""Most account ids in one query."""


class PackError(VerificationError):
    """The pack cannot be read: not JSON, a missing or bad field, bad leaf indices."""

    def __init__(self, message: str) -> None:
        super().__init__("pack", message)


class QueryError(ValueError):
    """A query that cannot be answered; `field` names the bad field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# -- the query ------------------------------------------------------------------------

# ASCII digits, and fullmatch: \d takes any Unicode digit (a "２０２６" that reads as 2026
# but sorts after every record's ts) and $ a trailing newline.
_BOUND = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{3})?Z)?")


def normalize_time(value: str, field: str) -> str:
    """A time bound as a record timestamp (YYYY-MM-DDTHH:MM:SS.mmmZ), from that form, from
    YYYY-MM-DDTHH:MM:SSZ or from a date YYYY-MM-DD (midnight UTC). Timestamps of one
    fixed form compare as text, which is how the store filters them."""
    match = _BOUND.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise QueryError(
            field,
            f"must be a UTC time like 2026-06-05T12:00:00.000Z or a date like 2026-06-05, got {value!r:.80}",
        )
    day, clock, millis = match.groups()
    text = f"{day}T{clock or '00:00:00'}{millis or '.000'}Z"
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        raise QueryError(field, f"is not a real date and time: {value!r}") from None
    return text


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


# -- the pack, parsed strictly --------------------------------------------------------


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
    anchor: BundleAnchor
    query: PackQuery
    indices: tuple[int, ...]
    records: tuple[dict[str, Any], ...]
    proof: tuple[bytes, ...]


def _as_pack_error(error: BundleError) -> PackError:
    return PackError(error.message)


def parse_pack(data: bytes | str | Mapping[str, Any]) -> Pack:
    """Parse a pack (JSON text or a decoded object); PackError says what is wrong and where."""
    try:
        obj = (
            dict(data)
            if isinstance(data, Mapping)
            else load_bundle_json(data, MAX_PACK_BYTES, "pack")
        )
        return _parse(obj)
    except BundleError as error:
        raise _as_pack_error(error) from None


def _parse(obj: Any) -> Pack:
    if not isinstance(obj, dict):
        raise PackError(f"a pack is a JSON object, got {type(obj).__name__}")
    if obj.get("format") != PACK_FORMAT:
        raise PackError(
            f"unknown format {obj.get('format')!r:.80}; this verifier reads {PACK_FORMAT!r}"
        )
    top = parse_fields(
        obj,
        "pack",
        ("format", "chain_id", "contract", "log_id", "checkpoint", "query", "entries", "proof"),
    )
    checkpoint = parse_fields(top["checkpoint"], "checkpoint", ("tree_size", "root", "anchor"))
    tree_size = parse_int(checkpoint["tree_size"], "checkpoint.tree_size", 1, MAX_TREE_SIZE)
    try:
        query = parse_query(top["query"])
    except QueryError as error:
        raise PackError(f"query.{error}" if error.field != "query" else str(error)) from None
    entries = top["entries"]
    if not isinstance(entries, list) or not entries:
        raise PackError("entries must be a non-empty list")
    if len(entries) > MAX_PACK_ENTRIES:
        raise PackError(f"pack has {len(entries)} entries; the limit is {MAX_PACK_ENTRIES}")
    indices: list[int] = []
    records: list[dict[str, Any]] = []
    previous = -1
    for i, entry in enumerate(entries):
        where = f"entries[{i}]"
        fields = parse_fields(entry, where, ("leaf_index", "record"))
        index = parse_int(fields["leaf_index"], f"{where}.leaf_index", 0, tree_size - 1)
        if index <= previous:
            raise PackError(
                f"{where}.leaf_index is {index} after {previous}: leaf indices must increase strictly"
            )
        if not isinstance(fields["record"], dict):
            raise PackError(f"{where}.record must be a JSON object")
        indices.append(index)
        records.append(fields["record"])
        previous = index
    proof = top["proof"]
    if not isinstance(proof, list):
        raise PackError("proof must be a list of hashes")
    if len(proof) > MAX_PROOF_NODES * len(entries):
        raise PackError(
            f"proof has {len(proof)} nodes; {len(entries)} entries need at most {MAX_PROOF_NODES * len(entries)}"
        )
    return Pack(
        chain_id=parse_int(top["chain_id"], "chain_id", 1, 2**256 - 1),
        contract=parse_bytes(top["contract"], "contract", ADDRESS_SIZE),
        log_id=parse_bytes(top["log_id"], "log_id", HASH_SIZE),
        tree_size=tree_size,
        root=parse_bytes(checkpoint["root"], "checkpoint.root", HASH_SIZE),
        anchor=parse_anchor(checkpoint["anchor"], "checkpoint.anchor"),
        query=query,
        indices=tuple(indices),
        records=tuple(records),
        proof=tuple(parse_bytes(node, f"proof[{i}]", HASH_SIZE) for i, node in enumerate(proof)),
    )


# -- the checks -----------------------------------------------------------------------


def record_entry(record: dict[str, Any]) -> Entry:
    """The validated record, with its canonical bytes (its RFC 8785 encoding) and leaf
    hash; RecordError if it is not a valid v1 record in canonical form.

    Fast path: for records (string keys, strings, integers, booleans, no floats) the
    standard library's sorted, compact JSON is byte for byte the RFC 8785 encoding, and
    `validate_canonical` proves the result is the one canonical form of the record.
    Anything else takes the `rfc8785` package's path, which also names the fault.
    """
    try:
        data = json.dumps(
            record, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        return validate_canonical(data)
    except (RecordError, ValueError, TypeError):
        return validate_canonical(canonical_bytes(record))


def _where(pack: Pack, position: int) -> str:
    return f"entries[{position}] (leaf index {pack.indices[position]})"


def _check_records(run: Run, pack: Pack) -> list[Entry]:
    entries: list[Entry] = []
    for position, record in enumerate(pack.records):
        try:
            entries.append(record_entry(record))
        except RecordError as error:
            run.fail(
                VerificationError(
                    "records", f"{_where(pack, position)}: not a valid v1 record: {error}"
                )
            )
    seen: dict[bytes, int] = {}
    for position, entry in enumerate(entries):
        if entry.leaf_hash in seen:
            run.fail(
                VerificationError(
                    "records",
                    f"{_where(pack, position)} repeats the record of {_where(pack, seen[entry.leaf_hash])}"
                    f" ({hex0x(entry.leaf_hash)}): an entry is counted once",
                )
            )
        seen[entry.leaf_hash] = position
    kinds = Counter(entry.kind for entry in entries)
    shown = ", ".join(f"{count:,} {kind}" for kind, count in sorted(kinds.items()))
    run.ok("records", f"{len(entries):,} valid records in canonical form (RFC 8785): {shown}")
    return entries


def _check_query(run: Run, pack: Pack, entries: Sequence[Entry]) -> None:
    accounts = None if pack.query.account_ids is None else frozenset(pack.query.account_ids)
    for position, entry in enumerate(entries):
        if not pack.query.matches(entry, accounts):
            run.fail(
                VerificationError(
                    "query",
                    f"{_where(pack, position)} does not match the pack's query ({pack.query.describe()}):"
                    f" kind {entry.kind}, ts {entry.ts}, account {entry.account_id}, model {entry.model}",
                )
            )
    run.ok("query", f"every entry matches: {pack.query.describe()}")


def _check_inclusion(run: Run, pack: Pack, entries: Sequence[Entry]) -> None:
    size = pack.tree_size
    try:
        verify_multi_inclusion(
            pack.indices, size, [entry.leaf_hash for entry in entries], pack.proof, pack.root
        )
    except ProofLengthError as error:
        run.fail(
            VerificationError(
                "inclusion",
                f"the proof has {error.got} nodes; {len(entries):,} leaves at these indices of the tree of size"
                f" {size} need exactly {error.expected}",
            )
        )
    except RootMismatchError as error:
        run.fail(
            VerificationError(
                "inclusion",
                f"the {len(entries):,} records, their leaf indices and the {len(pack.proof):,} proof nodes lead to"
                f" root {hex0x(error.calculated)} for tree size {size}, not to the checkpoint root {hex0x(pack.root)}"
                " (a record, a leaf index, a proof node, the root or the size differs from what was logged)",
            )
        )
    except ProofError as error:
        run.fail(VerificationError("inclusion", f"bad multi-entry proof: {error}"))
    singles = sum(inclusion_length(index, size) for index in pack.indices)
    run.ok(
        "inclusion",
        f"{len(entries):,} leaves of the tree of size {size} have root {hex0x(pack.root)}"
        f" ({len(pack.proof):,} proof nodes; one proof per entry would need {singles:,})",
    )


def verify_pack(
    data: bytes | str | Mapping[str, Any],
    chain: ChainReader | None,
    identity: LogIdentity | None = None,
) -> VerificationResult:
    """Verify a pack: the mathematics, then (unless `chain` is None, offline) the chain,
    against the pinned `identity` (required with a chain).

    Returns the result when every check passes; raises VerificationError (PackError,
    ChainReadError) naming the first check that failed, with `result` attached.
    """
    run = start(chain, identity)
    try:
        pack = parse_pack(data)
    except PackError as error:
        run.fail(error)
    count = len(pack.indices)
    run.ok(
        "pack",
        f"{PACK_FORMAT}: {count:,} {'entry' if count == 1 else 'entries'}, log {hex0x(pack.log_id)},"
        f" contract {hex0x(pack.contract)} on chain id {pack.chain_id}, tree size {pack.tree_size}",
    )
    run.result.bundle = pack
    check_identity(run, pack, identity)
    entries = _check_records(run, pack)
    _check_query(run, pack, entries)
    _check_inclusion(run, pack, entries)
    if chain is not None and identity is not None:
        check_chain(run, pack, chain, identity)
    return run.result


def verify_evidence(
    data: bytes | str | Mapping[str, Any],
    chain: ChainReader | None,
    identity: LogIdentity | None = None,
) -> VerificationResult:
    """Verify a bundle (`model-ledger/evidence/v1`) or a pack (`model-ledger/evidence-pack/v1`),
    whichever `data` is, against the pinned `identity`; the JSON is parsed once."""
    run = start(chain, identity)
    size = 0
    if isinstance(data, Mapping):
        obj: Any = data
    else:
        size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
        try:
            obj = load_bundle_json(data, MAX_PACK_BYTES, "document")
        except BundleError as error:
            run.fail(error)
    if isinstance(obj, Mapping) and obj.get("format") == PACK_FORMAT:
        return verify_pack(obj, chain, identity)
    if isinstance(obj, Mapping) and "format" in obj and obj["format"] != BUNDLE_FORMAT:
        run.fail(
            BundleError(
                f"unknown format {obj['format']!r:.80}; this verifier reads {BUNDLE_FORMAT!r} and {PACK_FORMAT!r}"
            )
        )
    if size > MAX_BUNDLE_BYTES:
        run.fail(BundleError(f"bundle is {size} bytes; the limit is {MAX_BUNDLE_BYTES}"))
    if not isinstance(obj, Mapping):
        run.fail(BundleError(f"a bundle is a JSON object, got {type(obj).__name__}"))
    return verify_bundle(obj, chain, identity)


__all__ = [
    "BUNDLE_FORMAT",
    "MAX_PACK_BYTES",
    "MAX_PACK_ENTRIES",
    "PACK_FORMAT",
    "Pack",
    "PackError",
    "PackQuery",
    "QueryError",
    "normalize_time",
    "parse_pack",
    "parse_query",
    "record_entry",
    "verify_evidence",
    "verify_pack",
]
