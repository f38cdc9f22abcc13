"""`ledger deploy`, `ledger anchor`, `ledger anchors` and `ledger up` as a user runs them:
real processes, a real Anvil, JSON out, errors on stderr."""

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

from eth_account import Account
from eth_utils.address import to_checksum_address

from ledger.chain.anvil import free_port
from ledger.chain.client import ChainClient
from ledger.chain.keys import DEV_ANCHOR_KEY
from ledger.chain.log_anchor import LogAnchor
from tests.chain.conftest import OTHER_KEY
from tests.factories import ndjson_lines


def ledger(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> list[Any]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def refused(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("error: ") and text in result.stderr, result.stderr


def records(path: Path, count: int, start: int = 0) -> Path:
    path.write_text("\n".join(ndjson_lines(count, start=start)) + "\n")
    return path


def test_deploy_anchor_and_list(tmp_path: Path, chain: ChainClient) -> None:
    where = ["--data-dir", str(tmp_path / "data"), "--rpc-url", chain.rpc_url]
    refused(ledger("anchor", *where), "records no LogAnchor deployment: run `ledger deploy")

    keystore = tmp_path / "anchor-key.json"
    keystore.write_text(json.dumps(Account.encrypt(bytes.fromhex(DEV_ANCHOR_KEY[2:]), "s3cret-pass", kdf="pbkdf2", iterations=2)))
    deployed = ledger("deploy", *where, "--keystore", str(keystore), env={"LEDGER_KEYSTORE_PASSWORD": "s3cret-pass"})
    (out,) = ok(deployed)
    assert set(out) == {"contract", "log_id", "chain_id", "block_number", "registry"} and out["chain_id"] == 31337
    assert DEV_ANCHOR_KEY[2:] not in deployed.stdout + deployed.stderr
    assert "s3cret" not in deployed.stdout + deployed.stderr
    refused(ledger("deploy", *where), "already anchors log 'model-ledger' to contract " + out["contract"])

    ok(ledger("ingest", str(records(tmp_path / "r.ndjson", 20)), "--data-dir", str(tmp_path / "data")))
    started = time.monotonic()
    (anchored,) = ok(ledger("anchor", *where))  # seals the pending records first
    elapsed = time.monotonic() - started
    contract = LogAnchor(chain, out["contract"])
    log_id = bytes.fromhex(out["log_id"][2:])
    latest = contract.latest(log_id)
    assert {k: anchored[k] for k in ("log_id", "tree_size", "root", "contract")} == {
        "log_id": out["log_id"],
        "tree_size": 20,
        "root": "0x" + latest.root.hex(),
        "contract": out["contract"],
    }
    event = contract.anchored_at(log_id, 20)
    assert event is not None and anchored["block_number"] == event.block_number and anchored["gas_used"] > 0
    assert "0x" + event.tx_hash.hex() == anchored["tx_hash"]
    receipt = chain.receipt(bytes.fromhex(anchored["tx_hash"][2:]))
    assert receipt is not None and receipt.status == 1
    assert elapsed < 30

    (listed,) = ok(ledger("anchors", *where))  # --rpc-url: follows open anchors first
    assert (listed["tree_size"], listed["status"], listed["tx_hash"], listed["attempts"]) == (
        20,
        "confirmed",
        anchored["tx_hash"],
        1,
    )

    # The anchor key only pays for gas: another account relays what the log key signs ...
    ok(ledger("ingest", str(records(tmp_path / "more.ndjson", 3, start=20)), "--data-dir", str(tmp_path / "data")))
    (relayed,) = ok(ledger("anchor", *where, env={"LEDGER_ANCHOR_KEY": OTHER_KEY}))
    sent = chain.transaction(bytes.fromhex(relayed["tx_hash"][2:]))
    assert relayed["tree_size"] == 23 and sent is not None and sent["from"] == Account.from_key(OTHER_KEY).address
    assert contract.latest(log_id).size == 23
    # ... and a log key other than the log's is refused before anything is sent.
    wrong_key = "0x" + "77" * 32
    nonce = chain.nonce(Account.from_key(OTHER_KEY).address)
    wrong = ledger("anchor", *where, env={"LEDGER_ANCHOR_KEY": OTHER_KEY, "LEDGER_LOG_KEY": wrong_key})
    (identity,) = ok(ledger("identity", "--data-dir", str(tmp_path / "data")))
    log_key = to_checksum_address(identity["log_signer"])
    refused(wrong, f"is anchored with log key {log_key}, but this service's log key is {Account.from_key(wrong_key).address}")
    assert OTHER_KEY[2:] not in wrong.stderr and wrong_key[2:] not in wrong.stderr
    assert chain.nonce(Account.from_key(OTHER_KEY).address) == nonce
    closed = f"http://127.0.0.1:{free_port()}"
    refused(ledger("anchor", "--data-dir", str(tmp_path / "data"), "--rpc-url", closed), "is unreachable")


class Service:
    """`ledger up` in the background, its stdout lines and stderr read by threads."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger", "up", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[Any] = queue.Queue()
        self.stderr: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        threading.Thread(target=self._read, args=(self.process.stdout, self.lines.put), daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, self.stderr.append), daemon=True).start()

    @staticmethod
    def _read(stream: IO[str], sink: Any) -> None:
        for line in stream:
            sink(json.loads(line) if line.startswith("{") else line)

    def wait_for(self, kind: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if line["type"] == kind:
                return dict(line)

    def wait_ready(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            banner = [line for line in self.stderr if "sealing every" in line]
            if banner:
                return "".join(self.stderr)
            assert self.process.poll() is None, "".join(self.stderr)
            time.sleep(0.05)
        raise AssertionError("ledger up did not start: " + "".join(self.stderr))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def test_up_end_to_end_and_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    options = ["--data-dir", str(data), "--rpc-port", str(port), "--seal-interval", "0.2", "--anchor-interval", "0.5"]

    first = Service(*options)
    try:
        started = first.wait_ready()
        assert "deployed LogAnchor at 0x" in started
        contract_address = started.split("deployed LogAnchor at ")[1].split()[0]
        ok(ledger("ingest", str(records(tmp_path / "a.ndjson", 12)), "--data-dir", str(data)))
        checkpoint = first.wait_for("checkpoint")
        anchored = first.wait_for("anchor")
        assert checkpoint["tree_size"] == anchored["tree_size"] == 12
        assert anchored["root"] == checkpoint["root"] and anchored["contract"] == contract_address
    finally:
        assert first.stop() == 0
    assert (data / "anvil-state.json").exists()
    assert DEV_ANCHOR_KEY[2:] not in (data / "anvil.log").read_text() + "".join(first.stderr)

    second = Service(*options)
    try:
        started = second.wait_ready()
        assert "deployed" not in started and f"LogAnchor {contract_address}" in started
        chain = ChainClient(f"http://127.0.0.1:{port}")
        bound = LogAnchor(chain, contract_address)
        latest = bound.latest(bytes.fromhex(anchored["log_id"][2:]))
        event = bound.anchored_at(bytes.fromhex(anchored["log_id"][2:]), 12)
        assert (latest.size, "0x" + latest.root.hex()) == (12, anchored["root"])
        assert event is not None and event.block_number == anchored["block_number"]
        ok(ledger("ingest", str(records(tmp_path / "b.ndjson", 5, start=12)), "--data-dir", str(data)))
        assert second.wait_for("anchor")["tree_size"] == 17
    finally:
        assert second.stop() == 0

    # A chain that lost the contract is refused, not silently redeployed.
    (data / "anvil-state.json").unlink()
    lost = subprocess.run(
        [sys.executable, "-m", "ledger", "up", "--port", "0", *options], capture_output=True, text=True, timeout=60, check=False
    )
    assert lost.returncode != 0 and "error: no contract at " + contract_address in lost.stderr
