#!/usr/bin/env python3
"""Benchmark HTTP ingest against a real `mledger serve` (uvicorn) on SQLite.

Measures, in one run:

1. sustained ingest in batches (POST /v1/entries/batch, 1,000 records each, a few
   clients in parallel): records/s and p50/p99 latency per batch;
2. single records (POST /v1/entries, clients in parallel): records/s and latency;
3. the ceiling without HTTP, in-process on a fresh SQLite log: validate + encode + hash
   + insert in batches of 1,000, and the same plus the receipt work (seq lookup and one
   signature per batch);

and prints the ratio of (1) to (3). Request bodies are serialized before the clock
starts: the client's JSON encoding does not count. The server seals every second
and anchors every 5 s on a local Anvil meanwhile, as in production.

    .venv/bin/python scripts/bench_api.py                    # ~1 min
    .venv/bin/python scripts/bench_api.py --batches 20 --singles 500
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
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx
from eth_account import Account

from ledger.chain.anvil import Anvil, free_port
from ledger.chain.keys import DEV_ANCHOR_KEY
from ledger.core.records import now_ts, parse_json
from ledger.formats.eip712 import Domain
from ledger.service.signer import LogSigner
from ledger.store import queries
from ledger.store.repository import Store
from ledger.workload import interaction

ADMIN = "bench-admin-key-0123456789abcdef"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def start_server(
    data_dir: Path, rpc_url: str, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str]:
    """`mledger serve` sealing every second and anchoring every 5 s on `rpc_url`."""
    env = {**os.environ, "LEDGER_BOOTSTRAP_ADMIN_KEY": ADMIN, "LEDGER_ANCHOR_KEY": DEV_ANCHOR_KEY}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger",
            "deploy",
            "--data-dir",
            str(data_dir),
            "--rpc-url",
            rpc_url,
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledger",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--seal-interval",
            "1",
            "--rpc-url",
            rpc_url,
            "--anchor-interval",
            "5",
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit("mledger serve did not start")
        time.sleep(0.05)


def run_parallel(
    bodies: list[bytes], url: str, path: str, clients: int
) -> tuple[float, list[float]]:
    """POST every body with `clients` threads; (elapsed seconds, per-request latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()
    next_index = [0]

    def work() -> None:
        with httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {ADMIN}", "content-type": "application/json"},
            timeout=120,
        ) as client:
            while True:
                with lock:
                    if next_index[0] >= len(bodies):
                        return
                    body = bodies[next_index[0]]
                    next_index[0] += 1
                started = time.perf_counter()
                response = client.post(path, content=body)
                took = time.perf_counter() - started
                if response.status_code != 202:
                    raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
                with lock:
                    latencies.append(took)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies


def ceiling(records: list[list[str]], data_dir: Path, receipts: bool) -> float:
    """Records/s of validate + encode + hash + insert (and receipts) in process."""
    store = Store.open(f"sqlite:///{data_dir / 'ceiling.db'}")
    signer = LogSigner(Account.create(), Domain(b"\x00" * 32))
    try:
        started = time.perf_counter()
        for batch in records:
            received = now_ts()
            entries = [parse_json(line, ts=received) for line in batch]
            store.add_entries([entries])
            if receipts:
                seqs = queries.seqs_of(store, [e.leaf_hash for e in entries])
                signer.receipts_json([(e.leaf_hash, seqs[e.leaf_hash]) for e in entries], received)
        return sum(map(len, records)) / (time.perf_counter() - started)
    finally:
        store.close()
        (data_dir / "ceiling.db").unlink()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=60, help="Batches of --batch-size records.")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4, help="Parallel HTTP clients.")
    parser.add_argument("--singles", type=int, default=2000, help="Single-record requests.")
    parser.add_argument(
        "--workers", type=int, default=1, help="API processes (`mledger serve --workers`)."
    )
    args = parser.parse_args()

    total = args.batches * args.batch_size
    lines = [json.dumps(interaction(i, seed=99)) for i in range(total + args.singles)]
    batches = [lines[i : i + args.batch_size] for i in range(0, total, args.batch_size)]
    batch_bodies = [('{"entries":[' + ",".join(batch) + "]}").encode() for batch in batches]
    single_bodies = [line.encode() for line in lines[total:]]

    with (
        tempfile.TemporaryDirectory(prefix="bench-api-") as tmp,
        Anvil(0, None, Path(tmp) / "anvil.log") as anvil,
    ):
        data = Path(tmp)
        process, url = start_server(data / "serve", anvil.url, args.workers)
        try:
            run_parallel(batch_bodies[:2], url, "/v1/entries/batch", 1)  # warm up
            elapsed, latencies = run_parallel(
                batch_bodies[2:], url, "/v1/entries/batch", args.clients
            )
            batch_rate = (len(batch_bodies) - 2) * args.batch_size / elapsed
            single_elapsed, single_latencies = run_parallel(
                single_bodies, url, "/v1/entries", args.clients
            )
            single_rate = len(single_bodies) / single_elapsed
            health = httpx.get(url + "/healthz").json()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        plain = ceiling(batches, data, receipts=False)
        signed = ceiling(batches, data, receipts=True)

    ms = 1000.0
    print(
        f"| measure ({os.cpu_count()} cores, SQLite, {args.workers}"
        f" API workers, {args.clients} clients) | value |"
    )
    print("|---|---|")
    print(f"| HTTP batches of {args.batch_size} | {batch_rate:,.0f} records/s |")
    print(
        f"| batch latency p50 / p99 | {statistics.median(latencies) * ms:.0f}"
        f" / {percentile(latencies, 99) * ms:.0f} ms |"
    )
    print(f"| HTTP single records | {single_rate:,.0f} records/s |")
    print(
        f"| single latency p50 / p99 | {statistics.median(single_latencies) * ms:.1f}"
        f" / {percentile(single_latencies, 99) * ms:.1f} ms |"
    )
    print(f"| ceiling without HTTP: validate, encode, hash, insert | {plain:,.0f} records/s |")
    print(
        "| ceiling without HTTP, plus receipts (seq lookup, 1"
        f" signature/batch) | {signed:,.0f} records/s |"
    )
    print(
        f"| HTTP batches / ceiling | {batch_rate / plain:.0%} (with"
        f" receipts: {batch_rate / signed:.0%}) |"
    )
    anchored = health["anchor"]["anchored_size"] if health["anchor"] else 0
    print(
        f"| log after the run | tree size {health['tree_size']},"
        f" pending {health['pending']}, anchored {anchored:,} |"
    )


if __name__ == "__main__":
    main()
