"""`ledger up --port` serves the API beside sealing and anchoring on an embedded Anvil:
ingest over HTTP, watch it anchored, fetch the evidence."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import httpx

from ledger.chain.anvil import free_port
from ledger.core import merkle
from ledger.verify.receipt import verify_receipt
from ledger.workload import interaction
from tests.api.conftest import ADMIN_KEY, assert_problem
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture: fails clearly without Anvil


def _read(stream: IO[str], sink: Any) -> None:
    for line in stream:
        sink(line)


def test_up_serves_the_api_end_to_end(tmp_path: Path, anvil_binary: Path) -> None:  # noqa: F811
    port, rpc_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledger",
            "up",
            "--data-dir",
            str(tmp_path / "data"),
            "--rpc-port",
            str(rpc_port),
            "--port",
            str(port),
            "--seal-interval",
            "0.2",
            "--anchor-interval",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LEDGER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY},
    )
    lines: queue.Queue[str] = queue.Queue()
    stderr: list[str] = []
    assert process.stdout is not None and process.stderr is not None
    threading.Thread(target=_read, args=(process.stdout, lines.put), daemon=True).start()
    threading.Thread(target=_read, args=(process.stderr, stderr.append), daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not any(f"API at {url}" in line for line in stderr):
            assert process.poll() is None and time.monotonic() < deadline, "".join(stderr)
            time.sleep(0.05)
        admin = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60
        )
        records = [interaction(i, seed=41) for i in range(12)]
        receipts = admin.post("/v1/entries/batch", json={"entries": records}).json()["receipts"]
        chain_domain = receipts[0]["domain"]
        assert chain_domain["chainId"] == 31337 and chain_domain["verifyingContract"].startswith(
            "0x"
        )
        verify_receipt(receipts[3])

        while True:  # the JSON lines of `ledger up` go on as before
            event = json.loads(lines.get(timeout=60))
            if event["type"] == "anchor" and event["tree_size"] >= 12:
                break
        leaf = receipts[3]["leaf_hash"]
        entry = admin.get(f"/v1/entries/{leaf}").json()
        assert entry["status"] == "anchored" and entry["leaf_index"] == 3

        checkpoint = admin.get(f"/v1/checkpoints/{event['tree_size']}").json()
        assert (
            checkpoint["anchor"]["status"] == "confirmed"
            and checkpoint["anchor"]["tx_hash"] == event["tx_hash"]
        )
        assert checkpoint["domain"] == chain_domain

        proof = admin.get(
            f"/v1/proofs/inclusion/{leaf}", params={"tree_size": event["tree_size"]}
        ).json()
        assert proof["anchor"]["block_number"] == event["block_number"]
        merkle.verify_inclusion(
            3,
            proof["tree_size"],
            bytes.fromhex(leaf[2:]),
            [bytes.fromhex(p[2:]) for p in proof["proof"]],
            bytes.fromhex(event["root"][2:]),
        )

        bundle = admin.get(f"/v1/evidence/{leaf}")
        assert bundle.status_code == 200, bundle.text
        assert (
            bundle.json()["format"] == "model-ledger/evidence/v1"
            and bundle.json()["contract"] == event["contract"]
        )

        admin.post("/v1/entries", json=interaction(99, seed=41))
        anchored = admin.post("/v1/admin/anchor")
        assert anchored.status_code == 200, anchored.text
        assert anchored.json()["status"] == "confirmed" and anchored.json()["chain_id"] == 31337
        health = admin.get("/healthz").json()
        assert (
            health["tree_size"] == 13
            and health["anchor"]["anchored_size"] == 13
            and health["anchor"]["lag_entries"] == 0
        )

        pending = admin.post("/v1/entries", json=interaction(100, seed=41)).json()
        assert_problem(admin.get(f"/v1/evidence/{pending['leaf_hash']}"), 409)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, "".join(stderr)
