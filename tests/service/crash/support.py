"""What the crash tests share: the real `ledger up` / `ledger serve` as a process that
can be SIGKILLed (alone, or with its Anvil), a gateway that remembers which batches were
acknowledged, and a full check of the log from its stored records and the chain."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from typer.testing import CliRunner

from ledger.cli.common import app
from ledger.client import LedgerClient
from ledger.core.merkle import hash_leaf, root_hash
from ledger.core.records import parse_object
from ledger.workload import interaction
from tests.api.conftest import ADMIN_KEY

START_TIMEOUT = 60.0
"""Seconds a service gets to answer /healthz (the machine is shared and busy)."""


STARTED: list[Ledger] = []
"""Every process started; tests/service/crash/conftest.py kills those still running after
each test."""


def _pump(stream: IO[str], sink: Callable[[str], None]) -> None:
    for line in stream:
        sink(line)


class Ledger:
    """`ledger <command> ...` in its own process group, stdout and stderr collected.

    `fault` sets LEDGER_FAULT (ledger/faults.py): the process SIGKILLs itself there.
    """

    def __init__(self, command: str, *args: str, url: str, fault: str | None = None) -> None:
        env = {**os.environ, "LEDGER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY}
        env.pop("LEDGER_FAULT", None)
        if fault is not None:
            env["LEDGER_FAULT"] = fault
        self.command = command
        self.url = url
        self.fault = fault
        self.events: list[dict[str, Any]] = []  # the JSON lines of `ledger up`
        self.stderr: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger", command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self.readers = [
            threading.Thread(target=_pump, args=(self.process.stdout, self._event), daemon=True),
            threading.Thread(
                target=_pump, args=(self.process.stderr, self.stderr.append), daemon=True
            ),
        ]
        for reader in self.readers:
            reader.start()
        STARTED.append(self)

    def _event(self, line: str) -> None:
        try:
            self.events.append(json.loads(line))
        except ValueError:
            pass

    @property
    def errors(self) -> str:
        return "".join(self.stderr)

    def http(self) -> httpx.Client:
        """An admin client of the API."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
        )

    def wait_ready(self) -> Ledger:
        """Return once the API answers; fail with stderr if the process ends first."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                self._drain()
                raise AssertionError(
                    f"ledger {self.command} exited with {self.process.returncode}: {self.errors}"
                )
            assert time.monotonic() < deadline, (
                f"ledger {self.command} did not start: {self.errors}"
            )
            time.sleep(0.05)

    def wait_stderr(self, text: str, timeout: float = 30.0) -> str:
        """All of stderr, once it holds `text`."""
        deadline = time.monotonic() + timeout
        while text not in self.errors:
            assert self.process.poll() is None and time.monotonic() < deadline, (
                f"no {text!r} in: {self.errors}"
            )
            time.sleep(0.05)
        return self.errors

    def wait_exit(self, timeout: float = 60.0) -> int:
        """The exit code (negative: the signal), once the process has ended."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"ledger {self.command} still runs (LEDGER_FAULT={self.fault}): {self.errors}"
            ) from None
        self._drain()
        return code

    def _drain(self) -> None:
        """Wait for the readers to reach the end of the dead process's output."""
        for reader in self.readers:
            reader.join(10)

    def expect_fault(self, timeout: float = 60.0) -> None:
        """The process killed itself at its fault point."""
        assert self.fault is not None
        assert self.wait_exit(timeout) == -signal.SIGKILL, self.errors
        assert f"fault injected at {self.fault.split(':')[0]}" in self.errors, self.errors

    def children(self) -> list[int]:
        """Pids of the process's children (its Anvil)."""
        found: list[int] = []
        try:
            for task in os.listdir(f"/proc/{self.process.pid}/task"):
                with open(f"/proc/{self.process.pid}/task/{task}/children") as handle:
                    found += [int(pid) for pid in handle.read().split()]
        except OSError:
            pass
        return found

    def kill(self) -> None:
        """SIGKILL the service's process group (its Anvil, in a session of its own, then
        gets SIGTERM from the kernel and saves its state on the way out)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def kill_all(self) -> None:
        """SIGKILL the service and its Anvil together: nothing gets to save anything."""
        anvils = self.children()
        for pid in anvils:
            os.kill(pid, signal.SIGKILL)
        self.kill()
        for pid in anvils:
            _wait_gone(pid)

    def wait_event(
        self,
        kind: str,
        test: Callable[[dict[str, Any]], bool] = lambda _e: True,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """The first JSON line of `ledger up` of this type passing `test`."""
        deadline = time.monotonic() + timeout
        while True:
            for event in list(self.events):
                if event.get("type") == kind and test(event):
                    return event
            assert self.process.poll() is None, self.errors
            assert time.monotonic() < deadline, f"no {kind} line came: {self.events} {self.errors}"
            time.sleep(0.05)


def _wait_gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().split(") ", 1)[1].startswith("Z"):
                    return  # a zombie: dead, waiting for its (dead) parent's reaper
        except (OSError, IndexError):
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} did not exit")


def up(data: Path, port: int, rpc_port: int, fault: str | None = None, *extra: str) -> Ledger:
    """`ledger up` on `data`: seal every 0.2 s, anchor every 0.3 s."""
    return Ledger(
        "up",
        "--data-dir",
        str(data),
        "--port",
        str(port),
        "--rpc-port",
        str(rpc_port),
        "--seal-interval",
        "0.2",
        "--anchor-interval",
        "0.3",
        *extra,
        url=f"http://127.0.0.1:{port}",
        fault=fault,
    )


def serve(data: Path, port: int, rpc_url: str | None, fault: str | None = None) -> Ledger:
    """`ledger serve --rpc-url` on `data`: seal every 0.2 s, anchor every 0.3 s (no
    `rpc_url`: no chain, sealing only)."""
    chain = () if rpc_url is None else ("--rpc-url", rpc_url)
    return Ledger(
        "serve",
        "--data-dir",
        str(data),
        "--port",
        str(port),
        *chain,
        "--seal-interval",
        "0.2",
        "--anchor-interval",
        "0.3",
        url=f"http://127.0.0.1:{port}",
        fault=fault,
    )


# -- the gateway ------------------------------------------------------------------------


def leaf_of(record: dict[str, Any]) -> str:
    """The leaf hash of a complete record, 0x hex."""
    return "0x" + parse_object(record).leaf_hash.hex()


@dataclass
class Gateway:
    """Sends batches of new records and remembers what the service acknowledged (202)
    and which batches failed (no answer: they may or may not be stored, all or nothing)."""

    seed: int
    sent: int = 0
    acked: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)

    def records(self, count: int) -> list[dict[str, Any]]:
        """`count` new complete records."""
        batch = [interaction(i, seed=self.seed) for i in range(self.sent, self.sent + count)]
        self.sent += count
        return batch

    def send(self, url: str, count: int) -> bool:
        """POST one batch; True if acknowledged, False if the service did not answer."""
        batch = self.records(count)
        leaves = [leaf_of(record) for record in batch]
        try:
            response = httpx.post(
                url + "/v1/entries/batch",
                json={"entries": batch},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                timeout=30,
            )
        except httpx.TransportError:
            self.failed.append(leaves)
            return False
        assert response.status_code == 202, response.text
        assert [r["leaf_hash"] for r in response.json()["receipts"]] == leaves
        self.acked.append(leaves)
        return True

    def run(self, url: str, count: int, stop: threading.Event) -> None:
        """Send batches until `stop` or until the service stops answering."""
        while not stop.is_set() and self.send(url, count):
            pass

    @property
    def acked_leaves(self) -> list[str]:
        return [leaf for batch in self.acked for leaf in batch]


class Retrier:
    """Appends `records` through ledger.client in a thread, retrying on connection errors
    until a (restarted) service answers: a client whose write may have landed before
    the process died."""

    def __init__(self, url: str, records: list[dict[str, Any]]) -> None:
        self.leaves = [leaf_of(record) for record in records]
        self._result: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._append, args=(url, records))
        self._thread.start()

    def _append(self, url: str, records: list[dict[str, Any]]) -> None:
        with LedgerClient(url, ADMIN_KEY, max_retries=200, backoff=0.05, max_backoff=0.3) as client:
            self._result["receipts"] = client.append_many(records)
            self._result["retries"] = client.stats.retries

    def receipts(self, timeout: float = 60.0) -> list[tuple[str, int]]:
        """(leaf hash, seq) of each record once the call returns; it must have retried."""
        self._thread.join(timeout)
        assert not self._thread.is_alive() and self._result["retries"] >= 1
        return [(r.leaf_hash, r.seq) for r in self._result["receipts"]]


def check_batches(log: Iterable[str], gateways: Iterable[Gateway]) -> tuple[int, int]:
    """Every acknowledged entry is in `log` exactly once, each failed batch is in it whole
    or not at all, and nothing else is; (failed batches stored, failed batches not stored)."""
    counts = Counter(log)
    assert all(n == 1 for n in counts.values()), [leaf for leaf, n in counts.items() if n > 1]
    expected: set[str] = set()
    landed = lost = 0
    for gateway in gateways:
        for batch in gateway.acked:
            missing = [leaf for leaf in batch if leaf not in counts]
            assert not missing, f"{len(missing)} acknowledged entries are not in the log"
            expected.update(batch)
        for batch in gateway.failed:
            stored = sum(leaf in counts for leaf in batch)
            assert stored in (0, len(batch)), (
                f"a failed batch is in the log in part: {stored} of {len(batch)}"
            )
            if stored:
                landed += 1
                expected.update(batch)
            else:
                lost += 1
    assert set(counts) == expected, "the log holds entries nobody sent"
    return landed, lost


# -- waiting and checking ----------------------------------------------------------------


def wait_health(
    url: str, test: Callable[[dict[str, Any]], bool], timeout: float = 60.0
) -> dict[str, Any]:
    """/healthz once `test` passes on it."""
    deadline = time.monotonic() + timeout
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            health = httpx.get(url + "/healthz", timeout=5).json()
            if test(health):
                return health
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"/healthz did not get there: {health}")


def wait_anchored(url: str, size: int, timeout: float = 60.0) -> dict[str, Any]:
    """/healthz once `size` entries are sealed and all of them anchored."""
    return wait_health(
        url,
        lambda h: (
            h["tree_size"] == size
            and h["pending"] == 0
            and h["anchor"] is not None
            and h["anchor"]["lag_entries"] == 0
        ),
        timeout,
    )


def rows(data: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the SQLite log in `data`."""
    # closing(): a sqlite3 connection's own `with` ends a transaction, not the connection
    with closing(sqlite3.connect(f"file:{data / 'ledger.db'}?mode=ro", uri=True)) as conn:
        return list(conn.execute(sql))


def anchors(data: Path) -> list[dict[str, Any]]:
    """The anchor rows, smallest tree size first."""
    names = [
        "tree_size",
        "root",
        "status",
        "prev_size",
        "tx_hash",
        "nonce",
        "block_number",
        "block_hash",
        "attempts",
        "last_error",
    ]
    found = rows(data, f"SELECT {', '.join(names)} FROM anchors ORDER BY tree_size")
    return [dict(zip(names, row, strict=True)) for row in found]


@dataclass
class LogCheck:
    """What `full_check` found."""

    leaves: list[str]
    root: str
    audit: dict[str, Any]


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, f"ledger {args[0]} failed ({result.exit_code}): {result.output}"
    return result.stdout


def full_check(data: Path, rpc_url: str, work: Path) -> LogCheck:
    """Export the log and check it from its stored records alone: leaf indices 0..n-1
    without gap or duplicate, every leaf hash recomputed from its record, the root from
    the leaves equal to the latest checkpoint's; then `ledger audit` against the chain
    (every anchored root re-derived, each anchor extending the one before) must pass,
    and the chain's latest anchor must be the latest checkpoint."""
    export = work / "export.ndjson"
    cli("export", "--out", str(export), "--data-dir", str(data))
    leaves: list[bytes] = []
    for expected, line in enumerate(export.read_bytes().splitlines()):
        document = json.loads(line)
        assert document["leaf_index"] == expected, (
            f"leaf index {document['leaf_index']} at line {expected}"
        )
        record = line[line.index(b',"record":') + len(b',"record":') : -1]
        leaves.append(hash_leaf(record))
        assert parse_object(document["record"]).leaf_hash == leaves[-1], (
            f"leaf {expected} is not its record's hash"
        )
    root = root_hash(leaves)
    ((size, stored_root),) = rows(data, "SELECT tree_size, root FROM log_state")
    assert (size, bytes(stored_root)) == (len(leaves), root), (
        "the latest checkpoint is not the root of the stored records"
    )

    identity = work / "log.json"  # the document the operator publishes and the auditor pins
    cli("identity", "--data-dir", str(data), "--out", str(identity))
    ((contract, log_id, block),) = rows(
        data, "SELECT contract, log_id, block_number FROM deployment"
    )
    pinned = json.loads(identity.read_text())
    assert (pinned["log_anchor"], pinned["log_id"], pinned["deployment_block"]) == (
        "0x" + bytes(contract).hex(),
        "0x" + bytes(log_id).hex(),
        block,
    )
    summary = json.loads(
        cli(
            "audit",
            str(export),
            "--rpc-url",
            rpc_url,
            "--log",
            str(identity),
            "--json",
            "--workers",
            "0",
        )
    )
    assert summary["passed"] and summary["entries"] == len(leaves), summary["failure"]
    assert (
        summary["last_anchor"]["tree_size"] == len(leaves)
        and summary["last_anchor"]["root"] == "0x" + root.hex()
    )
    return LogCheck(["0x" + leaf.hex() for leaf in leaves], "0x" + root.hex(), summary)


def check_anchor_rows(data: Path, check: LogCheck) -> list[dict[str, Any]]:
    """Every anchor row is confirmed and is on chain: the audit's anchors (read from the
    contract's events) hold each row's size, root and block."""
    found = anchors(data)
    on_chain = {a["tree_size"]: a for a in check.audit["anchor_list"]}
    for row in found:
        assert row["status"] == "confirmed", row
        chain = on_chain.get(row["tree_size"])
        assert chain is not None, (
            f"anchor {row['tree_size']} is confirmed in the database but not on chain"
        )
        assert (
            chain["root"] == "0x" + bytes(row["root"]).hex()
            and chain["block_number"] == row["block_number"]
        ), (row, chain)
        assert chain["prev_size"] == row["prev_size"], (row, chain)
    return found
