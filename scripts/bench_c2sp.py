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

Then ingest throughput of `mledger serve` with witnessing off and on, side by side
(--ingest-runs pairs of --ingest-seconds each): the medians and their ratio.

    .venv/bin/python scripts/bench_c2sp.py            # ~2 min (witness round, ingest)
    .venv/bin/python scripts/bench_c2sp.py --only witness     # or formats, ingest, serving
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
    parser.add_argument(
        "--ingest-runs", type=int, default=3, help="witnesses off/on pairs of `mledger serve`"
    )
    parser.add_argument("--ingest-seconds", type=float, default=8.0, help="ingest time per run")
    parser.add_argument(
        "--only",
        choices=("formats", "witness", "ingest", "serving"),
        help="run one part of the benchmark",
    )
    args = parser.parse_args()
    if args.only == "witness":
        witness_round(args.witness_rounds)
        return
    if args.only == "ingest":
        ingest_side_by_side(args.ingest_runs, args.ingest_seconds)
        return
    if args.only == "serving":
        serving(args.requests, args.tile_leaves)
        return

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
    if args.only == "formats":
        return
    if args.witness_rounds:
        witness_round(args.witness_rounds)
    if args.ingest_runs:
        ingest_side_by_side(args.ingest_runs, args.ingest_seconds)
    serving(args.requests, args.tile_leaves)


def ingest_side_by_side(runs: int, seconds: float) -> None:
    """Ingest throughput of `mledger serve` (real uvicorn, SQLite, sealing every 0.2 s)
    with witnessing off and on, alternated `runs` times: a client posts batches of 100
    records (generated beforehand) for `seconds`. With witnessing on, the service sends
    each new checkpoint to a `mledger witness serve` process on this machine every 0.2 s
    (its own thread, its own fresh state per run); the run checks the witness cosigned."""
    import json
    import os
    import subprocess
    import tempfile

    import httpx

    from ledger.chain.anvil import free_port
    from ledger.workload import interaction

    admin = "bench-admin-key-0123456789abcdef"
    note_key = Signer("localhost/model-ledger", bytes([7]) * 32)
    batches = [
        {"entries": [interaction(b * 100 + i, seed=5) for i in range(100)]} for b in range(2000)
    ]
    rates: dict[str, list[float]] = {"off": [], "on": []}
    published: list[int] = []
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LEDGER_BOOTSTRAP_ADMIN_KEY": admin,
        "LEDGER_NOTE_KEY": note_key.private_text(),
        "LEDGER_WITNESS_INTERVAL": "0.2",
    }
    sent = 0
    for run in range(runs):
        for mode in ("off", "on"):
            with tempfile.TemporaryDirectory() as tmp:
                witness = None
                extra: list[str] = []
                if mode == "on":
                    command = [sys.executable, "-m", "ledger", "witness", "serve", "--port", "0"]
                    command += ["--data-dir", f"{tmp}/w", "--name", "witness.example/w1"]
                    command += ["--log", note_key.vkey()]
                    witness = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
                    assert witness.stdout is not None
                    started = json.loads(witness.stdout.readline())
                    extra = ["--witness", f"{started['url']} {started['vkey']}"]
                port = free_port()
                url = f"http://127.0.0.1:{port}"
                command = [sys.executable, "-m", "ledger", "serve", "--data-dir", f"{tmp}/d"]
                command += ["--port", str(port), "--seal-interval", "0.2", *extra]
                service = subprocess.Popen(
                    command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
                try:
                    client = httpx.Client(
                        base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=60
                    )
                    deadline = time.monotonic() + 90
                    while True:
                        try:
                            if client.get("/healthz").status_code == 200:
                                break
                        except httpx.TransportError:
                            pass
                        assert time.monotonic() < deadline, "mledger serve did not start"
                        time.sleep(0.05)
                    count = 0
                    start = time.perf_counter()
                    while time.perf_counter() - start < seconds:
                        answer = client.post("/v1/entries/batch", json=batches[sent % len(batches)])
                        assert answer.status_code in (200, 201, 202), answer.text
                        sent += 1
                        count += 100
                    rates[mode].append(count / (time.perf_counter() - start))
                    if mode == "on":
                        time.sleep(1.0)  # the last seal and a witness round
                        health = client.get("/healthz").json()
                        published.append(health["witnessing"]["published_size"])
                        assert published[-1] > 0, health
                    client.close()
                finally:
                    service.terminate()
                    service.wait(60)
                    if witness is not None:
                        witness.terminate()
                        witness.wait(30)
        print(
            f"run {run + 1}: off {rates['off'][-1]:8.0f} entries/s,"
            f" on {rates['on'][-1]:8.0f} entries/s (published size {published[-1]})"
        )
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    print(f"ingest over HTTP, batches of 100, median of {runs} runs of {seconds:g} s each")
    print(f"{'witnessing off (entries/s)':52} {off:9.0f}")
    print(f"{'witnessing on, 1 witness on this machine (entries/s)':52} {on:9.0f}")
    print(f"{'on / off':52} {on / off:9.2f}")


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
