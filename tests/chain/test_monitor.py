"""`ledger monitor` as a watcher runs it: real processes, a real Anvil chain, a real log
anchored by `ledger anchor`. It follows the anchors, keeps its state, and names each
anomaly: a hidden anchor, a rewritten history, the wrong contract or key, a service that
shows a different tree than the chain (a split view, signed with the real log key), and
a retired log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from eth_account import Account

from ledger.chain.anvil import Anvil, free_port
from ledger.formats.eip712 import Domain
from ledger.service.signer import LogSigner
from ledger.workload import ndjson_lines
from tests.chain.conftest import LOG_KEY

ENV = {**os.environ, "LEDGER_LOG_KEY": LOG_KEY}


def ledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@dataclass
class Log:
    work: Path
    data: list[str]
    rpc: str
    identity: Path
    anchors: list[dict[str, Any]]

    def monitor(
        self, *extra: str, identity: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return ledger(
            "monitor",
            "--once",
            "--rpc-url",
            self.rpc,
            "--log",
            str(identity or self.identity),
            *extra,
        )

    def grow(self, count: int, start: int) -> dict[str, Any]:
        (self.work / "r.ndjson").write_text(
            "\n".join(ndjson_lines(count, seed=21, start=start)) + "\n"
        )
        ok(ledger("ingest", str(self.work / "r.ndjson"), *self.data))
        # no --rpc-url: a command on the data dir uses the chain recorded for it (deploy)
        anchored = json.loads(ok(ledger("anchor", *self.data)))
        self.anchors.append(anchored)
        return anchored


@pytest.fixture
def log(tmp_path: Path, anvil_binary: Path) -> Iterator[Log]:
    node = Anvil(
        free_port(), tmp_path / "anvil-state.json", tmp_path / "anvil.log", binary=anvil_binary
    ).start()
    try:
        data = ["--data-dir", str(tmp_path / "data")]
        ok(ledger("deploy", *data, "--rpc-url", node.url))
        recorded = tmp_path / "data" / "chain.json"
        assert json.loads(recorded.read_text()) == {"rpc_url": node.url}
        assert recorded.stat().st_mode & 0o777 == 0o600  # a URL may hold an API key
        identity = tmp_path / "log.json"
        ok(ledger("identity", *data, "--out", str(identity)))
        made = Log(tmp_path, data, node.url, identity, [])
        made.grow(10, 0)
        made.grow(7, 10)
        yield made
    finally:
        node.stop()


def test_follows_anchors_and_keeps_its_state(log: Log, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = log.monitor("--state", str(state))
    assert first.returncode == 0, first.stderr
    seen = lines(first)
    assert [(s["event"], s["tree_size"]) for s in seen] == [("anchored", 10), ("anchored", 17)]
    assert "proof from the anchor transaction" in seen[1]["detail"]
    assert json.loads(state.read_text())["tree_size"] == 17
    assert lines(log.monitor("--state", str(state))) == []  # nothing new
    log.grow(5, 17)
    again = log.monitor("--state", str(state))
    assert [(s["event"], s["tree_size"]) for s in lines(again)] == [("anchored", 22)]


def test_names_each_anomaly(log: Log, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    ok(log.monitor("--state", str(state)))
    saved = json.loads(state.read_text())

    # A rewritten history: the root verified at 17 is not what the chain holds.
    state.write_text(json.dumps(saved | {"root": "0x" + "11" * 32}))
    rewritten = log.monitor("--state", str(state))
    assert rewritten.returncode == 1 and "ALERT: history:" in rewritten.stderr

    # A node that hides the first anchor: the next one does not extend what was seen.
    first_block = log.anchors[0]["block_number"]
    state.write_text(
        json.dumps(
            saved
            | {"tree_size": 0, "root": "0x" + "00" * 32, "block_number": first_block}
            | {"log_index": 2**32}
        )
    )
    hidden = log.monitor("--state", str(state))
    assert hidden.returncode == 1 and "ALERT: continuity:" in hidden.stderr

    # The wrong key or the wrong contract in the pinned identity.
    pinned = json.loads(log.identity.read_text())
    wrong_key = tmp_path / "wrong-key.json"
    wrong_key.write_text(json.dumps(pinned | {"log_signer": "0x" + "22" * 20}))
    refused = log.monitor(identity=wrong_key)
    assert refused.returncode == 1 and "ALERT: log key:" in refused.stderr
    if pinned["licence_registry"]:
        other = tmp_path / "other-contract.json"
        other.write_text(json.dumps(pinned | {"log_anchor": pinned["licence_registry"]}))
        code = log.monitor(identity=other)
        assert code.returncode == 1 and "ALERT: contract code:" in code.stderr

    # A state file of another log is refused before anything is read.
    state.write_text(json.dumps(saved | {"log_id": "0x" + "33" * 32}))
    assert log.monitor("--state", str(state)).returncode == 2


class _Served(BaseHTTPRequestHandler):
    checkpoint: ClassVar[dict[str, Any]] = {}

    def do_GET(self) -> None:
        body = json.dumps(self.checkpoint if "checkpoints" in self.path else {"proof": []})
        self.send_response(200 if "checkpoints" in self.path else 404)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_args: Any) -> None:
        pass


def test_a_split_view_signed_with_the_real_log_key_is_caught(log: Log) -> None:
    """A malicious operator holds the log key and serves a checkpoint of the anchored size
    with another root: signed, so only the chain shows the lie."""
    pinned = json.loads(log.identity.read_text())
    domain = Domain(
        bytes.fromhex(pinned["log_id"][2:]),
        pinned["chain_id"],
        bytes.fromhex(pinned["log_anchor"][2:]),
    )
    signer = LogSigner(Account.from_key(LOG_KEY), domain)
    forged_root = b"\x42" * 32
    _Served.checkpoint = {
        "log_id": pinned["log_id"],
        "tree_size": 17,
        "root": "0x" + forged_root.hex(),
        "index_root": "0x" + "00" * 32,
        "signature": signer.sign_checkpoint(17, forged_root),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Served)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        split = log.monitor("--url", url)
        assert split.returncode == 1 and "ALERT: split view:" in split.stderr
        assert [s["event"] for s in lines(split)] == ["anchored", "anchored", "anomaly"]
        _Served.checkpoint = dict(
            _Served.checkpoint, tree_size=10, signature=signer.sign_checkpoint(10, forged_root)
        )
        behind = log.monitor("--url", url)
        assert behind.returncode == 1 and "a rollback" in behind.stderr
        _Served.checkpoint = dict(_Served.checkpoint, tree_size=16)  # signature of size 10
        unsigned = log.monitor("--url", url)
        assert unsigned.returncode == 1 and "not signed by the pinned log key" in unsigned.stderr
    finally:
        server.shutdown()


def _signer(log: Log) -> LogSigner:
    pinned = json.loads(log.identity.read_text())
    domain = Domain(
        bytes.fromhex(pinned["log_id"][2:]),
        pinned["chain_id"],
        bytes.fromhex(pinned["log_anchor"][2:]),
    )
    return LogSigner(Account.from_key(LOG_KEY), domain)


def test_equivocation_between_what_was_served_and_what_is_anchored(
    log: Log, tmp_path: Path
) -> None:
    """The service once showed a signed tree of size 22; the chain later anchors another
    tree of size 22 (the log key holder equivocates): both are kept, and the pair is
    reported; so is a service that later shows another root at a size it served."""
    state = tmp_path / "state.json"
    ok(log.monitor("--state", str(state)))
    signer = _signer(log)
    forged = b"\x37" * 32
    served = {"tree_size": 22, "root": "0x" + forged.hex()}
    served["signature"] = signer.sign_checkpoint(22, forged)
    state.write_text(json.dumps(json.loads(state.read_text()) | {"served": served}))
    log.grow(5, 17)
    caught = log.monitor("--state", str(state))
    assert caught.returncode == 1 and "ALERT: split view:" in caught.stderr
    assert "the log showed two histories" in caught.stderr and served["signature"] in caught.stderr

    saved = json.loads(state.read_text())  # still at 17: the anomaly did not advance it
    assert saved["tree_size"] == 17
    _Served.checkpoint = {
        "log_id": json.loads(log.identity.read_text())["log_id"],
        "tree_size": 22,
        "root": "0x" + (b"\x38" * 32).hex(),
        "index_root": "0x" + "00" * 32,
        "signature": signer.sign_checkpoint(22, b"\x38" * 32),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Served)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        state.write_text(
            json.dumps(
                saved | {"served": {"tree_size": 0, "root": "0x" + "00" * 32, "signature": "0x"}}
            )
        )
        # anchored 17 -> 22 is followed first; then the served 22 differs from the anchored 22
        split = log.monitor("--state", str(state), "--url", url)
        assert split.returncode == 1 and "ALERT: split view:" in split.stderr
    finally:
        server.shutdown()


class _Dripping(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        for _ in range(30):
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(0.5)

    def log_message(self, *_args: Any) -> None:
        pass


def test_a_dripping_service_is_cut_off(log: Log) -> None:
    """A service that sends its answer a byte at a time cannot hold the monitor: it is cut
    off at --service-timeout, after the chain's anchors were reported, and that is an
    anomaly."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Dripping)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        started = time.monotonic()
        slow = log.monitor("--url", url, "--service-timeout", "2")
        assert time.monotonic() - started < 40
        assert slow.returncode == 1 and "ALERT: service:" in slow.stderr
        assert [(s["event"], s["check"]) for s in lines(slow)] == [
            ("anchored", "anchor"),
            ("anchored", "anchor"),
            ("anomaly", "service"),
        ]
    finally:
        server.shutdown()


def test_a_retired_log_alerts(log: Log) -> None:
    ok(ledger("retire", "--trusted-size", "10", "--yes", *log.data, "--rpc-url", log.rpc))
    retired = log.monitor()
    assert retired.returncode == 1 and "ALERT: retired:" in retired.stderr
    assert "trusts its anchors up to tree size 10" in retired.stderr
