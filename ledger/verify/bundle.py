"""The independent verifier of evidence bundles: trusts only mathematics, the chain and
the log identity its user pinned.

Imports nothing of the service (no store, no API, no anchorer, no web3): only the frozen
pure modules `ledger.core.merkle` and `ledger.core.records`, the public formats (`ledger.formats`)
and, for the chain, the JSON-RPC reads of `ledger.verify.rpc`. The bundle format is in
docs/evidence-format.md.

Checks, in order; the first that fails stops verification with a `VerificationError`
naming it (its `result` lists the checks run so far, the failed one last):

1. ``bundle``: strict JSON (`ledger.formats.strict_json`), the known format, every field
   present, typed and in range; nothing unknown.
2. ``log identity`` (when a log identity is pinned, offline too): the bundle names the
   pinned chain id, LogAnchor and log id. A bundle about another log fails here,
   whatever else checks out: anyone can deploy a copy of LogAnchor and anchor anything.
3. per entry: ``record`` (its RFC 8785 encoding is a valid, canonical v1 or v2 record,
   or a v2 record disclosed in part, `ledger.core.disclosure`), ``leaf hash`` (SHA-256(0x00
   || canonical bytes) for v1, of the field commitments for v2, is the bundle's leaf hash),
   ``inclusion`` (leaf hash, index and proof lead to the checkpoint's root).
4. with a chain (never without a pinned identity), `check_anchor`: ``chain id`` (the
   node serves the pinned chain), ``contract`` (the code at the pinned address is the
   LogAnchor runtime code this package ships, byte for byte), ``log`` (the contract
   holds the log with the pinned log key, not retired before this size), ``root on
   chain`` (`rootAt(logId, size)` is the checkpoint's root), ``anchor transaction`` (the
   bundle's transaction succeeded, in the block the bundle names, and its receipt holds
   `Anchored(logId, size, root, ...)` emitted by the pinned LogAnchor: whom the
   transaction called is not checked, since anyone may relay a signed checkpoint, through
   a contract of their own too), ``anchor block`` (that block is on the chain; its
   header's timestamp is the time stated).

After step 4 the entries provably existed no later than the anchor block's timestamp,
read from the block header: the contract stores no time a deployer could choose. Since
a size is anchored at most once, that block is the only one where this checkpoint was
anchored. Offline, the checkpoint (tree size, root, block) is taken from the bundle on
trust: an inclusion proof does not pin the tree size by itself (see
`ledger.core.merkle.verify`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import rfc8785
from pydantic_core import to_json

from ledger.core.disclosure import OpenedRecord, is_disclosure, open_disclosure, open_whole
from ledger.core.merkle import ProofError, RootMismatchError, verify_inclusion
from ledger.core.records import RecordError, validate_canonical
from ledger.formats.bundle import BUNDLE_FORMAT, Bundle, BundleEntry, parse_bundle
from ledger.formats.cosignature import WitnessPolicy
from ledger.formats.fields import FormatError, hex0x
from ledger.formats.identity import LogIdentity
from ledger.verify.chain import ChainReader, check_chain, check_identity, start
from ledger.verify.checkpoint_note import check_checkpoint_note
from ledger.verify.result import BundleError, Run, VerificationError, VerificationResult


def _jcs(record: dict[str, Any]) -> bytes:
    try:
        return rfc8785.dumps(record)
    except rfc8785.CanonicalizationError as error:
        raise RecordError("", f"cannot be encoded with RFC 8785: {error}") from None
    except UnicodeEncodeError:  # rfc8785 sorts keys by their UTF-16: a lone surrogate in a key
        raise RecordError(
            "", "cannot be encoded with RFC 8785: a key holds a lone UTF-16 surrogate"
        ) from None
    except RecursionError:  # a decoded object nested too deep (text is depth-checked first)
        raise RecordError("", "nested too deep to be a record") from None


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The bytes the log stored for whole `record`: its RFC 8785 encoding, which must be a
    valid record in canonical form (RecordError otherwise)."""
    canonical = _jcs(record)
    validate_canonical(canonical)
    return canonical


def _open_whole_fast(record: dict[str, Any]) -> OpenedRecord | None:
    """`open_whole` of a whole record whose RFC 8785 text is what the standard library's
    encoder writes, or None (then the caller takes the RFC 8785 encoder's path, and its
    errors). The C encoder writes exactly the RFC 8785 text of a valid record: sorted
    keys, which are ASCII in every valid record (field names, metadata keys), so code
    point and UTF-16 order agree; strings escaped alike (the same seven short escapes,
    other control characters as lowercase \\u00xx, nothing else); integers within the
    safe domain (the records' bounds); no floats (no record field takes one, and a
    record must round-trip through its strict model, `validate_canonical`). A record
    with a non-string key (only possible when a caller passes decoded objects) is written
    with a string key by the encoder: the decoded text is then not equal to `record`."""
    try:
        text = json.dumps(
            record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        canonical = text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return None
    if json.loads(canonical) != record:
        return None
    try:
        return open_whole(record, canonical)
    except RecordError:
        return None


def open_record(record: dict[str, Any]) -> OpenedRecord:
    """A record as evidence carries it, whole (v1 or v2) or a v2 disclosure, checked and
    opened, with the leaf hash it rebuilds (RecordError names the field at fault)."""
    if not is_disclosure(record):
        opened = _open_whole_fast(record)
        if opened is not None:
            return opened
    canonical = _jcs(record)
    if is_disclosure(record):
        return open_disclosure(record, len(canonical))
    return open_whole(record, canonical)


def record_problem(where: str, record: dict[str, Any], error: RecordError) -> str:
    """The sentence for a record that cannot be read, naming its version."""
    version = 2 if record.get("v") == 2 and record.get("v") is not True else 1
    return f"{where}: not a valid v{version} record: {error}"


MAX_SHOWN = 60
"""Most characters of a disclosed value printed (its RFC 8785 text, cut with ...)."""


def _shown(value: Any) -> str:
    text = to_json(value).decode()
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def record_sentence(where: str, opened: OpenedRecord) -> str:
    """What a verifier says of a readable record: its kind and size, and for v2 which
    fields it discloses (with their values when some are withheld) and how many not."""
    if opened.version == 1:
        return (
            f"{where}: a valid {opened.kind} record, {opened.size} bytes in canonical form"
            " (RFC 8785)"
        )
    total = len(opened.disclosed) + len(opened.withheld)
    if opened.whole:
        return (
            f"{where}: a valid v2 {opened.kind} record, {opened.size} bytes in canonical form"
            f" (RFC 8785), all {total} fields disclosed"
        )
    shown = ", ".join(
        f"{name}={_shown(opened.body[name])}" if name in opened.body else f"{name} absent"
        for name in opened.disclosed
    )
    return (
        f"{where}: a v2 {opened.kind} record of {opened.ts} disclosed in part:"
        f" {len(opened.disclosed)} of {total} fields disclosed ({shown or 'none'}),"
        f" {len(opened.withheld)} withheld as digests"
    )


def check_leaf(opened: OpenedRecord, leaf: bytes, where: str, whose: str) -> str | None:
    """None when `opened` rebuilds leaf hash `leaf`; else the sentence saying it does not
    (`whose` names where the expected hash comes from: "the bundle's")."""
    if opened.leaf_hash == leaf:
        return None
    hashed = "the record hashes" if opened.version == 1 else "the record's field commitments hash"
    return f"{where}: {hashed} to {hex0x(opened.leaf_hash)}, not to {whose} leaf hash {hex0x(leaf)}"


def _check_entry(run: Run, bundle: Bundle, number: int, entry: BundleEntry) -> None:
    where = f"entry {number}" if len(bundle.entries) > 1 else "entry"
    try:
        opened = open_record(entry.record)
    except RecordError as error:
        run.fail(VerificationError("record", record_problem(where, entry.record, error)))
    run.ok("record", record_sentence(where, opened))
    mismatch = check_leaf(opened, entry.leaf_hash, where, "the bundle's")
    if mismatch is not None:
        run.fail(VerificationError("leaf hash", mismatch))
    hashed = "record" if opened.version == 1 else "field commitments"
    run.ok("leaf hash", f"{where}: SHA-256(0x00 || {hashed}) = {hex0x(opened.leaf_hash)}")
    try:
        verify_inclusion(
            entry.leaf_index, bundle.tree_size, entry.leaf_hash, entry.proof, bundle.root
        )
    except RootMismatchError as error:
        run.fail(
            VerificationError(
                "inclusion",
                f"{where}: the proof of leaf {entry.leaf_index} in the tree of size"
                f" {bundle.tree_size} leads to root {hex0x(error.calculated)}, not"
                f" to the checkpoint root {hex0x(bundle.root)}",
            )
        )
    except ProofError as error:
        run.fail(VerificationError("inclusion", f"{where}: bad inclusion proof: {error}"))
    run.ok(
        "inclusion",
        f"{where}: leaf {entry.leaf_index} of the tree of size {bundle.tree_size}"
        f" ({len(entry.proof)} proof nodes) has root {hex0x(bundle.root)}",
    )


def verify_bundle(
    data: bytes | str | Mapping[str, Any],
    chain: ChainReader | None,
    identity: LogIdentity | None = None,
    witnesses: WitnessPolicy | None = None,
    max_timestamp: int | None = None,
) -> VerificationResult:
    """Verify a bundle: the mathematics, then (unless `chain` is None, offline) the chain,
    against the pinned `identity` (required with a chain).

    Returns the result when every check passes; raises VerificationError (BundleError,
    ChainReadError) naming the first check that failed, with `result` attached.
    """
    run = start(chain, identity)
    try:
        bundle = parse_bundle(data)
    except FormatError as error:
        run.fail(BundleError(str(error)))
    count = len(bundle.entries)
    run.ok(
        "bundle",
        f"{BUNDLE_FORMAT}: {count} {'entry' if count == 1 else 'entries'},"
        f" log {hex0x(bundle.log_id)}, contract {hex0x(bundle.contract)}"
        f" on chain id {bundle.chain_id}, tree size {bundle.tree_size}",
    )
    run.result.bundle = bundle
    check_identity(run, bundle, identity)
    for number, entry in enumerate(bundle.entries):
        _check_entry(run, bundle, number, entry)
    check_checkpoint_note(run, bundle, bundle.checkpoint_note, identity, witnesses, max_timestamp)
    if chain is not None and identity is not None:
        check_chain(run, bundle, chain, identity)
    return run.result
