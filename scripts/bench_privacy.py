#!/usr/bin/env python3
"""Benchmark v2 records (per-field commitments) against v1, in one run.

1. Evidence size: the bundle of the same interaction record as v1, as whole v2, and as v2
   disclosed in part (two fields, and none), against a tree of 2^20 leaves (20 proof
   nodes, the same for both): median bytes of compact JSON, and v2 minus v1 (target:
   at most 1 KB larger).
2. Ingest rate, rounds alternating v1 and v2 on the same records (they differ only in
   "v"), median records per second and v2 / v1 (target: at least 0.8):
   - HTTP: POST /v1/entries/batch of 1,000 records, 4 clients, against a real `mledger serve`
     on SQLite sealing every second and anchoring on a local Anvil (`scripts/bench_api.py`'s
     server): the gateway's path, one server for every round;
   - the service's ingest work per batch of 1,000 (what POST /v1/entries/batch does after
     HTTP: validate, encode, hash, insert into a fresh SQLite log, sign the receipts;
     `scripts/bench_api.py`'s in-process ceiling);
   - the real `mledger ingest` of an NDJSON file (bulk load: parsing in parallel workers,
     start-up subtracted);
   - `parse_json` alone (validation, canonical bytes, leaf hash), where the per-field
     commitments are the whole difference.

3. With --against DIR (a checkout of another version, e.g. main's): `parse_json` of the
   same v1 and v2 lines by this tree's code and DIR's, each in a subprocess with its own
   PYTHONPATH, rounds alternating: median v2 / v1 of each tree (the rate v2 ingest
   pays for, before and after a change), and each tree's v2 CPU microseconds per record.

    .venv/bin/python scripts/bench_privacy.py                  # 50,000 records, 3 rounds
    .venv/bin/python scripts/bench_privacy.py --records 20000 --rounds 5
    .venv/bin/python scripts/bench_privacy.py --against /work/main --only-against
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.core.disclosure import disclose
from ledger.core.records import parse_json, parse_object
from ledger.formats.bundle import bundle_json
from ledger.formats.checkpoint import AnchoredCheckpoint, AnchorRef
from ledger.workload import interaction

PROOF_NODES = 20
"""Inclusion proof length of a leaf in a tree of 2^20 entries."""


def record(i: int, v: int) -> dict[str, Any]:
    """The i-th workload record; every fourth carries the optional fields too."""
    out = interaction(i, seed=7, v=v)
    if i % 4 == 0:
        out["body"] |= {
            "api_key_id": f"key-{i % 97}",
            "endpoint": "/v1/chat/completions",
            "client": {"asn": 64500 + i % 100, "user_agent": "gateway-sdk/2.3"},
            "metadata": {"region": "eu-west-1", "stream": True, "retries": i % 3},
        }
    return out


def bundle_bytes(record_json: Any, leaf: bytes) -> int:
    checkpoint = AnchoredCheckpoint(
        1 << 20, b"\x11" * 32, AnchorRef(b"\x22" * 32, 1_000_000, b"\x33" * 32, 1_780_000_000)
    )
    document = bundle_json(
        31337,
        b"\x44" * 20,
        b"\x55" * 32,
        checkpoint,
        [(12345, leaf, record_json, [b"\x66" * 32] * PROOF_NODES)],
    )
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())


def evidence_sizes(count: int) -> dict[str, float]:
    sizes: dict[str, list[int]] = {"v1": [], "v2": [], "v2 disclosing 2": [], "v2 disclosing 0": []}
    for i in range(count):
        one = parse_object(record(i, 1))
        two = parse_object(record(i, 2))
        sizes["v1"].append(bundle_bytes(json.loads(one.canonical), one.leaf_hash))
        sizes["v2"].append(bundle_bytes(json.loads(two.canonical), two.leaf_hash))
        for n, names in ((2, ("account_id", "model")), (0, ())):
            sizes[f"v2 disclosing {n}"].append(
                bundle_bytes(disclose(two.canonical, names), two.leaf_hash)
            )
    return {name: statistics.median(values) for name, values in sizes.items()}


def service_rate(lines: list[bytes], work: Path) -> float:
    """Records/s of the service's batch ingest work, in process (bench_api's ceiling)."""
    from scripts.bench_api import ceiling

    work.mkdir()
    batches = [[line.decode() for line in lines[i : i + 1000]] for i in range(0, len(lines), 1000)]
    return ceiling(batches, work, receipts=True)


def http_rate(url: str, version: int, round_: int, batches: int) -> float:
    """Records/s of HTTP batch ingest of fresh records (seeded by version and round)."""
    from scripts.bench_api import run_parallel

    seed = 1_000 + 10 * round_ + version
    bodies = [
        json.dumps(
            {"entries": [interaction(b * 1000 + i, seed=seed, v=version) for i in range(1000)]}
        ).encode()
        for b in range(batches)
    ]
    elapsed, _ = run_parallel(bodies, url, "/v1/entries/batch", 4)
    return batches * 1000 / elapsed


def parse_rate(lines: list[bytes]) -> float:
    start = time.perf_counter()
    for line in lines:
        parse_json(line)
    return len(lines) / (time.perf_counter() - start)


def ingest_seconds(ndjson: Path, work: Path) -> float:
    data = ["--data-dir", str(work)]
    subprocess.run([sys.executable, "-m", "ledger", "init", *data], check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ledger", "ingest", str(ndjson), *data],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def ingest_rate(ndjson: Path, one: Path, work: Path) -> float:
    """Records per second of `mledger ingest`, less its start-up (an ingest of one
    record of the same version, timed just before, into another fresh log)."""
    startup = ingest_seconds(one, work / "one")
    elapsed = ingest_seconds(ndjson, work / "all")
    return sum(1 for _ in ndjson.open()) / max(elapsed - startup, 1e-9)


PARSE_BOTH = """
import json, sys, time
from ledger.core.records import parse_json
lines = {v: open(sys.argv[v]).read().encode().splitlines() for v in (1, 2)}
out = {}
for v in (1, 2):
    wall, cpu = time.perf_counter(), time.process_time()
    for line in lines[v]:
        parse_json(line)
    count = len(lines[v])
    out[v] = (count / (time.perf_counter() - wall), (time.process_time() - cpu) / count)
print(json.dumps(out))
"""
"""parse_json of the v1 file argv[1] and the v2 file argv[2]: (rate, CPU s per record) each."""


def against_rates(files: dict[int, Path], against: Path, rounds: int) -> dict[str, Any]:
    """Per tree (this one, `against`): median v2/v1 parse_json rate, median v2 CPU us."""
    found: dict[str, list[tuple[float, float]]] = {"this": [], "against": []}
    for round_ in range(rounds):
        for name in ("this", "against") if round_ % 2 == 0 else ("against", "this"):
            tree = ROOT if name == "this" else against
            done = subprocess.run(
                [sys.executable, "-c", PARSE_BOTH, str(files[1]), str(files[2])],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONPATH": str(tree)},
                cwd=tree,
            )
            rates = json.loads(done.stdout)
            found[name].append((rates["2"][0] / rates["1"][0], rates["2"][1] * 1e6))
    return {
        name: {
            "v2_over_v1": round(statistics.median(r for r, _ in runs), 3),
            "v2_cpu_us_per_record": round(statistics.median(c for _, c in runs), 2),
        }
        for name, runs in found.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000, help="records per ingest round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per version and measure")
    parser.add_argument("--evidence", type=int, default=1_000, help="records sized")
    parser.add_argument("--batches", type=int, default=10, help="HTTP batches per round")
    parser.add_argument("--against", type=Path, help="another checkout to compare parsing with")
    parser.add_argument(
        "--only-against", action="store_true", help="with --against: only that comparison"
    )
    args = parser.parse_args()
    if args.against is not None:
        with tempfile.TemporaryDirectory() as tmp:
            files = {}
            for v in (1, 2):
                files[v] = Path(tmp) / f"v{v}.ndjson"
                text = "\n".join(json.dumps(record(i, v)) for i in range(args.records))
                files[v].write_text(text)
            compared = against_rates(files, args.against.resolve(), max(args.rounds, 3))
        print(f"parse_json v2/v1, this tree and {args.against} alternating:", json.dumps(compared))
        if args.only_against:
            return 0

    sizes = evidence_sizes(args.evidence)
    lines = {v: [json.dumps(record(i, v)).encode() for i in range(args.records)] for v in (1, 2)}
    parsed: dict[int, list[float]] = {1: [], 2: []}
    ingested: dict[int, list[float]] = {1: [], 2: []}
    served: dict[int, list[float]] = {1: [], 2: []}
    posted: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        from ledger.chain.anvil import Anvil
        from scripts.bench_api import start_server

        with Anvil(0, None, Path(tmp) / "anvil.log") as anvil:
            process, url = start_server(Path(tmp) / "serve", anvil.url)
            try:
                http_rate(url, 1, -1, 2)  # warm up
                for round_ in range(args.rounds):
                    for v in (1, 2) if round_ % 2 == 0 else (2, 1):
                        posted[v].append(http_rate(url, v, round_, args.batches))
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        files, ones = {}, {}
        for v in (1, 2):
            files[v] = Path(tmp) / f"v{v}.ndjson"
            files[v].write_bytes(b"\n".join(lines[v]) + b"\n")
            ones[v] = Path(tmp) / f"one-v{v}.ndjson"
            ones[v].write_bytes(lines[v][0] + b"\n")
        for round_ in range(args.rounds):
            for v in (1, 2) if round_ % 2 == 0 else (2, 1):
                parsed[v].append(parse_rate(lines[v]))
                served[v].append(service_rate(lines[v], Path(tmp) / f"service-{v}-{round_}"))
                work = Path(tmp) / f"log-{v}-{round_}"
                ingested[v].append(ingest_rate(files[v], ones[v], work))
    parse_median = {v: statistics.median(r) for v, r in parsed.items()}
    ingest_median = {v: statistics.median(r) for v, r in ingested.items()}
    service_median = {v: statistics.median(r) for v, r in served.items()}
    http_median = {v: statistics.median(r) for v, r in posted.items()}

    print("| evidence bundle (median bytes, compact JSON) | bytes | minus v1 |")
    print("|---|---:|---:|")
    for name, size in sizes.items():
        print(f"| {name} | {size:,.0f} | {size - sizes['v1']:+,.0f} |")
    print()
    print(f"| rate (median of {args.rounds}, {args.records:,} records) | v1 /s | v2 /s | v2/v1 |")
    print("|---|---:|---:|---:|")
    for name, rates in (
        ("HTTP batches of 1,000 (mledger serve, SQLite)", http_median),
        ("service batch ingest (SQLite, receipts signed)", service_median),
        ("mledger ingest (SQLite, bulk)", ingest_median),
        ("parse_json", parse_median),
    ):
        print(f"| {name} | {rates[1]:,.0f} | {rates[2]:,.0f} | {rates[2] / rates[1]:.2f} |")
    worst = max(size - sizes["v1"] for size in sizes.values())
    print()
    print(f"target: evidence at most 1,024 bytes larger: {worst:+,.0f} ->", worst <= 1024)
    for name, rates in (
        ("HTTP batch ingest", http_median),
        ("service batch ingest", service_median),
        ("bulk ingest", ingest_median),
    ):
        ratio = rates[2] / rates[1]
        print(f"target: {name} at least 0.8x v1: {ratio:.2f}x ->", ratio >= 0.8)
    return 0


if __name__ == "__main__":
    sys.exit(main())
