#!/usr/bin/env python3
"""What the depth check of every request body costs (ledger.jsonlimits.check_json, run by
ledger.api.limits.LimitRequestNesting before the app sees a request).

Prints, for legitimate batch bodies (1,000 interaction records; 10,000 records with
large metadata, just under 32 MiB) and for 32 MiB bodies built to be expensive, the
best of several runs: milliseconds, milliseconds per MiB, and json.loads of the same
body for scale (the batch route parses it anyway), plus the peak memory the check
allocates.

    .venv/bin/python scripts/bench_depth.py            # ~20 s
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.jsonlimits import JsonInputError, check_json
from ledger.workload import interaction

SIZE = 32 << 20


def best(run: Callable[[], Any], repeat: int) -> float:
    fastest = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


def check(body: bytes) -> str:
    try:
        check_json(body, max_bytes=None, what="body")
    except JsonInputError:
        return "refused"
    return "passed"


def padded(i: int) -> dict[str, Any]:
    record = interaction(i)
    record["body"]["metadata"] = {f"k{j}": "x" * 90 for j in range(28)}
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bodies = {
        "batch of 1,000 records": json.dumps(
            {"entries": [interaction(i) for i in range(1000)]}
        ).encode(),
        "batch of 10,000 large records": json.dumps(
            {"entries": [padded(i) for i in range(10_000)]}
        ).encode(),
        "[[[[... (deep at once)": b"[" * SIZE,
        "[][][]... (every byte a bracket)": b"[]" * (SIZE // 2),
        "[[],[],...] (valid, shallow)": b"[" + b"[]," * (SIZE // 3 - 1) + b"[]]",
        '"""""... (every byte a quote)': b'"' * SIZE,
        '["[",["[",... (strings holding brackets)': b'["[",' * (SIZE // 5),
        "towers 32 deep (valid, the deepest allowed)": b"["
        + (b"[" * 31 + b"]" * 31 + b",") * (SIZE // 63 - 1)
        + b"[]]",
    }
    print(
        f"{'body':48} {'MiB':>6} {'check':>8} {'ms':>9} {'ms/MiB':>7}"
        f" {'peak MiB':>8} {'json.loads ms':>13}"
    )
    for name, body in bodies.items():
        mib = len(body) / 2**20
        tracemalloc.start()
        verdict = check(body)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        seconds = best(lambda body=body: check(body), args.repeat)
        loads = ""
        if name.startswith("batch"):
            loads = f"{best(lambda body=body: json.loads(body), 3) * 1000:.1f}"
        print(
            f"{name:48} {mib:6.1f} {verdict:>8} {seconds * 1000:9.2f}"
            f" {seconds * 1000 / mib:7.3f} {peak:8.1f} {loads:>13}"
        )


if __name__ == "__main__":
    main()
