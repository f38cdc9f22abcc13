"""Side by side: completeness evidence of `account:acct-thousand` built (cold, warm) and
verified offline by two checkouts of the code, in alternating runs on the same log (one
made by `scripts/bench_completeness_10m.py`).

    .venv/bin/python scripts/bench_completeness_ab.py --db /tmp/ledger-2m.db \
        --a /work/main --b "$PWD" [--rounds 4] [--samples 9]

Each round runs one process per checkout (A then B, PYTHONPATH set to it) that times
`--samples` runs of each measure and prints their medians, wall time
(`time.perf_counter`) and CPU time of the process (`time.process_time`: steadier than
wall time on a shared machine). Cold: the store's tile cache cleared before each build;
warm: not. No postings block cache (`blocks=None`), as a whole-log document uses none.
Prints each round, then the medians of the rounds' medians and B/A.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

KEY = "account:acct-thousand"
MEASURES = ("cold", "warm", "verify")


def one_round(db: str, samples: int) -> dict[str, Any]:
    """Medians (wall ms, CPU ms) of each measure with the code this process imports."""
    from ledger.service.completeness import Window, build_completeness
    from ledger.store.anchors import AnchorRepository
    from ledger.store.repository import Store
    from ledger.verify.completeness import verify_completeness

    store = Store.open(f"sqlite:///{db}")
    anchors = AnchorRepository(store)
    anchored = anchors.latest_confirmed()
    assert anchored is not None, "no confirmed anchor: build the log first"
    size = anchored.tree_size

    def build(cold: bool) -> dict[str, Any]:
        if cold:
            store.shared_tiles.clear()
        return build_completeness(store, anchors, KEY, size, Window(), blocks=None)

    def timed(call: Any) -> tuple[float, float]:
        wall, cpu = [], []
        for _ in range(samples):
            start, used = time.perf_counter(), time.process_time()
            call()
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - used)
        return statistics.median(wall) * 1000, statistics.median(cpu) * 1000

    body = json.dumps(build(True), separators=(",", ":"))
    assert verify_completeness(body, None).valid
    try:
        return {
            "cold": timed(lambda: build(True)),
            "warm": timed(lambda: build(False)),
            "verify": timed(lambda: verify_completeness(body, None)),
            "bytes": len(body),
        }
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--a", type=Path, help="checkout A (e.g. main's worktree)")
    parser.add_argument("--b", type=Path, help="checkout B")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--samples", type=int, default=9)
    parser.add_argument("--one", action="store_true", help="one round with this code")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one_round(args.db, args.samples)))
        return 0
    if args.a is None or args.b is None:
        parser.error("give --a and --b (two checkouts)")
    results: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
    for number in range(args.rounds):
        for side, checkout in (("A", args.a), ("B", args.b)):
            env = {**os.environ, "PYTHONPATH": str(checkout.resolve())}
            command = [sys.executable, __file__, "--one", "--db", args.db]
            out = subprocess.run(
                [*command, "--samples", str(args.samples)],
                env=env,
                cwd=checkout,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            found = json.loads(out.strip().splitlines()[-1])
            results[side].append(found)
            figures = ", ".join(
                f"{m} {found[m][0]:,.1f} ms wall / {found[m][1]:,.1f} ms CPU" for m in MEASURES
            )
            print(
                f"round {number + 1} {side} ({checkout}): {figures}; {found['bytes']:,} B;"
                f" load {os.getloadavg()[0]:.1f}"
            )
    print(f"\nmedians of {args.rounds} rounds (each a median of {args.samples}):")
    for measure in MEASURES:
        for at, what in ((0, "wall"), (1, "CPU")):
            a = statistics.median(r[measure][at] for r in results["A"])
            b = statistics.median(r[measure][at] for r in results["B"])
            print(f"  {measure} {what}: A {a:,.1f} ms, B {b:,.1f} ms, B/A {b / a:.2f}")
    print(f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
