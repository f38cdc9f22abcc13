#!/usr/bin/env python3
"""Benchmark the log core: ingest and seal throughput, proof latency, pymerkle baseline.

Runs the real `mledger ingest` and `mledger seal` commands on generated NDJSON (records
are validated, canonically encoded and hashed: all of it counts), on SQLite and on
PostgreSQL; then measures in-process inclusion-proof latency on logs of 1M and 10M
entries; and, in the same run, appends the same leaves to the `pymerkle` package's
in-memory tree as the baseline. Prints a Markdown table (the README's).

    .venv/bin/python scripts/bench_log.py                 # full run (~10 min)
    .venv/bin/python scripts/bench_log.py --records 100000 --big 0   # quick look
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.core import merkle
from ledger.core.records import Entry, parse_object
from ledger.service.proofs import inclusion
from ledger.service.sequencer import seal
from ledger.store.repository import Store
from ledger.workload import interaction


def write_ndjson(path: Path, count: int, seed: int) -> None:
    with path.open("w") as out:
        for i in range(count):
            out.write(json.dumps(interaction(i, seed=seed)))
            out.write("\n")


def run(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ledger", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def ingest_and_seal(ndjson: Path, where: list[str], count: int) -> dict[str, float]:
    run(["init", *where])  # not timed: only `init` (or `up`) starts a log in a data dir
    ingest_s = run(["ingest", str(ndjson), *where])
    seal_s = run(["seal", *where])
    return {
        "records": count,
        "ingest_s": ingest_s,
        "seal_s": seal_s,
        "total_s": ingest_s + seal_s,
        "ingest_rps": count / ingest_s,
        "seal_rps": count / seal_s,
        "total_rps": count / (ingest_s + seal_s),
    }


def fresh_postgres(base_url: str) -> str:
    import psycopg

    name = f"ledger_bench_{secrets.token_hex(4)}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres(base_url: str, url: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _digest_chunk(job: tuple[int, int]) -> list[Entry]:
    start, count = job
    rng = random.Random(start)
    return [
        parse_object(
            {
                "v": 1,
                "kind": "digest",
                "salt": f"{rng.getrandbits(128):032x}",
                "ts": "2026-06-05T12:00:00.000Z",
                "body": {"sha256": f"{rng.getrandbits(256):064x}"},
            }
        )
        for _ in range(count)
    ]


def build_log(store: Store, count: int) -> None:
    """Fill a log with `count` digest records (parsed in worker processes) and seal it.

    Half a million entries per transaction keeps memory and the SQLite WAL bounded.
    """
    chunk, window = 20_000, 25
    jobs = [(store.state().tree_size + i, min(chunk, count - i)) for i in range(0, count, chunk)]
    done = 0
    with multiprocessing.get_context("fork").Pool(max(1, (os.cpu_count() or 2))) as pool:
        for first in range(0, len(jobs), window):
            done += store.add_entries(pool.imap(_digest_chunk, jobs[first : first + window]))
            seal(store)
            print(f"  built {done:,} entries", file=sys.stderr, flush=True)


def proof_latency(store: Store, samples: int) -> dict[str, float]:
    """Inclusion proofs for `samples` random leaves, timed twice: the first pass reads
    pages cold (first touch since the log was built), the second with the database
    pages cached, as in a service that has been running."""
    size = store.state().tree_size
    root = store.state().root
    rng = random.Random(1)
    with store.read() as conn:
        from sqlalchemy import text

        seqs = [rng.randrange(1, size + 1) for _ in range(samples)]
        leaves = [
            bytes(
                conn.execute(
                    text("SELECT leaf_hash FROM entries WHERE seq = :s"), {"s": s}
                ).scalar_one()
            )
            for s in seqs
        ]
    result: dict[str, float] = {"size": size}
    for label in ("cold", "warm"):
        times = []
        for leaf in leaves:
            start = time.perf_counter()
            proof = inclusion(store, leaf)
            times.append(time.perf_counter() - start)
            merkle.verify_inclusion(proof.leaf_index, proof.tree_size, leaf, proof.proof, root)
        times.sort()
        result[f"{label}_p50_ms"] = statistics.median(times) * 1e3
        result[f"{label}_p99_ms"] = times[int(len(times) * 0.99) - 1] * 1e3
    result["proof_nodes"] = len(proof.proof)
    return result


def pymerkle_baseline(ndjson: Path, count: int, our_root: bytes) -> dict[str, float]:
    """Append the same canonical records to pymerkle's in-memory tree."""
    from pymerkle import InmemoryTree

    from ledger.core.records import parse_json

    with ndjson.open("rb") as handle:
        records = [parse_json(line).canonical for line in handle]
    tree = InmemoryTree(algorithm="sha256")
    start = time.perf_counter()
    for record in records:
        tree.append_entry(record)
    root = tree.get_root()
    elapsed = time.perf_counter() - start
    # Same records, same RFC 9162 hashing: a different root would be a bug in one of us.
    # (Salts are fixed in the generated records, so canonical bytes are reproducible.)
    if root != our_root:
        raise SystemExit(f"pymerkle root {root.hex()} != ours {our_root.hex()}")
    return {"records": count, "seconds": elapsed, "rps": count / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--records", type=int, default=1_000_000, help="records ingested from NDJSON (SQLite)"
    )
    parser.add_argument(
        "--pg-records", type=int, default=200_000, help="records ingested into PostgreSQL (0: skip)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument(
        "--big",
        type=int,
        default=10_000_000,
        help="size of the large log for proof latency (0: skip)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="SQLite ingest + seal runs (the median is reported)"
    )
    parser.add_argument("--samples", type=int, default=2000, help="proofs timed per log")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"cpus": os.cpu_count()}

    ndjson = work / "records.ndjson"
    print(f"generating {args.records:,} records in {ndjson}", file=sys.stderr)
    write_ndjson(ndjson, args.records, seed=1)

    sqlite_dir = work / "sqlite"
    runs = []
    for attempt in range(args.repeat):
        print(
            f"SQLite: mledger ingest + mledger seal, run {attempt + 1} of {args.repeat}",
            file=sys.stderr,
        )
        shutil.rmtree(sqlite_dir, ignore_errors=True)  # a reused log would dedupe every record
        runs.append(ingest_and_seal(ndjson, ["--data-dir", str(sqlite_dir)], args.records))
        print(f"  {runs[-1]}", file=sys.stderr)
    # The run with the median end-to-end time stands for all (machines are noisy).
    results["sqlite"] = sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]
    results["sqlite_runs"] = runs

    store = Store.open(f"sqlite:///{sqlite_dir / 'ledger.db'}")
    our_root = store.state().root
    print("pymerkle baseline", file=sys.stderr)
    results["pymerkle"] = pymerkle_baseline(ndjson, args.records, our_root)
    print(f"  {results['pymerkle']}", file=sys.stderr)
    results["proof_small"] = proof_latency(store, args.samples)
    print(f"  proofs: {results['proof_small']}", file=sys.stderr)
    store.close()

    if args.pg_records:
        pg_file = work / "pg.ndjson"
        write_ndjson(pg_file, args.pg_records, seed=2)
        url = fresh_postgres(args.postgres_url)
        try:
            print("PostgreSQL: mledger ingest + mledger seal", file=sys.stderr)
            results["postgres"] = ingest_and_seal(pg_file, ["--database-url", url], args.pg_records)
            print(f"  {results['postgres']}", file=sys.stderr)
        finally:
            drop_postgres(args.postgres_url, url)

    if args.big:
        print(f"building a {args.big:,}-entry SQLite log", file=sys.stderr)
        big = Store.open(f"sqlite:///{work / 'big' / 'ledger.db'}")
        if big.state().tree_size < args.big:
            start = time.perf_counter()
            build_log(big, args.big - big.state().tree_size)
            results["big_build_s"] = time.perf_counter() - start
        results["proof_big"] = proof_latency(big, args.samples)
        print(f"  proofs: {results['proof_big']}", file=sys.stderr)
        big.close()

    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def print_table(r: dict) -> None:  # type: ignore[type-arg]
    s, p = r["sqlite"], r["pymerkle"]
    all_runs = ", ".join(f"{x['total_s']:.1f} s" for x in r["sqlite_runs"])
    rows = [
        (
            "SQLite `mledger ingest` (validate, encode, hash, insert)",
            f"{s['ingest_rps']:,.0f} records/s",
            f"{s['ingest_s']:.1f} s for {s['records']:,}",
        ),
        (
            "SQLite `mledger seal` (indices, tiles, checkpoint)",
            f"{s['seal_rps']:,.0f} entries/s",
            f"{s['seal_s']:.1f} s",
        ),
        (
            "SQLite ingest + seal, end to end",
            f"{s['total_rps']:,.0f} records/s",
            f"{s['total_s']:.1f} s, median of {len(r['sqlite_runs'])} runs ({all_runs})",
        ),
    ]
    if "postgres" in r:
        g = r["postgres"]
        rows += [
            (
                "PostgreSQL `mledger ingest`",
                f"{g['ingest_rps']:,.0f} records/s",
                f"{g['ingest_s']:.1f} s for {g['records']:,}",
            ),
            (
                "PostgreSQL `mledger seal`",
                f"{g['seal_rps']:,.0f} entries/s",
                f"{g['seal_s']:.1f} s",
            ),
        ]
    rows.append(
        (
            "baseline: pymerkle in-memory append, same leaves",
            f"{p['rps']:,.0f} records/s",
            f"ours end to end = {s['total_rps'] / p['rps']:.2f}x pymerkle",
        )
    )
    for key in ("proof_small", "proof_big"):
        if key in r:
            q = r[key]
            rows.append(
                (
                    f"inclusion proof, {q['size']:,}-entry SQLite log (in-process)",
                    f"p50 {q['warm_p50_ms']:.2f} ms warm, {q['cold_p50_ms']:.2f} ms cold",
                    (
                        f"p99 {q['warm_p99_ms']:.2f} ms warm,"
                        f" {q['cold_p99_ms']:.2f} ms cold; {q['proof_nodes']} nodes"
                    ),
                )
            )
    print(f"\nMachine: {r['cpus']} CPUs.\n")
    print("| measure | rate / latency | detail |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
