#!/usr/bin/env python3
"""Benchmark evidence over HTTP: GET /v1/evidence/{leaf_hash} on a large anchored log.

Takes an existing SQLite log (build one with scripts/bench_log.py, whose work dir keeps
a 10M-entry log in big/), and with the real commands: starts a fresh Anvil, runs
`mledger deploy` and `mledger anchor` on that data dir (one anchor covers the whole log),
starts `mledger serve`, then fetches the evidence bundle of random entries twice (cold:
first touch; warm: pages cached, as in a running service) and verifies a sample of
them with `ledger.verify.bundle` (offline mathematics).

    .venv/bin/python scripts/bench_evidence.py --data-dir /tmp/ledger-bench/big
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.chain.anvil import free_port
from ledger.store.repository import Store
from ledger.verify.bundle import verify_bundle

ADMIN_KEY = "bench-admin-key-0123456789abcdef"


def ledger(*args: str) -> str:
    """Run a `ledger` command; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "ledger", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"ledger {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def wait_for(url: str, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if process.poll() is not None:
                raise SystemExit(f"{process.args} exited: {process.communicate()[1]}") from None
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer in {seconds:g} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", type=Path, required=True, help="an existing, sealed SQLite log"
    )
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()

    store = Store.open(f"sqlite:///{args.data_dir.resolve() / 'ledger.db'}")  # migrates it
    size = store.state().tree_size
    rng = random.Random(3)
    with store.read() as conn:
        leaves = [
            bytes(
                conn.exec_driver_sql(
                    "SELECT leaf_hash FROM entries WHERE seq = ?", (rng.randrange(1, size + 1),)
                ).scalar_one()
            )
            for _ in range(args.samples)
        ]
    store.close()

    anvil_bin = ROOT / "node_modules" / ".bin" / "anvil"
    rpc_port, api_port = free_port(), free_port()
    rpc = f"http://127.0.0.1:{rpc_port}"
    anvil = subprocess.Popen([str(anvil_bin), "--port", str(rpc_port), "--silent"], text=True)
    server: subprocess.Popen[str] | None = None
    try:
        wait_for(rpc, anvil)
        where = ["--data-dir", str(args.data_dir)]
        # A fresh chain each run: forget an earlier run's deployment and anchors.
        with Store.open(f"sqlite:///{args.data_dir.resolve() / 'ledger.db'}").transaction() as conn:
            conn.exec_driver_sql("DELETE FROM chain_calls WHERE kind = 'anchor'")
            conn.exec_driver_sql("DELETE FROM deployment")
        ledger("deploy", "--rpc-url", rpc, *where)
        anchor = json.loads(ledger("anchor", "--rpc-url", rpc, *where))
        print(
            f"anchored tree size {anchor['tree_size']:,} in block {anchor['block_number']}",
            file=sys.stderr,
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "ledger", "serve", *where, "--port", str(api_port)],
            env={**os.environ, "LEDGER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY},
            text=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{api_port}"
        wait_for(base + "/healthz", server)
        results: dict[str, object] = {"tree_size": size, "samples": len(leaves)}
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
        ) as client:
            for label in ("cold", "warm"):
                times = []
                for leaf in leaves:
                    start = time.perf_counter()
                    response = client.get(f"/v1/evidence/0x{leaf.hex()}")
                    times.append(time.perf_counter() - start)
                    if response.status_code != 200:
                        raise SystemExit(f"evidence failed: {response.status_code} {response.text}")
                times.sort()
                results[f"{label}_p50_ms"] = round(statistics.median(times) * 1e3, 2)
                results[f"{label}_p99_ms"] = round(times[int(len(times) * 0.99) - 1] * 1e3, 2)
            for leaf in leaves[:20]:
                verify_bundle(client.get(f"/v1/evidence/0x{leaf.hex()}").text, chain=None)
        print(json.dumps(results))
    finally:
        for process in (server, anvil):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
