#!/usr/bin/env python3
"""Where `mledger audit` spends its time (docs/performance.md), on an export and chain
that scripts/bench_audit.py --against built (its side-this/ folder: export.ndjson,
log.json, anvil-state.json).

1. The whole audit in this process, as the command runs it (`read_anchors`, then
   `audit_export` with the default workers): wall time, this process's CPU time (the
   reader, the tree, the index) and the workers' (records parsed and hashed).
2. With --cprofile N: cProfile of this process during the audit (the workers' share
   shows as waiting on their results), then of `check_lines` on the first N lines in
   this process (what each worker runs), the top functions of each by own time.

The code profiled is whichever `ledger` the interpreter imports (PYTHONPATH):

    PYTHONPATH=$PWD .venv/bin/python scripts/profile_audit.py /tmp/audit-side/side-this
    PYTHONPATH=$PWD .venv/bin/python scripts/profile_audit.py DIR --cprofile 200000
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import resource
import time
from pathlib import Path

from ledger.chain.anvil import Anvil, free_port
from ledger.formats.identity import parse_identity
from ledger.verify.audit import AuditResult, audit_export, check_lines, read_anchors
from ledger.verify.rpc import JsonRpcReader


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def top(profile: cProfile.Profile, count: int) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(count)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("work", type=Path, help="a side-this/ folder of bench_audit --against")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--cprofile", type=int, default=0, help="also profile (lines)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    export = args.work / "export.ndjson"
    identity = parse_identity((args.work / "log.json").read_bytes())
    node = Anvil(free_port(), args.work / "anvil-state.json", args.work / "p.log").start()
    try:
        chain = JsonRpcReader(node.url)
        profile = cProfile.Profile() if args.cprofile else None
        load = os.getloadavg()[0]
        wall, cpu, kids = time.perf_counter(), time.process_time(), children_cpu()
        if profile is not None:
            profile.enable()
        result = AuditResult(identity, chain.where, str(export))
        result.anchors = read_anchors(chain, identity).anchors
        audit_export(export, result, workers=args.workers)
        if profile is not None:
            profile.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        kids = children_cpu() - kids
        chain.close()
    finally:
        node.stop()
    assert result.passed, result.failure
    print(
        json.dumps(
            {
                "entries": result.entries,
                "wall_s": round(wall, 2),
                "main_cpu_s": round(cpu, 2),
                "workers_cpu_s": round(kids, 2),
                "load_average": load,
                "profiled": profile is not None,
            }
        )
    )
    if profile is not None:
        print("== this process during the audit ==")
        print(top(profile, args.top))
        with export.open("rb") as handle:
            lines = [line.rstrip(b"\n") for line in itertools.islice(handle, args.cprofile)]
        worker = cProfile.Profile()
        worker.enable()
        check_lines(lines, 1, True)
        worker.disable()
        print(f"== check_lines of {len(lines):,} lines (a worker's work) ==")
        print(top(worker, args.top))


if __name__ == "__main__":
    main()
