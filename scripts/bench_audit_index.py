#!/usr/bin/env python3
"""The cost of re-deriving the signed index roots in `mledger audit`
(`ledger.verify.audit`, step 4): the same export audited with and without it, alternating
in one run, so machine load affects both alike.

Builds an export of --entries interaction records (the deterministic workload stream,
20,000 accounts) and its anchors at --anchors equal sizes, each with its root and the
index root R(S) the log key would sign (`IndexBuilder`), then times `audit_export` of the
export --repeat times each way: anchors without an index root (as for a log from before
the index: the audit of issue 1), and with theirs (keys from the lookup columns in the
workers, the index replayed in the main process). The chain reads are left out: they are
the same both ways. Prints the medians and their ratio.

    .venv/bin/python scripts/bench_audit_index.py                  # 200,000 entries
    .venv/bin/python scripts/bench_audit_index.py --entries 20000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.core.index import IndexBuilder, record_keys
from ledger.core.merkle import root_hash
from ledger.core.records import parse_object
from ledger.formats.eip712 import NO_INDEX_ROOT
from ledger.formats.export_line import export_line
from ledger.formats.identity import LogIdentity
from ledger.verify.audit import AnchorRecord, AuditResult, audit_export
from ledger.workload import interaction

IDENTITY = LogIdentity("bench", 31337, b"\x01" * 20, b"\x02" * 32, None, b"\x03" * 20, 1)


def build(path: Path, entries: int, anchors: int) -> list[AnchorRecord]:
    """Write the export; the anchors with their roots and signed index roots."""
    sizes = [entries * (n + 1) // anchors for n in range(anchors)]
    leaves: list[bytes] = []
    builder = IndexBuilder()
    out: list[AnchorRecord] = []
    with path.open("wb") as handle:
        for i in range(entries):
            record = interaction(i, seed=13, account=f"acct-{(i * 7919) % 20_000}")
            entry = parse_object(record)
            handle.write(export_line(i, entry.canonical))
            leaves.append(entry.leaf_hash)
            builder.add(i, record_keys(record))
            if i + 1 in sizes:
                number = len(out) + 1
                out.append(
                    AnchorRecord(
                        number,
                        i + 1,
                        root_hash(leaves),
                        out[-1].size if out else 0,
                        number,
                        bytes([number]) * 32,
                        bytes([number]) * 32,
                        1_780_000_000 + number,
                        builder.seal(),
                    )
                )
    return out


def timed(path: Path, anchors: list[AnchorRecord]) -> tuple[float, AuditResult]:
    result = AuditResult(IDENTITY, "memory", str(path))
    result.anchors = anchors
    started = time.perf_counter()
    audit_export(path, result)
    seconds = time.perf_counter() - started
    if not result.passed:
        raise SystemExit(f"the audit failed: {result.failure}")
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--anchors", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "export.ndjson"
        started = time.perf_counter()
        signed = build(path, args.entries, args.anchors)
        print(
            f"built {args.entries:,} entries in {time.perf_counter() - started:.1f} s", flush=True
        )
        unsigned = [replace(anchor, index_root=NO_INDEX_ROOT) for anchor in signed]
        without: list[float] = []
        with_index: list[float] = []
        for _ in range(args.repeat):
            seconds, result = timed(path, unsigned)
            assert result.index_roots_matched == 0
            without.append(seconds)
            seconds, result = timed(path, signed)
            assert result.index_roots_matched == len(signed)
            with_index.append(seconds)
            print(f"without {without[-1]:.2f} s, with {with_index[-1]:.2f} s", flush=True)
        before, after = statistics.median(without), statistics.median(with_index)
        print(
            json.dumps(
                {
                    "entries": args.entries,
                    "anchors": args.anchors,
                    "repeat": args.repeat,
                    "export_bytes": path.stat().st_size,
                    "audit_without_index_s": round(before, 3),
                    "audit_with_index_s": round(after, 3),
                    "ratio": round(after / before, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
