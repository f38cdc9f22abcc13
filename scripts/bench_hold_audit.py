"""Time `mledger audit`'s legal hold check (check ``hold``) on a hostile export: N hold
statements naming one key hash, logged after one erasure of N entries filed under that
key (no hold covers the erasure, so the audit passes and reads every hold for every
erased line it checks). The check was quadratic in N; it is now a binary search per
erasure and key.

    PYTHONPATH=. .venv/bin/python scripts/bench_hold_audit.py 2000 8000 100000
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from pathlib import Path

from ledger.core.records import Entry, parse_object
from ledger.formats.export_line import Erased, Logged, export_line
from ledger.formats.statement import (
    erasure_statement,
    hold_statement,
    leaves_digest,
    statement_bytes,
)
from ledger.verify.audit import AuditResult, audit_export, read_anchors
from tests.verify.test_audit import ERASED_AT, IDENTITY, FakeChain

KEY = b"\x07" * 32


def _digest(statement: bytes) -> Entry:
    sha256 = hashlib.sha256(statement).hexdigest()
    return parse_object({"v": 1, "kind": "digest", "body": {"sha256": sha256}})


def seconds(n: int, work: Path) -> float:
    """Seconds `audit_export` (one worker) takes on the hostile export of `n`."""
    leaves = [hashlib.sha256(b"%d" % i).digest() for i in range(n)]
    erasure = statement_bytes(
        erasure_statement("leaves", "bench", n, leaves_digest(leaves), ERASED_AT)
    )
    record = _digest(erasure)
    lines = [
        export_line(i, Erased(leaves[i], ERASED_AT, record.leaf_hash, (KEY,))) for i in range(n)
    ]
    lines.append(export_line(n, Logged(record.canonical, erasure)))
    leaves.append(record.leaf_hash)
    for j in range(n):
        hold = statement_bytes(hold_statement(f"hold-{j}", "account", KEY, "case", ERASED_AT))
        held = _digest(hold)
        lines.append(export_line(n + 1 + j, Logged(held.canonical, hold)))
        leaves.append(held.leaf_hash)
    path = work / f"holds-{n}.ndjson"
    path.write_bytes(b"".join(lines))
    result = AuditResult(IDENTITY, "memory", str(path))
    result.anchors = read_anchors(FakeChain([len(leaves)], leaves=leaves), IDENTITY).anchors
    started = time.perf_counter()
    done = audit_export(path, result, workers=1)
    took = time.perf_counter() - started
    assert done.passed, done.failure
    return took


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        for n in map(int, sys.argv[1:]):
            print(f"N={n:,}: audit {seconds(n, Path(work)):.2f} s", flush=True)


if __name__ == "__main__":
    main()
