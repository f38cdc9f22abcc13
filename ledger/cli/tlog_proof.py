"""`mledger verify PROOF.tlog-proof --record R --log log.json [--witness VKEY]... [--quorum M]`:
the tlog-proof branch of `mledger verify` (ledger.verify.tlog_proof)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import typer

from ledger.cli.common import emit, fail, hex0x
from ledger.formats.identity import LogIdentity

EXIT_INVALID = 1
EXIT_UNREADABLE = 2

CLOCK_SKEW = 600
"""Seconds a cosignature may be dated ahead of this machine's clock."""


def verify_tlog_proof_file(
    data: bytes,
    record: Path | None,
    identity: LogIdentity | None,
    witnesses: Sequence[str],
    quorum: int | None,
    as_json: bool,
) -> None:
    """Verify, print VALID or INVALID with the failing step, exit 1 on INVALID."""
    from ledger.verify.tlog_proof import TlogProofCheckError, verify_record_tlog_proof

    assert identity is not None  # pinned_identity exits without one
    if record is None:
        fail("a tlog-proof proves one record: give it with --record FILE", EXIT_UNREADABLE)
    try:
        record_bytes = record.read_bytes()
    except OSError as error:
        fail(f"cannot read {record}: {error.strerror or error}", EXIT_UNREADABLE)
    try:
        result = verify_record_tlog_proof(
            data, record_bytes, identity, witnesses, quorum, int(time.time()) + CLOCK_SKEW
        )
    except TlogProofCheckError as error:
        if as_json:
            emit({"verdict": "INVALID", "check": error.check, "reason": error.message})
        else:
            sys.stdout.write(f"INVALID: {error.check} check failed: {error.message}\n")
        sys.stderr.write(f"error: invalid tlog-proof: {error}\n")
        raise typer.Exit(EXIT_INVALID) from None
    if as_json:
        emit(
            {
                "verdict": "VALID",
                "origin": result.origin,
                "index": result.index,
                "leaf_hash": hex0x(result.leaf_hash),
                "tree_size": result.tree_size,
                "root": hex0x(result.root),
                "witnesses": list(result.witnesses),
                "quorum": result.quorum,
                "chain_consulted": False,
            }
        )
        return
    sys.stdout.write(f"VALID: {result.statement()}\n")
    sys.stdout.write(
        "the chain was NOT consulted: a tlog-proof is trusted through the log's note key and"
        " its witnesses; an evidence bundle proves the anchor\n"
    )
