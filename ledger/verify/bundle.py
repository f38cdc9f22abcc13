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
3. per entry: ``record`` (its RFC 8785 encoding is a valid, canonical v1 record),
   ``leaf hash`` (SHA-256(0x00 || canonical bytes) is the bundle's leaf hash),
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

from collections.abc import Mapping
from typing import Any

import rfc8785

from ledger.core.merkle import ProofError, RootMismatchError, verify_inclusion
from ledger.core.records import RecordError, leaf_hash, validate_canonical
from ledger.formats.bundle import BUNDLE_FORMAT, Bundle, BundleEntry, parse_bundle
from ledger.formats.cosignature import WitnessPolicy
from ledger.formats.fields import FormatError, hex0x
from ledger.formats.identity import LogIdentity
from ledger.verify.chain import ChainReader, check_chain, check_identity, start
from ledger.verify.checkpoint_note import check_checkpoint_note
from ledger.verify.result import BundleError, Run, VerificationError, VerificationResult


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The bytes the log hashed for `record`: its RFC 8785 encoding, which must be a
    valid v1 record in canonical form (RecordError otherwise)."""
    try:
        canonical = rfc8785.dumps(record)
    except rfc8785.CanonicalizationError as error:
        raise RecordError("", f"cannot be encoded with RFC 8785: {error}") from None
    except UnicodeEncodeError:  # rfc8785 sorts keys by their UTF-16: a lone surrogate in a key
        raise RecordError(
            "", "cannot be encoded with RFC 8785: a key holds a lone UTF-16 surrogate"
        ) from None
    except RecursionError:  # a decoded object nested too deep (text is depth-checked first)
        raise RecordError("", "nested too deep to be a record") from None
    validate_canonical(canonical)
    return canonical


def _check_entry(run: Run, bundle: Bundle, number: int, entry: BundleEntry) -> None:
    where = f"entry {number}" if len(bundle.entries) > 1 else "entry"
    try:
        canonical = canonical_bytes(entry.record)
    except RecordError as error:
        run.fail(VerificationError("record", f"{where}: not a valid v1 record: {error}"))
    kind = entry.record.get("kind")
    run.ok(
        "record",
        f"{where}: a valid {kind} record, {len(canonical)} bytes in canonical form (RFC 8785)",
    )
    computed = leaf_hash(canonical)
    if computed != entry.leaf_hash:
        run.fail(
            VerificationError(
                "leaf hash",
                f"{where}: the record hashes to {hex0x(computed)}, not"
                f" to the bundle's leaf hash {hex0x(entry.leaf_hash)}",
            )
        )
    run.ok("leaf hash", f"{where}: SHA-256(0x00 || record) = {hex0x(computed)}")
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
