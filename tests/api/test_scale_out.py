"""Scale-out: API worker processes sharing a port, and sequencer failover on PostgreSQL.

Real `ledger serve` processes; the failover test SIGKILLs the leading one while clients
ingest through both, and checks that the standby takes over with every acknowledged
entry in the log exactly once, at contiguous indices.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from ledger.chain.anvil import free_port
from ledger.store.repository import Store
from ledger.workload import interaction
from tests.api.conftest import ADMIN_KEY, ledger


class Serve:
    """`ledger serve` with its stderr in a file, so a test can read it while it runs."""

    def __init__(self, tmp: Path, name: str, *extra: str) -> None:
        self.log = tmp / f"{name}.stderr"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with self.log.open("w") as stderr:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ledger",
                    "serve",
                    "--port",
                    str(self.port),
                    "--seal-interval",
                    "0.2",
                    *extra,
                ],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={**os.environ, "LEDGER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY},
                start_new_session=True,  # its own process group: SIGKILL takes its workers too
            )
        wait_for(lambda: self.healthy(), f"{name} to serve", self)

    def healthy(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stderr(self) -> str:
        return self.log.read_text()

    def children(self) -> list[int]:
        """Pids of the processes this one forked."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def wait_for(condition, what: str, server: Serve | None = None, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if server is not None and server.process.poll() is not None:
            raise AssertionError(
                f"ledger serve exited ({server.process.returncode}): {server.stderr()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting for {what}" + (f": {server.stderr()}" if server else "")
            )
        time.sleep(0.05)


def send_batches(url: str, key: str, seed: int, batches: int, size: int) -> list[str]:
    """POST `batches` batches; the leaf hashes of every acknowledged (202) entry."""
    acknowledged: list[str] = []
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as client:
        for number in range(batches):
            entries = [interaction(number * size + i, seed=seed) for i in range(size)]
            try:
                response = client.post("/v1/entries/batch", json={"entries": entries})
            except httpx.TransportError:
                continue  # the server died under us: these were not acknowledged
            if response.status_code == 202:
                acknowledged += [receipt["leaf_hash"] for receipt in response.json()["receipts"]]
    return acknowledged


def tree_size(url: str) -> int:
    return int(httpx.get(url + "/healthz", timeout=10).json()["tree_size"])


def test_api_workers_share_one_port(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = Serve(tmp_path, "workers", "--data-dir", str(data), "--workers", "2")
    try:
        assert "in 2 processes" in server.stderr()
        assert len(server.children()) == 2
        key = str(
            ledger("keys", "create", "--role", "ingest", "--data-dir", str(data))
            .stdout.split('"key":"')[1]
            .split('"')[0]
        )
        with ThreadPoolExecutor(4) as pool:
            results = list(
                pool.map(lambda seed: send_batches(server.url, key, seed, 5, 200), range(4))
            )
        acknowledged = [leaf for result in results for leaf in result]
        assert len(acknowledged) == len(set(acknowledged)) == 4000
        wait_for(lambda: tree_size(server.url) == 4000, "the workers' entries to be sealed", server)
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        ) as admin:
            found = admin.get(f"/v1/entries/{acknowledged[-1]}").json()
        assert found["leaf_index"] is not None
        children = server.children()
    finally:
        assert server.stop() == 0
    for pid in children:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )


@pytest.mark.postgres
def test_sequencer_failover_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    where = ["--database-url", url]
    first = Serve(tmp_path, "first", "--data-dir", str(tmp_path / "a"), *where)
    wait_for(lambda: "leading as sequencer" in first.stderr(), "the first server to lead", first)
    second = Serve(tmp_path, "second", "--data-dir", str(tmp_path / "b"), *where, "--workers", "2")
    try:
        assert "leading as sequencer" not in second.stderr()  # a standby while the first lives
        key = str(
            ledger("keys", "create", "--role", "ingest", *where)
            .stdout.split('"key":"')[1]
            .split('"')[0]
        )
        with ThreadPoolExecutor(2) as pool:
            # Both servers take batches while the leader is killed in the middle.
            to_first = pool.submit(send_batches, first.url, key, 1, 40, 100)
            to_second = pool.submit(send_batches, second.url, key, 2, 40, 100)
            wait_for(lambda: tree_size(second.url) >= 500, "some sealed entries", second)
            first.kill()
            acknowledged = to_first.result() + to_second.result()
        acknowledged += send_batches(second.url, key, 3, 5, 100)
        wait_for(
            lambda: "leading as sequencer" in second.stderr(),
            "the standby to take over",
            second,
            timeout=30,
        )
        assert len(acknowledged) == len(set(acknowledged)) >= 4500

        def settled() -> bool:
            health = httpx.get(second.url + "/healthz", timeout=10).json()
            return bool(health["pending"] == 0 and health["tree_size"] >= len(acknowledged))

        wait_for(settled, "every entry sealed", second)
        # A batch whose commit landed as the first server died is in the log without a
        # 202: stored once like the rest, so the log may hold more than was acknowledged.
        store = Store.open(postgres_url)
        try:
            with store.read() as conn:
                stored = [row[0] for row in conn.execute(text("SELECT leaf_hash FROM entries"))]
                entries = [store.find_entry(conn, leaf) for leaf in stored]
            size = store.state().tree_size
        finally:
            store.close()
        assert size == len(stored) == len(set(stored))
        assert {"0x" + leaf.hex() for leaf in stored} >= set(acknowledged)
        assert sorted(entry.leaf_index for entry in entries if entry is not None) == list(
            range(size)
        )
    finally:
        assert second.stop() == 0
        if first.process.poll() is None:
            first.kill()
