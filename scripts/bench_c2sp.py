#!/usr/bin/env python3
"""What the C2SP formats cost (ledger/formats/note.py, tlog_checkpoint.py, cosignature.py,
tlog_proof.py): signing and opening a checkpoint note, cosigning and checking a witness
quorum, and verifying a whole tlog-proof, each beside the bare operation it wraps (one
raw Ed25519 signature or verification, one ledger.core.merkle inclusion check), so the
ratio is the formats' own overhead.

Prints the median of --repeat runs of --loops calls each, in microseconds per call.
Then one witness round (ledger/service/witness.py) against a real `ledger witness serve`
process on this machine, beside the checkpoint (seal) it witnesses: the median of
--witness-rounds rounds, in milliseconds (the target of issue 14: at most 50 ms).

Then serving (ledger/api/routes/tlog.py): GET /tile/0/<N> (a full tile) and GET /checkpoint,
beside GET /v1/checkpoints/latest (a JSON read of one row), sent to the ASGI app in this process, no
network, on a real SQLite log of --tile-leaves entries sealed with a note key: p50 and
p99 of --requests requests each, full tiles fetched round robin.

    .venv/bin/python scripts/bench_c2sp.py            # ~50 s (with the witness round)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ledger.core.merkle import hash_leaf, inclusion_proof, root_hash, verify_inclusion
from ledger.formats.cosignature import Cosigner, WitnessPolicy, cosigner_verifier
from ledger.formats.note import Signer, parse_note
from ledger.formats.tlog_checkpoint import Checkpoint, add_signatures, open_checkpoint
from ledger.formats.tlog_proof import TlogProof, verify_tlog_proof

ORIGIN = "ledger.example.com/model-ledger"


def median_us(run: Callable[[], Any], loops: int, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(loops):
            run()
        samples.append((time.perf_counter() - start) / loops * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--loops", type=int, default=300)
    parser.add_argument("--leaves", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=3000, help="per served route")
    parser.add_argument("--tile-leaves", type=int, default=16_384, help="entries of the log")
    parser.add_argument("--witness-rounds", type=int, default=41)
    args = parser.parse_args()

    log = Signer(ORIGIN, bytes(range(32)))
    witnesses = [Cosigner(f"witness{i}.example/w", bytes([i + 40]) * 32) for i in range(5)]
    leaves = [hash_leaf(i.to_bytes(8, "big")) for i in range(args.leaves)]
    checkpoint = Checkpoint(ORIGIN, len(leaves), root_hash(leaves))
    text = checkpoint.text()
    signed = checkpoint.sign([log])
    cosigned = add_signatures(signed, [w.cosign(text, 1_700_000_000) for w in witnesses[:3]])
    note = parse_note(cosigned)
    one = WitnessPolicy((cosigner_verifier(witnesses[0].vkey()),), 1)
    three_of_five = WitnessPolicy(tuple(cosigner_verifier(w.vkey()) for w in witnesses), 3)
    index = len(leaves) * 2 // 3
    path = tuple(inclusion_proof(index, leaves))
    proof = TlogProof(index, path, note).encode()
    log_verifiers = [log.verifier()]

    raw_key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    raw_public = Ed25519PublicKey.from_public_bytes(log.public_key)
    raw_signature = raw_key.sign(text.encode())

    rows: list[tuple[str, Callable[[], Any], str | None]] = [
        ("raw Ed25519 sign (checkpoint text)", lambda: raw_key.sign(text.encode()), None),
        ("sign checkpoint note", lambda: checkpoint.sign([log]), "raw Ed25519 sign"),
        (
            "raw Ed25519 verify",
            lambda: raw_public.verify(raw_signature, text.encode()),
            None,
        ),
        (
            "open checkpoint note (parse + verify)",
            lambda: open_checkpoint(signed, ORIGIN, log_verifiers),
            "raw Ed25519 verify",
        ),
        ("cosign (witness)", lambda: witnesses[0].cosign(text, 1_700_000_000), "raw Ed25519 sign"),
        ("check 1-of-1 witness policy", lambda: one.check(note), "raw Ed25519 verify"),
        ("check 3-of-5 witness policy", lambda: three_of_five.check(note), "raw Ed25519 verify"),
        (
            f"verify_inclusion alone ({len(path)} nodes)",
            lambda: verify_inclusion(index, len(leaves), leaves[index], path, checkpoint.root),
            None,
        ),
        (
            "verify tlog-proof (log sig + 1-of-1 + inclusion)",
            lambda: verify_tlog_proof(proof, leaves[index], ORIGIN, log_verifiers, one),
            "verify_inclusion alone",
        ),
    ]
    results: dict[str, float] = {}
    print(f"median of {args.repeat} x {args.loops} calls, microseconds per call")
    for name, run, base in rows:
        results[name] = median_us(run, args.loops, args.repeat)
        ratio = ""
        if base is not None:
            base_value = next(v for k, v in results.items() if k.startswith(base))
            ratio = f"  ({results[name] / base_value:.2f} x {base})"
        print(f"{name:52} {results[name]:9.1f}{ratio}")
    if args.witness_rounds:
        witness_round(args.witness_rounds)
    serving(args.requests, args.tile_leaves)


def witness_round(rounds: int) -> None:
    """A witness round on this machine: the log's worker sends its new checkpoint note and
    a consistency proof to a `ledger witness serve` process (another process, real uvicorn,
    SQLite state with synchronous=FULL), which checks it, moves its state and cosigns; the
    worker verifies and keeps the cosignature. Beside it, the seal that made the checkpoint
    (10 records per round, as a busy log seals every second)."""
    import json
    import os
    import subprocess
    import tempfile

    from ledger.core.records import parse_object
    from ledger.service.sequencer import seal
    from ledger.service.witness import WitnessWorker, parse_endpoint
    from ledger.store.repository import Store
    from ledger.workload import interaction

    log = Signer(ORIGIN, bytes(range(32)))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "ledger", "witness", "serve", "--port", "0"]
        command += ["--data-dir", f"{tmp}/w", "--name", "witness.example/w1", "--log", log.vkey()]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        store = Store.open(f"sqlite:///{tmp}/log.db")
        try:
            assert server.stdout is not None
            started = json.loads(server.stdout.readline())
            endpoint = parse_endpoint(f"{started['url']} {started['vkey']}")

            def latest() -> bytes:
                state = store.state()
                return Checkpoint(ORIGIN, state.tree_size, state.root).sign([log])

            worker = WitnessWorker(store, latest, [endpoint], quorum=1)
            seals, witnessed = [], []
            for r in range(rounds + 1):
                batch = [parse_object(interaction(i)) for i in range(r * 10, r * 10 + 10)]
                store.add_entries([batch])
                start = time.perf_counter()
                seal(store)
                seals.append((time.perf_counter() - start) * 1e3)
                start = time.perf_counter()
                assert worker.round() == 1
                witnessed.append((time.perf_counter() - start) * 1e3)
            worker.close()
        finally:
            server.terminate()
            server.wait(30)
            store.close()
    seal_ms, round_ms = statistics.median(seals[1:]), statistics.median(witnessed[1:])
    print(f"median of {rounds} rounds, milliseconds (the first, connecting, left out)")
    print(f"{'seal 10 records (the checkpoint)':52} {seal_ms:9.2f}")
    print(f"{'witness round (1 witness, this machine)':52} {round_ms:9.2f}  (target <= 50)")


async def _get(app: Any, path: str) -> tuple[int, bytes]:
    """One GET through the whole ASGI app (routing, middleware, the handler), in process."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
    status, body = 0, b""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            body += message.get("body", b"")

    await app(scope, receive, send)
    return status, body


def serving(requests: int, leaves: int) -> None:
    import asyncio
    import tempfile

    from eth_account import Account

    from ledger.api.main import create_app
    from ledger.core.merkle.tiles import TILE_WIDTH, tile_path
    from ledger.core.records import parse_object
    from ledger.formats.eip712 import Domain
    from ledger.service.sequencer import seal
    from ledger.service.signer import LogSigner
    from ledger.store.repository import Store
    from ledger.workload import interaction

    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{folder}/bench.db")
        try:
            entries = [parse_object(interaction(i, seed=99)) for i in range(leaves)]
            store.add_entries([entries])
            note_key = Signer(ORIGIN, bytes(range(32)))
            seal(store, note=note_key)
            app = create_app(store, LogSigner(Account.create(), Domain(bytes(32)), note=note_key))
            full = leaves // TILE_WIDTH
            paths = ["/" + tile_path(0, i % full) for i in range(requests)]

            async def measure(paths: list[str]) -> list[float]:
                samples = []
                for path in paths:
                    start = time.perf_counter()
                    status, _body = await _get(app, path)
                    samples.append((time.perf_counter() - start) * 1e6)
                    assert status == 200, (path, status)
                return samples

            print(f"\nserving in process, {leaves} leaves ({full} full tiles), {requests} requests")
            floor = None
            for name, batch in (
                ("GET /v1/checkpoints/latest (a JSON read)", ["/v1/checkpoints/latest"] * requests),
                ("GET /tile/0/<N> (full tile)", paths),
                ("GET /checkpoint", ["/checkpoint"] * requests),
            ):
                asyncio.run(measure(batch[: requests // 10]))  # warm up
                samples = sorted(asyncio.run(measure(batch)))
                p50 = statistics.median(samples)
                p99 = samples[int(len(samples) * 0.99) - 1]
                ratio = "" if floor is None else f"  ({p50 / floor:.2f} x the JSON read)"
                floor = p50 if floor is None else floor
                print(f"{name:52} p50 {p50:7.1f} us  p99 {p99:7.1f} us{ratio}")
        finally:
            store.close()


if __name__ == "__main__":
    main()
