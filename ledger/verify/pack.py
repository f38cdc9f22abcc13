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
   whole log (`mledger audit`) can.
4. ``inclusion``: the leaf hashes, leaf indices and proof nodes lead to the
   checkpoint's root.
5. a complete pack (docs/completeness.md): per account of the query, the key's
   entries outside the query (``record``, ``leaf hash``, ``inclusion``, ``added``;
   ``omitted`` if one matches the query; an erased entry, which has no record, only
   ``inclusion``; ``erasure`` proves the markers that carry a membership proof, as for
   completeness documents), then the index checks of
   `ledger.core.index.verify_postings` over the pack's entries of the account and those
   (``tree size``, ``duplicated``, ``omitted``, ``index map``, ``index root``).
6. with a chain: the checks of a single bundle (``chain id`` ... ``anchor block``), and
   for a complete pack ``index root on chain``.

"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.core.disclosure import is_disclosure
from ledger.core.index import IndexProofError, PostingsClaim, verify_postings
from ledger.core.merkle import ProofError, ProofLengthError, RootMismatchError, inclusion_length
from ledger.core.merkle.multiproof import verify_multi_inclusion
from ledger.core.records import LOOKUP_FIELDS, Entry, RecordError, validate_canonical
from ledger.formats.completeness import ErasedEntry
from ledger.formats.cosignature import WitnessPolicy
from ledger.formats.fields import FormatError, hex0x
from ledger.formats.identity import LogIdentity
from ledger.formats.pack import PACK_FORMAT, Pack, PackCompleteness, account_key, parse_pack
from ledger.verify.bundle import canonical_bytes, open_record, record_problem
from ledger.verify.chain import ChainReader, check_chain, check_identity, start
from ledger.verify.checkpoint_note import check_checkpoint_note
from ledger.verify.completeness import (
    PROVEN,
    UNCHECKED,
    check_erasures,
    check_index_root_on_chain,
    check_key_entry,
)
from ledger.verify.result import (
    KeyCompleteness,
    PackError,
    Run,
    VerificationError,
    VerificationResult,
)


def record_entry(record: dict[str, Any]) -> Entry:
    """The validated record, with its canonical bytes (its RFC 8785 encoding) and leaf
    hash; RecordError if it is not a valid record in canonical form.

    Fast path: for records (string keys, strings, integers, booleans, no floats) the
    standard library's sorted, compact JSON is byte for byte the RFC 8785 encoding, and
    `validate_canonical` proves the result is the one canonical form of the record.
    Anything else takes the `rfc8785` package's path, which also names the fault. A v2
    record disclosed in part is opened (`ledger.verify.bundle.open_record`): its withheld
    fields' lookup columns are None.
    """
    if is_disclosure(record):
        return open_record(record).as_entry()
    try:
        data = json.dumps(
            record, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        return validate_canonical(data)
    except (RecordError, ValueError, TypeError):
        return validate_canonical(canonical_bytes(record))


def withheld_selectors(pack: Pack, record: dict[str, Any]) -> str:
    """The fields a disclosed `record` withholds that the pack's query selects on (its
    account and model lookup fields), comma-separated; "" when none (or a whole record)."""
    if not is_disclosure(record):
        return ""
    opened = open_record(record)
    _, account, model = LOOKUP_FIELDS[opened.kind]
    wanted = [
        name
        for name, asked in ((account, pack.query.account_ids), (model, pack.query.model))
        if name is not None and asked is not None and name in opened.withheld
    ]
    return ", ".join(wanted)


def _where(pack: Pack, position: int) -> str:
    return f"entries[{position}] (leaf index {pack.indices[position]})"


def _check_records(run: Run, pack: Pack) -> list[Entry]:
    entries: list[Entry] = []
    for position, record in enumerate(pack.records):
        try:
            entries.append(record_entry(record))
        except RecordError as error:
            run.fail(
                VerificationError("records", record_problem(_where(pack, position), record, error))
            )
    seen: dict[bytes, int] = {}
    for position, entry in enumerate(entries):
        if entry.leaf_hash in seen:
            run.fail(
                VerificationError(
                    "records",
                    f"{_where(pack, position)} repeats the record of"
                    f" {_where(pack, seen[entry.leaf_hash])}"
                    f" ({hex0x(entry.leaf_hash)}): an entry is counted once",
                )
            )
        seen[entry.leaf_hash] = position
    kinds = Counter(entry.kind for entry in entries)
    shown = ", ".join(f"{count:,} {kind}" for kind, count in sorted(kinds.items()))
    partial = sum(1 for record in pack.records if is_disclosure(record))
    disclosed = f"; {partial:,} v2 records disclosed in part" if partial else ""
    run.ok(
        "records",
        f"{len(entries):,} valid records in canonical form (RFC 8785): {shown}{disclosed}",
    )
    return entries


def _check_query(run: Run, pack: Pack, entries: Sequence[Entry]) -> None:
    accounts = None if pack.query.account_ids is None else frozenset(pack.query.account_ids)
    for position, entry in enumerate(entries):
        if not pack.query.matches(entry, accounts):
            run.fail(
                VerificationError(
                    "query",
                    f"{_where(pack, position)} does not match the pack's query"
                    f" ({pack.query.describe()}): kind {entry.kind}, ts {entry.ts},"
                    f" account {entry.account_id}, model {entry.model}",
                )
            )
    run.ok("query", f"every entry matches: {pack.query.describe()}")


def _check_inclusion(run: Run, pack: Pack, entries: Sequence[Entry]) -> None:
    size = pack.tree_size
    if not entries:
        run.ok("inclusion", "no entry matches the query: nothing to include")
        return
    try:
        verify_multi_inclusion(
            pack.indices, size, [entry.leaf_hash for entry in entries], pack.proof, pack.root
        )
    except ProofLengthError as error:
        run.fail(
            VerificationError(
                "inclusion",
                f"the proof has {error.got} nodes; {len(entries):,} leaves at these"
                f" indices of the tree of size {size} need exactly {error.expected}",
            )
        )
    except RootMismatchError as error:
        run.fail(
            VerificationError(
                "inclusion",
                f"the {len(entries):,} records, their leaf indices and the {len(pack.proof):,}"
                f" proof nodes lead to root {hex0x(error.calculated)} for tree size {size},"
                f" not to the checkpoint root {hex0x(pack.root)} (a record, a leaf index, a"
                " proof node, the root or the size differs from what was logged)",
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


def _check_complete(
    run: Run, pack: Pack, part: PackCompleteness, entries: Sequence[Entry]
) -> tuple[KeyCompleteness, ...]:
    """Each account's entries in the pack, with the key's entries outside the query,
    are exactly the key's committed postings in the window, under the index root."""
    accounts = pack.query.account_ids
    assert accounts is not None  # parse_pack checks it
    matching: dict[str, list[int]] = {account: [] for account in accounts}
    for index, entry in zip(pack.indices, entries, strict=True):
        matching[entry.account_id or ""].append(index)
    markers = [
        (f"{proof.key}: outside entry {number} (leaf {other.leaf_index})", other)
        for proof in part.keys
        for number, other in enumerate(proof.outside)
        if isinstance(other, ErasedEntry)
    ]
    proven = []
    for account, proof in zip(accounts, part.keys, strict=True):
        key = account_key(account)
        if proof.key != key:
            run.fail(
                VerificationError(
                    "completeness",
                    f"the proof for account {account!r:.300} is of key {proof.key!r:.300},"
                    f" not {key!r:.300} (one proof per account, in the query's order)",
                )
            )
        for number, other in enumerate(proof.outside):
            where = f"{key}: outside entry {number} (leaf {other.leaf_index})"
            check_key_entry(run, where, pack.tree_size, pack.root, key, other)
            if isinstance(other, ErasedEntry):
                continue  # no record left to match: the index still lists it
            hidden = withheld_selectors(pack, other.record)
            if hidden:
                run.fail(
                    VerificationError(
                        "omitted",
                        f"{where} withholds {hidden}, which the pack's query selects on: it"
                        " cannot be shown not to match",
                    )
                )
            if pack.query.matches(record_entry(other.record)):
                run.fail(
                    VerificationError(
                        "omitted",
                        f"{where} matches the pack's query ({pack.query.describe()}) but is"
                        " not among the pack's entries",
                    )
                )
        inside = [i for i in matching[account] if part.start <= i < part.end]
        if len(inside) != len(matching[account]):
            run.fail(
                VerificationError(
                    "tree size",
                    f"{key}: an entry of the pack lies outside the proven window"
                    f" [{part.start}, {part.end})",
                )
            )
        claim = PostingsClaim(
            key=key,
            tree_size=pack.tree_size,
            index_root=part.index_root,
            count=proof.count,
            postings_root=proof.postings_root,
            start=part.start,
            end=part.end,
            leaf_indices=tuple(sorted(inside + [e.leaf_index for e in proof.outside])),
            map_proof=proof.map_proof,
            window=proof.postings_proof,
        )
        try:
            verify_postings(claim)
        except IndexProofError as error:
            run.fail(VerificationError(error.check, f"{key}: {error.message}"))
        proven.append(
            KeyCompleteness(
                key,
                pack.tree_size,
                part.start,
                part.end,
                tuple(inside),
                pack.query.describe(),
                len(proof.outside),
                sum(isinstance(other, ErasedEntry) for other in proof.outside),
                sum(
                    isinstance(other, ErasedEntry) and other.member is not None
                    for other in proof.outside
                ),
            )
        )
    check_erasures(run, pack.tree_size, pack.root, part.index_root, part.erasures, markers)
    erased = sum(key.erased for key in proven)
    shown = sum(key.proven for key in proven)
    outside = sum(len(proof.outside) for proof in part.keys) - erased
    run.ok(
        "complete",
        f"the {len(accounts):,} accounts' entries in the pack, with their {outside:,} entries"
        " that do not match the query"
        + (f" and {shown:,} {PROVEN}" if shown else "")
        + (
            f" and {erased - shown:,} marked erased (whether they match cannot be shown{UNCHECKED})"
            if erased - shown
            else ""
        )
        + f", are all their entries with leaf index in [{part.start}, {part.end}), under"
        f" index root {hex0x(part.index_root)}",
    )
    return tuple(proven)


def verify_pack(
    data: bytes | str | Mapping[str, Any],
    chain: ChainReader | None,
    identity: LogIdentity | None = None,
    witnesses: WitnessPolicy | None = None,
    max_timestamp: int | None = None,
) -> VerificationResult:
    """Verify a pack: the mathematics, then (unless `chain` is None, offline) the chain,
    against the pinned `identity` (required with a chain).

    Returns the result when every check passes; raises VerificationError (PackError,
    ChainReadError) naming the first check that failed, with `result` attached.
    """
    run = start(chain, identity)
    try:
        pack = parse_pack(data)
    except FormatError as error:
        run.fail(PackError(str(error)))
    count = len(pack.indices)
    run.ok(
        "pack",
        f"{PACK_FORMAT}: {count:,} {'entry' if count == 1 else 'entries'},"
        f" log {hex0x(pack.log_id)}, contract {hex0x(pack.contract)} on"
        f" chain id {pack.chain_id}, tree size {pack.tree_size}",
    )
    run.result.bundle = pack
    check_identity(run, pack, identity)
    entries = _check_records(run, pack)
    _check_query(run, pack, entries)
    _check_inclusion(run, pack, entries)
    part = pack.completeness
    proven = () if part is None else _check_complete(run, pack, part, entries)
    check_checkpoint_note(run, pack, pack.checkpoint_note, identity, witnesses, max_timestamp)
    if chain is not None and identity is not None:
        check_chain(run, pack, chain, identity)
        if part is not None:
            check_index_root_on_chain(run, pack.tree_size, part.index_root)
    run.result.complete_keys = proven
    return run.result
