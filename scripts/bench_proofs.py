#!/usr/bin/env python3
"""Inclusion-proof latency, side by side with another commit, on one large log.

Builds (once, then reuses) a log of --entries digest records in its own database
(PostgreSQL by default), then times --samples inclusion proofs of random leaves
in-process, cold (first touch) and warm, for this checkout and for a git worktree of
--against, in alternating rounds (base, head, head, base, ...), each round a fresh
process. Prints the median over rounds of each figure, the ratio head/base, and the SQL
statements one proof sends (counted, not timed).

    .venv/bin/python scripts/bench_proofs.py --entries 1000000 --against HEAD~1 --rounds 4
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

PG = os.environ.get("LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def measure(url: str, samples: int) -> dict[str, float]:
    """Time `samples` inclusion proofs (imports the code of the tree this process runs)."""
    from sqlalchemy import event, text

    from ledger.core import merkle
    from ledger.service.proofs import inclusion
    from ledger.store.repository import Store

    store = Store.open(url)
    state = store.state()
    rng = random.Random(1)
    with store.read() as conn:
        leaves = [
            bytes(
                conn.execute(
                    text("SELECT leaf_hash FROM entries WHERE seq = :s"),
                    {"s": rng.randrange(1, state.tree_size + 1)},
                ).scalar_one()
            )
            for _ in range(samples)
        ]
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    figures: dict[str, float] = {}
    for label in ("cold", "warm"):
        times = []
        event.listen(store.engine, "before_cursor_execute", count)
        statements[0] = 0
        for leaf in leaves:
            started = time.perf_counter()
            proof = inclusion(store, leaf)
            times.append(time.perf_counter() - started)
            merkle.verify_inclusion(
                proof.leaf_index, state.tree_size, leaf, proof.proof, state.root
            )
        event.remove(store.engine, "before_cursor_execute", count)
        times.sort()
        figures[f"{label} p50 ms"] = statistics.median(times) * 1e3
        figures[f"{label} p99 ms"] = times[int(len(times) * 0.99) - 1] * 1e3
        figures["statements per proof"] = statements[0] / len(leaves)
    return figures


def database(entries: int, base_url: str) -> str:
    """The URL of a log of `entries` digest records, built on first use."""
    from bench_log import build_log

    from ledger.store.repository import Store

    if base_url.startswith("sqlite"):
        url = base_url
    else:
        import psycopg

        name = f"ledger_bench_proofs_{entries}"
        with psycopg.connect(base_url, autocommit=True) as admin:
            found = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not found:
                admin.execute(f'CREATE DATABASE "{name}"')
        url = base_url.rsplit("/", 1)[0] + "/" + name
    store = Store.open(url)
    if store.state().tree_size not in (0, entries):
        raise SystemExit(f"{url} holds a log of another size: drop it first")
    if store.state().tree_size == 0:
        print(f"building a log of {entries:,} entries (not timed)...", file=sys.stderr)
        build_log(store, entries)
    store.close()
    return url


def run_round(tree: Path, url: str, samples: int) -> dict[str, float]:
    script = tree / "scripts" / "bench_proofs.py"
    if not script.exists():  # an older commit: this script, that commit's code
        script = ROOT / "scripts" / "bench_proofs.py"
    out = subprocess.run(
        [sys.executable, str(script), "--measure", url, "--samples", str(samples)],
        cwd=tree,
        env=os.environ | {"PYTHONPATH": str(tree)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=PG, help="PostgreSQL server, or sqlite:///FILE")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--against", default="HEAD", help="the baseline commit")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, os.getcwd())
        print(json.dumps(measure(args.measure, args.samples)))
        return
    from bench_compare import checkout, git

    url = database(args.entries, args.database_url)
    results: dict[str, list[dict[str, float]]] = {"base": [], "head": []}
    with tempfile.TemporaryDirectory() as work:
        base = checkout(args.against, Path(work) / "base")
        try:
            order = ["base", "head", "head", "base"] * args.rounds
            for label in order[: 2 * args.rounds]:
                tree = base if label == "base" else ROOT
                results[label].append(run_round(tree, url, args.samples))
                print(f"{label}: {results[label][-1]}", file=sys.stderr)
        finally:
            git("worktree", "remove", "--force", str(base))
    load = os.getloadavg()[0]
    print(
        f"| {args.entries:,} entries, {args.samples:,} proofs, median of {args.rounds} rounds"
        f" (load {load:.1f}) | base {args.against} | this checkout | ratio |"
    )
    print("|---|---:|---:|---:|")
    for name in results["head"][0]:
        b = statistics.median(r[name] for r in results["base"])
        h = statistics.median(r[name] for r in results["head"])
        print(f"| {name} | {b:.3f} | {h:.3f} | {h / b:.2f}x |")


if __name__ == "__main__":
    main()
