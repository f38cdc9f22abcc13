#!/usr/bin/env python3
"""Benchmark anchoring: gas per anchor by log size, and anchor latency, on a fresh Anvil.

Gas: for each exponent k (default 4..24) a new log is created on one LogAnchor; its
first anchor is a tree of ``2**k - 7`` leaves, and the measured anchor appends to it a
tree of ``2**k + 2**(k-3) + 3`` leaves with the RFC 9162 consistency proof between the
two (unaligned sizes on purpose: the longest proofs), signed by the log's own key as
every anchor must be (the signature check is part of the gas). The contract only needs
consistent roots, so the leaves are synthetic, ``leaf i = SHA-256(0x00 || i as 8
bytes)``, and roots and proof nodes are computed from complete subtrees (memoised from
2**16 leaves up), never holding the leaf list: the 2**24 tree costs ~19M leaf hashes
once. Every proof is checked in Python before it is sent; the contract checks it again.

Latency: the real `mledger deploy`, `mledger ingest` and `mledger anchor` commands on a
SQLite data dir, timing `mledger anchor` (seal, connect, send, wait for the receipt,
confirmed) from the command's start to its exit, and the same work in-process
(`Anchorer.anchor_latest`), which excludes Python's start-up and imports.

    .venv/bin/python scripts/bench_gas.py                    # full run (~1 min)
    .venv/bin/python scripts/bench_gas.py --max-exponent 16  # quick look
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.chain.anvil import Anvil
from ledger.chain.client import ChainClient
from ledger.chain.deployment import attach, log_id_for
from ledger.chain.keys import DEV_ANCHOR_KEY, dev_key
from ledger.chain.log_anchor import LogAnchor
from ledger.core import merkle
from ledger.core.merkle.hashing import hash_pairs
from ledger.formats.eip712 import Domain
from ledger.service.anchorer import Anchorer
from ledger.service.sequencer import seal
from ledger.service.signer import LogSigner, load_log_key
from ledger.store.anchors import AnchorRepository
from ledger.store.repository import Store
from ledger.workload import ndjson_lines

MEMO_LEVEL = 16
"""Subtrees of 2**MEMO_LEVEL leaves and more are memoised; smaller ones are built flat."""


def leaf(index: int) -> bytes:
    """The synthetic leaf hash at `index`."""
    return hashlib.sha256(b"\x00" + index.to_bytes(8, "big")).digest()


def _flat_subtree(level: int, index: int) -> bytes:
    """Hash of the complete subtree (level, index), built bottom up from its leaves."""
    start = index << level
    nodes = [leaf(i) for i in range(start, start + (1 << level))]
    while len(nodes) > 1:
        nodes = hash_pairs(nodes)
    return nodes[0]


@cache
def subtree(level: int, index: int) -> bytes:
    """Hash of the complete aligned subtree of 2**level leaves starting at index << level."""
    if level <= MEMO_LEVEL:
        return _flat_subtree(level, index)
    return merkle.hash_children(subtree(level - 1, 2 * index), subtree(level - 1, 2 * index + 1))


def range_hash(start: int, end: int) -> bytes:
    """MTH of leaves [start, end) of the synthetic log."""
    return merkle.fold_nodes(
        [subtree(level, index) for level, index in merkle.range_nodes(start, end)]
    )


def anchor_pair(exponent: int) -> tuple[int, int]:
    """(from size, to size) measured for exponent k."""
    return (1 << exponent) - 7, (1 << exponent) + (1 << max(0, exponent - 3)) + 3


def measure_gas(contract: LogAnchor, exponents: range) -> list[tuple[int, int, int, int]]:
    """(from, to, proof length, gas) of one append per exponent, each on a new log."""
    from eth_account import Account

    key_address = contract.client.require_key().address
    rows = []
    for exponent in exponents:
        first, second = anchor_pair(exponent)
        started = time.perf_counter()
        first_root, second_root = range_hash(0, first), range_hash(0, second)
        proof = [range_hash(a, b) for a, b in merkle.consistency_ranges(first, second)]
        merkle.verify_consistency(first, second, proof, first_root, second_root)
        hashing = time.perf_counter() - started
        log_id = log_id_for(f"bench-gas-{exponent}")
        signer = LogSigner(
            Account.create(), Domain(log_id, contract.client.chain_id, contract.address_bytes)
        )
        contract.create_log(log_id, key_address, signer.address)
        contract.anchor(log_id, first, first_root, [], signer.anchor_signature(first, first_root))
        receipt = contract.anchor(
            log_id, second, second_root, proof, signer.anchor_signature(second, second_root)
        )
        assert contract.root_at(log_id, second) == second_root
        rows.append((first, second, len(proof), receipt.gas_used))
        print(
            f"  2^{exponent}: {first} -> {second}, proof {len(proof)}, gas {receipt.gas_used}"
            f" (roots in {hashing:.1f} s)",
            file=sys.stderr,
        )
    return rows


def ledger_command(*args: str) -> tuple[float, str]:
    """Run `ledger ARGS`; (wall seconds, stdout). Raises on failure."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "LEDGER_ANCHOR_KEY": DEV_ANCHOR_KEY},
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"ledger {' '.join(args)} failed: {result.stderr}")
    return elapsed, result.stdout


def measure_latency(url: str, rounds: int) -> tuple[list[float], list[float]]:
    """Wall seconds of `mledger anchor` (whole command) and of Anchorer.anchor_latest."""
    command: list[float] = []
    in_process: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        where = ["--data-dir", str(data), "--rpc-url", url]
        ledger_command("deploy", *where, "--log-name", "bench-latency")
        for round_ in range(rounds):
            path = Path(tmp) / f"r{round_}.ndjson"
            path.write_text("\n".join(ndjson_lines(1000, seed=round_)) + "\n")
            ledger_command("ingest", str(path), "--data-dir", str(data))
            elapsed, out = ledger_command("anchor", *where)
            command.append(elapsed)
            assert json.loads(out)["tree_size"] == 1000 * (round_ + 1)
        store = Store.open(f"sqlite:///{data / 'ledger.db'}")
        try:
            deployment = AnchorRepository(store).deployment()
            assert deployment is not None
            client = ChainClient(url, dev_key())
            contract = attach(client, deployment.chain_id, deployment.contract, deployment.log_id)
            signer = LogSigner(
                load_log_key(data),
                Domain(deployment.log_id, deployment.chain_id, deployment.contract),
            )
            anchorer = Anchorer(store, contract, deployment, signer)
            from ledger.core.records import parse_json

            for round_ in range(rounds):
                lines = ndjson_lines(100, seed=1000 + round_)
                store.add_entries([[parse_json(line) for line in lines]])
                seal(store)
                started = time.perf_counter()
                anchorer.anchor_latest(timeout=60)
                in_process.append(time.perf_counter() - started)
        finally:
            store.close()
    return command, in_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-exponent", type=int, default=4)
    parser.add_argument("--max-exponent", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=5, help="latency measurements of each kind")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, Anvil(0, None, Path(tmp) / "anvil.log") as anvil:
        client = ChainClient(anvil.url, dev_key())
        contract, _receipt = LogAnchor.deploy(client)
        print(
            f"LogAnchor at {contract.address} on {anvil.url}; computing roots...", file=sys.stderr
        )
        rows = measure_gas(contract, range(args.min_exponent, args.max_exponent + 1))
        command, in_process = measure_latency(anvil.url, args.rounds)

    print("| from size | to size | proof length | gas |")
    print("|---:|---:|---:|---:|")
    for first, second, length, gas in rows:
        print(f"| {first:,} | {second:,} | {length} | {gas:,} |")
    print()
    print(
        f"Median gas per anchor: {statistics.median(g for *_, g in rows):,.0f}"
        f" (min {min(g for *_, g in rows):,}, max {max(g for *_, g in rows):,})"
    )
    print()
    print("| anchor latency on Anvil (1 confirmation) | median | min | max |")
    print("|---|---:|---:|---:|")
    for name, values in (
        ("`mledger anchor` command, start to exit", command),
        ("in-process `Anchorer.anchor_latest`", in_process),
    ):
        print(
            f"| {name} | {statistics.median(values):.2f} s |"
            f" {min(values):.2f} s | {max(values):.2f} s |"
        )


if __name__ == "__main__":
    main()
