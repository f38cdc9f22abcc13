"""The verifier of completeness proofs (`model-ledger/completeness/v1`): that a list of
entries is every entry of one index key among the first S entries of the log (or in a
window [A, B) of them), against the index root the log key signed in the checkpoint of
size S, which LogAnchor emitted when it anchored that checkpoint. See docs/completeness.md.

Checks, in order; the first that fails stops verification with a `VerificationError`
naming it:

1. ``completeness``: strict JSON, the known format, every field present, typed, in range.
2. ``log identity`` (when one is pinned), as for bundles.
3. ``key``: KIND:VALUE with a known kind.
4. ``tree size`` (the window is part of the first S entries and every entry lies in it),
   ``duplicated``, ``reordered`` (leaf indices strictly increase).
5. per entry: ``record``, ``leaf hash``, ``inclusion`` (as in bundles), then ``added``:
   the record is filed under the key (`ledger.core.index.record_keys`). An erased entry
   (docs/privacy.md) has no record: only its ``inclusion`` is checked, and the index
   proof of step 6 says it is one of the key's entries. Then ``erasure`` (when the
   document gives erasures, `check_erasures`): each marker with a membership proof is
   proven, by a logged erasure statement that lists its leaf index and leaf hash, whose
   record the index files under ``statement:log`` (`_check_filed`); a marker without
   one stays the operator's claim (`UNCHECKED`).
6. ``omitted`` (the entries are exactly the key's committed postings in the window),
   ``index map`` (the map proof is a path for this key), ``index root`` (the map root and
   S give the document's index root: not a stale one, nor another size's).
7. with a chain: the checks of `ledger.verify.chain.check_anchor` (a size never anchored
   fails ``root on chain``), then ``index root on chain``: the anchored checkpoint's
   index root, signed by the log key, is the document's.

Offline, the index root is the document's claim, as the checkpoint root is for bundles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.core.index import (
    STATEMENT_KEY,
    IndexProofError,
    PostingsClaim,
    check_indices,
    parse_key,
    record_keys,
)
from ledger.core.index import verify_postings as verify_index_postings
from ledger.core.merkle import ProofError, RootMismatchError, verify_inclusion
from ledger.core.records import RecordError
from ledger.formats.completeness import (
    COMPLETENESS_FORMAT,
    ErasedEntry,
    ErasureProof,
    KeyEntry,
    parse_completeness,
)
from ledger.formats.eip712 import NO_INDEX_ROOT
from ledger.formats.fields import FormatError, hex0x
from ledger.formats.identity import LogIdentity
from ledger.formats.statement import (
    ERASURE_TYPE,
    erasure_member,
    statement_salt,
    statement_sha256,
)
from ledger.verify.bundle import check_leaf, open_record, record_problem
from ledger.verify.chain import ChainReader, check_chain, check_identity, start
from ledger.verify.result import (
    ChainAnchor,
    KeyCompleteness,
    Run,
    VerificationError,
    VerificationResult,
    utc_text,
)

UNCHECKED = (
    ": that a logged erasure covers them is the operator's claim here; `mledger audit`"
    " of the log's export checks it"
)
"""What a verifier adds where it accepts an entry marked erased without a membership
proof: the marker names the erasure record but the document does not prove it (an
erasure logged before statements had ``leaves_root``, or one after the document's size;
the audit recomputes every erasure)."""

_HEX64 = re.compile(r"[0-9a-f]{64}")

PROVEN = "proven erased by a logged erasure"
"""What a verifier says of an entry whose erasure marker it proved (`check_erasures`)."""


def erased_words(erased: int, proven: int) -> str:
    """What the ``record`` check adds of a document's `erased` entries, `proven` of whose
    markers were proven ("" for none)."""
    if not erased:
        return ""
    head = f"; {erased} erased entries carry their leaf hash only"
    if proven == erased:
        return f"{head}, each {PROVEN}"
    if proven:
        head += f", {proven} {PROVEN}; for the other {erased - proven}"
    return head + UNCHECKED


class CompletenessError(VerificationError):
    """The completeness proof cannot be read: not JSON, an unknown format, a bad field."""

    def __init__(self, message: str) -> None:
        super().__init__("completeness", message)


def _index_check(run: Run, error: IndexProofError) -> None:
    run.fail(VerificationError(error.check, error.message))


def check_key_entry(
    run: Run, where: str, tree_size: int, root: bytes, key: str, entry: KeyEntry
) -> None:
    """One entry given as the key's, with its own inclusion proof: ``record``, ``leaf
    hash``, ``inclusion`` in the tree of `tree_size` with `root`, ``added`` (the record
    is filed under `key`). An erased entry has no record to check: only its inclusion
    (the index proof then says whether the key lists it)."""
    if isinstance(entry, ErasedEntry):
        _check_inclusion(run, where, tree_size, root, entry)
        return
    try:
        opened = open_record(entry.record)
    except RecordError as error:
        run.fail(VerificationError("record", record_problem(where, entry.record, error)))
    mismatch = check_leaf(opened, entry.leaf_hash, where, "the entry's")
    if mismatch is not None:
        run.fail(VerificationError("leaf hash", mismatch))
    _check_inclusion(run, where, tree_size, root, entry)
    keys = record_keys({"kind": opened.kind, "body": opened.body, "salt": entry.record.get("salt")})
    if key not in keys:
        filed = ", ".join(keys) if keys else "no key"
        run.fail(
            VerificationError(
                "added",
                f"{where} is a record of kind {entry.record.get('kind')} filed under {filed},"
                f" not under {key}: it is not an entry of this key",
            )
        )


def _check_inclusion(run: Run, where: str, tree_size: int, root: bytes, entry: KeyEntry) -> None:
    try:
        verify_inclusion(entry.leaf_index, tree_size, entry.leaf_hash, entry.proof, root)
    except RootMismatchError as error:
        run.fail(
            VerificationError(
                "inclusion",
                f"{where}: the proof leads to root {hex0x(error.calculated)}, not to the"
                f" checkpoint root {hex0x(root)}",
            )
        )
    except ProofError as error:
        run.fail(VerificationError("inclusion", f"{where}: bad inclusion proof: {error}"))


def _erasure_fail(message: str) -> VerificationError:
    return VerificationError("erasure", message)


def _statement_of(
    run: Run, where: str, erasure: ErasureProof, tree_size: int, root: bytes, index_root: bytes
) -> bytes:
    """The leaf hash of `erasure`'s digest record, once it is checked: a whole digest
    record, included at its leaf index below `tree_size`, committing to an erasure
    statement that has a ``leaves_root``, a ``count`` and a ``ts``, and filed under
    ``statement:log`` by the index of `index_root` (`_check_filed`)."""
    if erasure.leaf_index >= tree_size:
        run.fail(
            _erasure_fail(
                f"{where}: its record is at leaf index {erasure.leaf_index}, not within the"
                f" document's tree of size {tree_size}: the tree does not hold it"
            )
        )
    try:
        opened = open_record(erasure.record)
    except RecordError as error:
        run.fail(_erasure_fail(record_problem(where, erasure.record, error)))
    if opened.kind != "digest" or "sha256" not in opened.body:
        run.fail(
            _erasure_fail(
                f"{where}: its record is a {opened.kind} record, not a whole digest record"
                " (the kind of record that logs an erasure)"
            )
        )
    salt = statement_salt(opened.body["sha256"])
    if erasure.record.get("salt") != salt:
        run.fail(
            _erasure_fail(
                f"{where}: its record's salt is not {salt}, the one the log gives its own"
                " statement records (derived from their sha256): only those prove an"
                " erasure, since no key may log one and `mledger audit` checks each"
            )
        )
    try:
        verify_inclusion(erasure.leaf_index, tree_size, opened.leaf_hash, erasure.proof, root)
    except RootMismatchError as error:
        run.fail(
            _erasure_fail(
                f"{where}: its record's inclusion proof leads to root {hex0x(error.calculated)},"
                f" not to the checkpoint root {hex0x(root)}: the record is not logged there"
            )
        )
    except ProofError as error:
        run.fail(_erasure_fail(f"{where}: bad inclusion proof of its record: {error}"))
    statement = erasure.statement
    try:
        digest = statement_sha256(statement)
    except (ValueError, TypeError) as error:
        run.fail(_erasure_fail(f"{where}: the statement has no canonical form: {error}"))
    if digest != opened.body["sha256"]:
        run.fail(
            _erasure_fail(
                f"{where}: the statement's SHA-256 is {digest}, not the"
                f" {opened.body['sha256']!r:.80} its digest record commits to: it is not the"
                " statement the log holds"
            )
        )
    if statement.get("type") != ERASURE_TYPE:
        run.fail(
            _erasure_fail(
                f"{where}: the statement is of type {statement.get('type')!r:.80}, not an"
                f" erasure ({ERASURE_TYPE})"
            )
        )
    count, leaves, ts = statement.get("count"), statement.get("leaves_root"), statement.get("ts")
    if (
        type(count) is not int
        or count < 1
        or not isinstance(leaves, str)
        or not _HEX64.fullmatch(leaves)
        or not isinstance(ts, str)
    ):
        run.fail(
            _erasure_fail(
                f"{where}: the statement must give count (a positive integer), leaves_root (64"
                " lowercase hex) and ts: without leaves_root no entry can be proven erased by it"
            )
        )
    _check_filed(run, where, erasure, tree_size, index_root)
    return opened.leaf_hash


def _check_filed(
    run: Run, where: str, erasure: ErasureProof, tree_size: int, index_root: bytes
) -> None:
    """The erasure's ``filed`` proof: its record's leaf index is in the postings of
    ``statement:log`` in the first `tree_size` entries, by the index of `index_root`.
    So the anchored index binds the record as a statement, and `mledger audit` fails an
    export that erased it or hid it from that key."""
    filed = erasure.filed
    at = erasure.leaf_index
    if filed is None:
        run.fail(
            _erasure_fail(
                f"{where}: the document does not prove its record filed under {STATEMENT_KEY},"
                f" the index key of the log's own statement records, at size {tree_size}:"
                " without that proof its membership proofs prove nothing (the record could be"
                " one the audit cannot tell is a statement)"
            )
        )
    claim = PostingsClaim(
        key=STATEMENT_KEY,
        tree_size=tree_size,
        index_root=index_root,
        count=filed.count,
        postings_root=filed.postings_root,
        start=at,
        end=at + 1,
        leaf_indices=(at,),
        map_proof=filed.map_proof,
        window=filed.window,
    )
    try:
        verify_index_postings(claim)
    except IndexProofError as error:
        run.fail(
            _erasure_fail(
                f"{where}: its record is not proven filed under {STATEMENT_KEY} at leaf index"
                f" {at} by the index root {hex0x(index_root)} of size {tree_size}"
                f" ({error.check}: {error.message})"
            )
        )


def check_erasures(
    run: Run,
    tree_size: int,
    root: bytes,
    index_root: bytes,
    erasures: Sequence[ErasureProof],
    markers: Sequence[tuple[str, ErasedEntry]],
) -> int:
    """``erasure``: each erasure the document gives is a digest record included in its
    tree (of `tree_size` with `root`) committing to an erasure statement, and filed under
    ``statement:log`` by the index of `index_root` at that size; each marker of
    `markers` (where, entry) with a membership proof names one of them, lies before it,
    has its time, and its leaf index and leaf hash are in the statement's
    ``leaves_root`` at the proof's position; every erasure given is used. How many
    markers were proven (the others are the operator's claim)."""
    given: dict[bytes, ErasureProof] = {}
    for number, erasure in enumerate(erasures):
        where = f"erasure {number} (leaf {erasure.leaf_index})"
        leaf = _statement_of(run, where, erasure, tree_size, root, index_root)
        if leaf in given:
            run.fail(_erasure_fail(f"{where}: its record {hex0x(leaf)} is given twice"))
        given[leaf] = erasure
    used: set[bytes] = set()
    proven = 0
    for where, entry in markers:
        member = entry.member
        if member is None:
            continue
        if entry.erased_by not in given:
            run.fail(
                _erasure_fail(
                    f"{where}: its marker proves membership in the erasure logged by record"
                    f" {hex0x(entry.erased_by)}, which the document's erasures do not give"
                )
            )
        erasure = given[entry.erased_by]
        statement = erasure.statement
        if entry.leaf_index >= erasure.leaf_index:
            run.fail(
                _erasure_fail(
                    f"{where}: the erasure's record is at leaf index {erasure.leaf_index}, not"
                    " after the entry: an erasure erases entries logged before it"
                )
            )
        if statement["ts"] != entry.erased_at:
            run.fail(
                _erasure_fail(
                    f"{where}: its marker says erased at {entry.erased_at}; the erasure logged"
                    f" by record {hex0x(entry.erased_by)} was made at {statement['ts']!r:.80}"
                )
            )
        leaves_root = bytes.fromhex(statement["leaves_root"])
        member_hash = erasure_member(entry.leaf_index, entry.leaf_hash)
        try:
            verify_inclusion(
                member.position, statement["count"], member_hash, member.path, leaves_root
            )
        except RootMismatchError as error:
            run.fail(
                _erasure_fail(
                    f"{where}: its leaf index and leaf hash at position {member.position} of"
                    f" the erasure's {statement['count']} entries lead to leaves root"
                    f" {hex0x(error.calculated)}, not to the statement's"
                    f" {hex0x(leaves_root)}: that erasure does not list this entry"
                )
            )
        except ProofError as error:
            run.fail(
                _erasure_fail(
                    f"{where}: bad membership proof in the erasure of"
                    f" {statement['count']} entries: {error}"
                )
            )
        used.add(entry.erased_by)
        proven += 1
    for number, (leaf, erasure) in enumerate(given.items()):
        if leaf not in used:
            run.fail(
                _erasure_fail(
                    f"erasure {number} (leaf {erasure.leaf_index}) proves no marker of the"
                    " document: an erasure is given only for the markers it proves"
                )
            )
    if erasures:
        run.ok(
            "erasure",
            f"{proven} erased entries are {PROVEN}: each is listed, by leaf index and leaf"
            f" hash, in the leaves root of the erasure statement it names ({len(erasures)}"
            " given), made at its marker's time, whose digest record is included before the"
            f" entry in the tree of size {tree_size} and filed under {STATEMENT_KEY} by its"
            " index",
        )
    return proven


def verify_completeness(
    data: bytes | str | Mapping[str, Any],
    chain: ChainReader | None,
    identity: LogIdentity | None = None,
) -> VerificationResult:
    """Verify a completeness proof: the mathematics, then (unless `chain` is None,
    offline) the chain, against the pinned `identity` (required with a chain).

    Returns the result, whose `complete` says what was proven, when every check passes;
    raises VerificationError naming the first check that failed, with `result` attached.
    """
    run = start(chain, identity)
    try:
        document = parse_completeness(data)
    except FormatError as error:
        run.fail(CompletenessError(str(error)))
    claim = document.claim
    run.ok(
        "completeness",
        f"{COMPLETENESS_FORMAT}: key {claim.key!r:.300}, {len(document.entries)} entries,"
        f" log {hex0x(document.log_id)}, contract {hex0x(document.contract)} on chain id"
        f" {document.chain_id}, tree size {document.tree_size}",
    )
    run.result.bundle = document
    check_identity(run, document, identity)
    try:
        kind, _ = parse_key(claim.key)
        run.ok("key", f"{claim.key!r:.300}: a key of kind {kind}")
        check_indices(claim)
    except IndexProofError as error:
        _index_check(run, error)
    given = len(claim.leaf_indices)
    run.ok(
        "tree size",
        f"the window [{claim.start}, {claim.end}) lies in the first {claim.tree_size} entries,"
        f" and so do the {given} entries' leaf indices",
    )
    run.ok("duplicated", "no leaf index is given twice")
    run.ok("reordered", "the leaf indices strictly increase")
    for number, entry in enumerate(document.entries):
        check_key_entry(
            run,
            f"entry {number} (leaf {entry.leaf_index})",
            document.tree_size,
            document.root,
            claim.key,
            entry,
        )
    markers = [
        (f"entry {number} (leaf {entry.leaf_index})", entry)
        for number, entry in enumerate(document.entries)
        if isinstance(entry, ErasedEntry)
    ]
    proven = check_erasures(
        run, document.tree_size, document.root, claim.index_root, document.erasures, markers
    )
    where = f"the tree of size {document.tree_size} with root {hex0x(document.root)}"
    erased = len(markers)
    opened = given - erased
    run.ok(
        "record",
        f"all {opened} records are valid v1 records in canonical form (RFC 8785)"
        + erased_words(erased, proven),
    )
    run.ok("leaf hash", f"all {opened} records hash to their entries' leaf hashes")
    run.ok("inclusion", f"all {given} entries are included at their leaf indices in {where}")
    run.ok(
        "added",
        f"all {opened} records are filed under {claim.key}"
        + (f"; the index files the {erased} erased entries under it" if erased else ""),
    )
    try:
        map_root = verify_index_postings(claim)
    except IndexProofError as error:
        _index_check(run, error)
    if claim.count:
        run.ok(
            "omitted",
            f"the {given} entries are all the key's postings in the window ({claim.count} in"
            f" the first {claim.tree_size}), by its postings root"
            f" {hex0x(claim.postings_root or b'')}",
        )
    else:
        run.ok(
            "omitted",
            f"the key has no entry in the first {claim.tree_size}: nothing to omit",
        )
    run.ok(
        "index map",
        f"the map proof is a path of {len(claim.map_proof.siblings)} levels for"
        f" SHA-256({claim.key!r:.300}), ending at "
        + (
            "its leaf"
            if claim.count
            else ("another key's leaf" if claim.map_proof.other else "an empty subtree")
        ),
    )
    run.ok(
        "index root",
        f"map root {hex0x(map_root)} and size {claim.tree_size} give the document's index"
        f" root {hex0x(claim.index_root)}",
    )
    if chain is not None and identity is not None:
        check_chain(run, document, chain, identity)
        check_index_root_on_chain(run, claim.tree_size, claim.index_root)
    run.result.complete = KeyCompleteness(
        claim.key, claim.tree_size, claim.start, claim.end, claim.leaf_indices
    )
    return run.result


def check_index_root_on_chain(run: Run, tree_size: int, index_root: bytes) -> None:
    """``index root on chain``: the index root the log key signed with the anchored
    checkpoint of `tree_size` (read by `check_chain`) is `index_root`."""
    anchored = run.result.anchored
    assert anchored is not None
    if anchored.index_root == NO_INDEX_ROOT:
        run.fail(
            VerificationError(
                "index root on chain",
                f"the checkpoint of size {tree_size} anchored in block"
                f" {anchored.block_number} commits to no index (its index root is zero):"
                " no completeness claim can be checked against it",
            )
        )
    if anchored.index_root != index_root:
        run.fail(
            VerificationError(
                "index root on chain",
                f"the log key signed index root {hex0x(anchored.index_root)} with the"
                f" checkpoint of size {tree_size}; the document's is"
                f" {hex0x(index_root)} (a stale or forged index root)",
            )
        )
    run.ok(
        "index root on chain",
        f"the checkpoint anchored in block {anchored.block_number} carries index root"
        f" {hex0x(anchored.index_root)}",
    )


def completeness_statement(result: VerificationResult) -> str:
    """``COMPLETE: N entries of KEY in the first S entries (anchored at block B, time
    T)``, or with a window ``... with leaf index in [A, B) of the first S``; offline it
    says the anchoring is the document's unverified claim."""
    if result.complete is None:
        return "not verified"
    return key_statement(result.complete, result.anchored, "document")


def key_statement(complete: KeyCompleteness, anchored: ChainAnchor | None, noun: str) -> str:
    """The COMPLETE line of one proven key; for a key of a complete pack, also how many
    of the key's entries match the pack's query and how many do not."""
    count = complete.count
    plural = "entry" if count == 1 else "entries"
    if (complete.start, complete.end) == (0, complete.tree_size):
        where = f"in the first {complete.tree_size} entries"
    else:
        where = (
            f"with leaf index in [{complete.start}, {complete.end}) of the first"
            f" {complete.tree_size} entries"
        )
    head = f"COMPLETE: {count} {plural} of {complete.key} {where}"
    if complete.query is not None:
        others = complete.outside - complete.erased
        unproven = complete.erased - complete.proven
        erased = (
            f"; {complete.proven} more {'is' if complete.proven == 1 else 'are'} {PROVEN}"
            if complete.proven
            else ""
        ) + (
            f"; {unproven} more {'is' if unproven == 1 else 'are'} marked"
            " erased, so whether they match cannot be shown"
            if unproven
            else ""
        )
        head += (
            f" match the query ({complete.query}; {others} other"
            f" {'entry' if others == 1 else 'entries'} of the key do not{erased})"
        )
    if anchored is not None:
        return (
            f"{head} (anchored at block {anchored.block_number},"
            f" time {utc_text(anchored.timestamp)})"
        )
    return f"{head} (offline: that this index root was anchored is the {noun}'s claim)"


def completeness_result_json(result: VerificationResult) -> dict[str, Any]:
    """The verdict as `mledger verify --json` gives it for a completeness proof: `valid`,
    `key`, `count`, `tree_size`, `leaf_indices`, the window, and the anchor read from
    the chain (null offline)."""
    complete = result.complete
    anchored = result.anchored
    return {
        "valid": result.valid and complete is not None,
        "key": None if complete is None else complete.key,
        "count": None if complete is None else complete.count,
        "tree_size": None if complete is None else complete.tree_size,
        "window": None
        if complete is None
        else {"from_size": complete.start, "to_size": complete.end},
        "leaf_indices": None if complete is None else list(complete.leaf_indices),
        "anchored": None
        if anchored is None
        else {
            "block_number": anchored.block_number,
            "block_timestamp": anchored.timestamp,
            "index_root": hex0x(anchored.index_root),
        },
        "statement": completeness_statement(result),
        "checks": [
            {"name": check.name, "passed": check.passed, "detail": check.detail}
            for check in result.checks
        ],
    }
