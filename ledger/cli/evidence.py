"""`mledger evidence` (operator side: a bundle from the store) and `mledger verify` (anyone:
check a bundle trusting only mathematics and the chain).

Exit codes of `mledger verify`: 0 valid; 1 a check failed (the bundle is wrong, is about
another log than the pinned one, or does not match the chain); 2 usage, no pinned log
identity, or an unreadable file; 3 the chain could not be read, so nothing was decided.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from ledger.cli.common import (
    FROM_SETTINGS,
    AnchorOption,
    DatabaseUrl,
    DataDir,
    LogFile,
    Setting,
    anchor_choice,
    app,
    emit,
    fail,
    open_store,
    parse_hash,
    pinned_identity,
)
from ledger.formats.producer import producer
from ledger.verify.evidence import READ_LIMIT, verify_evidence
from ledger.verify.result import ChainReadError, VerificationError, VerificationResult
from ledger.verify.rpc import JsonRpcReader

if TYPE_CHECKING:
    from ledger.formats.cosignature import WitnessPolicy
    from ledger.formats.identity import LogIdentity

CHAIN_CHECKS = frozenset(
    {"chain", "chain id", "contract", "log", "root on chain", "anchor transaction", "anchor block"}
)
"""The checks that read the chain: a failure there leaves the mathematics valid."""

EXIT_INVALID = 1
"""A check failed."""

EXIT_UNREADABLE = 2
"""Usage error or a bundle file that cannot be read."""

EXIT_CHAIN_UNAVAILABLE = 3
"""The chain could not be read: the bundle is neither proven nor refuted."""


@app.command()
def evidence(
    leaf_hash: Annotated[
        str | None, typer.Argument(help="Leaf hash of the entry (0x + 64 hex); or --key.")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="An index key KIND:VALUE (account:acct-1, licence:lic-7...): print the"
            " completeness proof of all its entries instead of one entry's bundle.",
        ),
    ] = None,
    tree_size: Annotated[
        int | None,
        typer.Option(
            "--tree-size", min=1, help="With --key: an anchored size (default: the newest)."
        ),
    ] = None,
    from_size: Annotated[
        int | None, typer.Option("--from-size", min=0, help="With --key: window start A.")
    ] = None,
    to_size: Annotated[
        int | None, typer.Option("--to-size", min=1, help="With --key: window end B (excl.).")
    ] = None,
    from_time: Annotated[
        str | None,
        typer.Option("--from", help="With --key: window from this chain time (an anchored size)."),
    ] = None,
    to_time: Annotated[
        str | None,
        typer.Option("--to", help="With --key: window to this chain time (an anchored size)."),
    ] = None,
    disclose: Annotated[
        str | None,
        typer.Option(
            "--disclose",
            metavar="FIELD,...",
            help="Open only these body fields of v2 records (e.g. account_id,model): the"
            " others are withheld as their digests and the record's salt is never given;"
            " with --key the key's own field is opened too. Default: whole records.",
        ),
    ] = None,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
    anchor: AnchorOption = "earliest",
    form: Annotated[
        str,
        typer.Option(
            "--format",
            help="bundle (model-ledger/evidence/v1, JSON) or tlog-proof (c2sp.org/tlog-proof@v1:"
            " the entry's inclusion proof and cosigned checkpoint note; no anchor).",
        ),
    ] = "bundle",
) -> None:
    """Print the evidence bundle of an entry (JSON), against the earliest confirmed anchor
    that covers it (--anchor latest or a tree size chooses another); or, with --key, the
    completeness proof (model-ledger/completeness/v1) of every entry of that index key
    among the first S entries (an anchored size), in a window of leaf indices [A, B) or of
    chain times; check either with `mledger verify`. --disclose opens only the named
    fields of v2 records (selective disclosure). With --format tlog-proof, print the
    entry's c2sp.org/tlog-proof@v1 instead: against the checkpoint holding it that most
    witnesses cosigned (else the latest), with that cosigned checkpoint note."""
    from ledger.errors import LedgerError
    from ledger.service.evidence import parse_disclosed
    from ledger.store.anchors import AnchorRepository

    try:
        disclosed = parse_disclosed(disclose)
    except LedgerError as error:
        fail(f"--disclose: {error}", 2)
    windowed = (from_size, to_size, from_time, to_time) != (None, None, None, None)
    if key is None:
        if leaf_hash is None:
            fail("give a LEAF_HASH, or --key KIND:VALUE for a completeness proof", 2)
        if tree_size is not None or windowed:
            fail("--tree-size, --from-size, --to-size, --from and --to go with --key", 2)
        from ledger.service.evidence import build_evidence, build_tlog_proof

        leaf = parse_hash(leaf_hash, "LEAF_HASH")
        if form not in ("bundle", "tlog-proof"):
            fail(f"--format is bundle or tlog-proof, got {form!r:.80}", 2)
        if form == "tlog-proof":
            if anchor != "earliest":
                fail("--anchor goes with --format bundle: a tlog-proof names no anchor", 2)
            if disclosed is not None:
                fail("--disclose goes with --format bundle: a tlog-proof carries no record", 2)
            with open_store(data_dir, database_url) as store:
                proof = build_tlog_proof(store, leaf)
            sys.stdout.buffer.write(proof)
            sys.stdout.flush()
            return
        choice = anchor_choice(anchor)
        from ledger.cli.service import log_witnesses
        from ledger.config import current

        witnesses = log_witnesses(current())
        with open_store(data_dir, database_url) as store:
            bundle = build_evidence(
                store, AnchorRepository(store), leaf, choice, disclosed, witnesses
            )
        emit(bundle)
        return
    if leaf_hash is not None:
        fail("give a LEAF_HASH or --key, not both", 2)
    if form != "bundle":
        fail("--format goes with a LEAF_HASH; with --key, the proof is a completeness proof", 2)
    if anchor != "earliest":
        fail("--anchor goes with a LEAF_HASH; with --key, --tree-size names the size", 2)
    if (from_size is not None or to_size is not None) and (
        from_time is not None or to_time is not None
    ):
        fail("give the window as --from-size/--to-size or as --from/--to, not both", 2)
    from ledger.service.completeness import Window, build_completeness

    window = Window(from_size, to_size, from_time, to_time)
    with open_store(data_dir, database_url) as store:
        document = build_completeness(
            store, AnchorRepository(store), key, tree_size, window, disclosed
        )
    emit(document)


def _read(bundle: str) -> tuple[bytes, int]:
    """The first READ_LIMIT + 1 bytes of `bundle` (- : standard input), and its size: a
    file larger than any document a verifier reads is never held in memory whole."""
    try:
        if bundle == "-":
            return _capped(sys.stdin.buffer)
        with Path(bundle).open("rb") as source:
            return _capped(source)
    except OSError as error:
        fail(f"cannot read {bundle}: {error.strerror or error}", EXIT_UNREADABLE)


def _capped(source: BinaryIO) -> tuple[bytes, int]:
    data = source.read(READ_LIMIT + 1)
    if len(data) <= READ_LIMIT:
        return data, len(data)
    status = os.fstat(source.fileno())
    if stat.S_ISREG(status.st_mode):
        return data, status.st_size
    size = len(data)
    while chunk := source.read(1 << 20):  # a pipe: counted, not kept
        size += len(chunk)
    return data, size


def verdict(result: VerificationResult, error: VerificationError | None) -> str:
    """The verdict word: VALID only when the chain was consulted and every check passed."""
    if error is not None:
        return "NOT VERIFIED" if isinstance(error, ChainReadError) else "INVALID"
    return "VALID" if result.chain_consulted else "MATHEMATICS ONLY"


def _as_json(result: VerificationResult, error: VerificationError | None) -> dict[str, Any]:
    when = result.existed_no_later_than
    said = verdict(result, error)
    out: dict[str, Any] = {
        "valid": said == "VALID",
        "verdict": said,
        "producer": producer(),
        "mathematics_valid": error is None or error.check in CHAIN_CHECKS,
        "chain_consulted": result.chain_consulted,
        "checks": [
            {"check": c.name, "passed": c.passed, "detail": c.detail} for c in result.checks
        ],
        "existed_no_later_than": None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "block_number": None if result.anchored is None else result.anchored.block_number,
        "log": None if result.identity is None else result.identity.as_json(),
        "error": None if error is None else {"check": error.check, "message": error.message},
    }
    if result.complete_keys:  # a complete pack: what it proved of each account
        out["complete"] = [
            {
                "key": k.key,
                "count": k.count,
                "outside": k.outside,
                "erased": k.erased,
                "proven_erased": k.proven,
                "leaf_indices": list(k.leaf_indices),
            }
            for k in result.complete_keys
        ]
    return out


def _print_text(result: VerificationResult, error: VerificationError | None) -> None:
    out = sys.stdout
    width = max((len(check.name) for check in result.checks), default=0)
    for check in result.checks:
        out.write(f"{'ok  ' if check.passed else 'FAIL'}  {check.name:<{width}}  {check.detail}\n")
    if error is not None:
        if isinstance(error, ChainReadError):
            out.write(f"NOT VERIFIED: the chain could not be read ({error.message})\n")
        else:
            out.write(f"INVALID: {error.check} check failed: {error.message}\n")
        return
    if result.complete is not None:
        from ledger.verify.completeness import completeness_statement

        out.write(f"{completeness_statement(result)}\n")
        if not result.chain_consulted:
            out.write(
                "MATHEMATICS ONLY: the chain was NOT consulted: run with --log FILE and"
                " --rpc-url URL (no --offline) to check the anchor and its index root\n"
            )
        return
    if result.complete_keys:
        from ledger.verify.completeness import key_statement

        for proven in result.complete_keys:
            out.write(f"{key_statement(proven, result.anchored, 'pack')}\n")
    if not result.chain_consulted:
        out.write(f"MATHEMATICS ONLY: {result.statement()}\n")
        out.write(
            "the chain was NOT consulted: run with --log FILE and"
            " --rpc-url URL (no --offline) to check the anchor\n"
        )
        return
    out.write(f"VALID: {result.statement()}\n")


MAX_COSIGNATURE_AHEAD = 600
"""Seconds a witness's clock may be ahead: later cosignatures are refused."""


def _witness_policy(
    witnesses: list[str], quorum: int | None, identity: LogIdentity | None
) -> WitnessPolicy | None:
    """The witnesses a bundle's checkpoint_note is checked against: --witness (--quorum of
    them, default all), else the identity's with --quorum, else None (the identity's)."""
    from ledger.formats.cosignature import witness_policy
    from ledger.formats.note import NoteError

    try:
        if witnesses:
            return witness_policy(witnesses, len(witnesses) if quorum is None else quorum)
        if quorum is not None:
            if identity is None or not identity.witnesses:
                fail("--quorum needs --witness VKEY, or a pinned identity that lists witnesses", 2)
            return witness_policy(list(identity.witnesses), quorum)
    except NoteError as error:
        fail(f"--witness/--quorum: {error}", EXIT_UNREADABLE)
    return None


@app.command()
def verify(
    bundle: Annotated[
        str, typer.Argument(help="Evidence bundle or pack file (JSON); - reads standard input.")
    ],
    rpc_url: Annotated[
        str | None,
        typer.Option(
            "--rpc-url",
            help="JSON-RPC URL of a node of the bundle's chain.",
        ),
        Setting("rpc_url"),
    ] = FROM_SETTINGS,
    log: LogFile = FROM_SETTINGS,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Check the mathematics only; do not consult the chain."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON document.")
    ] = False,
    record: Annotated[
        Path | None,
        typer.Option("--record", help="A tlog-proof's record (JSON): the entry it proves."),
    ] = None,
    witness: Annotated[
        list[str] | None,
        typer.Option(
            "--witness",
            help="A trusted witness's vkey; repeat (default: the pinned identity's witnesses).",
        ),
    ] = None,
    quorum: Annotated[
        int | None,
        typer.Option("--quorum", min=0, help="Witnesses that must have cosigned (default: all)."),
    ] = None,
) -> None:
    """Verify an evidence bundle or pack trusting only mathematics, the chain and the
    pinned log identity (--log): the bundle names the pinned log; record -> leaf hash ->
    inclusion proof (a pack: one multi-entry proof) -> root; the pinned LogAnchor's code
    is the one shipped and holds that root at that tree size, anchored in the block the
    bundle names. Prints when the entries existed at the latest (the block header's
    time); exits non-zero with the reason if any check fails. With --offline, checks
    the mathematics alone and says so (exit 0 is then no proof of anchoring).

    A bundle's or pack's checkpoint_note (the cosigned C2SP checkpoint note) is checked:
    signed by the identity's note key, the bundle's checkpoint, and cosigned by --quorum of
    the --witness keys (default: the identity's witnesses and quorum).

    A c2sp.org/tlog-proof@v1 file is verified with --record against the pinned identity's
    note key and the --witness keys (--quorum of them, default all; without --witness,
    the identity's witnesses and quorum); the chain is not consulted for it
    (docs/c2sp.md)."""
    data, size = _read(bundle)
    from ledger.cli.tlog_proof import verify_tlog_proof_file
    from ledger.formats.export_line import export_advice, is_export
    from ledger.verify.tlog_proof import is_tlog_proof

    if is_tlog_proof(data):
        verify_tlog_proof_file(data, record, pinned_identity(log), witness or [], quorum, as_json)
        return
    if is_export(data):  # an export is audited whole, not verified as evidence
        fail(f"{bundle}: {export_advice('mledger verify')}", EXIT_UNREADABLE)
    if record is not None:
        fail("--record applies to tlog-proofs only", EXIT_UNREADABLE)
    identity = pinned_identity(log, offline_ok=offline)
    policy = _witness_policy(witness or [], quorum, identity)
    if not offline and rpc_url is None:
        fail(
            "give --rpc-url URL (a node of the log's chain), or"
            " --offline to check the mathematics only",
            EXIT_UNREADABLE,
        )
    chain = None if offline else JsonRpcReader(rpc_url or "")
    error: VerificationError | None = None
    try:
        result = verify_evidence(
            data, chain, identity, policy, int(time.time()) + MAX_COSIGNATURE_AHEAD, size
        )
    except VerificationError as failed:
        error = failed
        assert failed.result is not None
        result = failed.result
    finally:
        if chain is not None:
            chain.close()
    completeness = result.complete is not None or (
        result.bundle is not None and result.bundle.noun == "completeness proof"
    )
    if as_json:
        if completeness:
            from ledger.verify.completeness import completeness_result_json

            emit(
                {
                    **completeness_result_json(result),
                    "verdict": verdict(result, error),
                    "chain_consulted": result.chain_consulted,
                    "error": None
                    if error is None
                    else {"check": error.check, "message": error.message},
                }
            )
        else:
            emit(_as_json(result, error))
    else:
        _print_text(result, error)
    if error is not None:
        code = EXIT_CHAIN_UNAVAILABLE if isinstance(error, ChainReadError) else EXIT_INVALID
        noun = (
            result.bundle.noun
            if result.bundle is not None
            else ("pack" if error.check == "pack" else "bundle")
        )
        what = "could not verify" if isinstance(error, ChainReadError) else f"invalid {noun}"
        sys.stderr.write(f"error: {what}: {error}\n")
        raise typer.Exit(code)


@app.command("verify-receipt")
def verify_receipt_command(
    receipt: Annotated[
        Path,
        typer.Argument(
            metavar="RECEIPT.json",
            help="A receipt as returned by POST /v1/entries.",
            exists=True,
            dir_okay=False,
        ),
    ],
    log: LogFile = FROM_SETTINGS,
    rpc_url: Annotated[
        str | None,
        typer.Option(
            "--rpc-url",
            help="Also check the pinned log was not retired (its key leaked).",
        ),
        Setting("rpc_url"),
    ] = FROM_SETTINGS,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="No pinned log: check only that the receipt is consistent with its own signer.",
        ),
    ] = False,
) -> None:
    """Check a receipt's batch path and signature against the pinned log identity (--log):
    it must name the pinned log and be signed by its log key; with --rpc-url, the pinned
    LogAnchor must still vouch for that key (a retired log's key may have leaked).
    VALID needs both; exit non-zero with the reason if a check fails."""
    from ledger.formats.receipt import ReceiptError
    from ledger.formats.strict_json import StrictJsonError, load_strict
    from ledger.verify.receipt import check_kept_record, check_receipt_log, verify_receipt
    from ledger.verify.rpc import ChainUnreadableError

    identity = pinned_identity(log, offline_ok=offline)
    try:
        document = load_strict(receipt.read_bytes(), 1 << 20, str(receipt))
    except OSError as error:
        fail(f"cannot read {receipt}: {error.strerror or error}", EXIT_UNREADABLE)
    except StrictJsonError as error:
        fail(str(error), EXIT_UNREADABLE)
    record = None
    if isinstance(document, dict) and "receipt" in document:
        # a whole POST /v1/entries answer, or a receipt kept by the SDK with its record
        record = document.get("record")
        document = document["receipt"]
    if not isinstance(document, dict):
        fail(f"{receipt} does not hold a receipt object", EXIT_UNREADABLE)
    try:
        address = verify_receipt(document, identity)
        if record is not None:
            check_kept_record(record, document)
        if identity is not None and rpc_url is not None and not offline:
            with JsonRpcReader(rpc_url) as chain:
                check_receipt_log(identity, chain)
    except ReceiptError as error:
        fail(f"receipt does not verify: {error}")
    except ChainUnreadableError as error:
        fail(f"could not check the log on chain: {error}", EXIT_CHAIN_UNAVAILABLE)
    if identity is None:
        said = "MATHEMATICS ONLY"
    elif rpc_url is None or offline:
        said = "SIGNATURE ONLY"
    else:
        said = "VALID"
    emit(
        {
            "valid": said == "VALID",
            "verdict": said,
            "producer": producer(),
            "leaf_hash": document["leaf_hash"],
            "seq": document["seq"],
            "signer": address,
            "record_matches": None if record is None else True,
            "received_at": document["received_at"],
            "mmd": document["mmd"],
            "log": None if identity is None else identity.as_json(),
        }
    )
    if said == "MATHEMATICS ONLY":
        sys.stderr.write(
            "MATHEMATICS ONLY: the receipt is consistent and signed by"
            f" {address}, but no log identity was pinned: any key can sign"
            " a receipt. Run with --log FILE to check it is the log's\n"
        )
    elif said == "SIGNATURE ONLY":
        sys.stderr.write(
            "SIGNATURE ONLY: the receipt is the pinned log's, signed by its"
            f" log key {address}; whether the log still vouches for that"
            " key (not retired) was not checked: run with --rpc-url URL\n"
        )
