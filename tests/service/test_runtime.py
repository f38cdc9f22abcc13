"""The one runtime of `ledger up` and `ledger serve` (ledger/service/runtime.py): leader
election under `up`, and `up` and `serve` side by side on one PostgreSQL log.

Real processes on a real Anvil and PostgreSQL: two services share the database; one
leads the sequencer and the anchorer, the other stands by and takes over when the
leader is killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ledger.chain.anvil import Anvil, free_port
from ledger.workload import interaction
from tests.chain.conftest import anvil, anvil_binary  # noqa: F401 - fixtures

LOG_KEY = "0x" + "5e" * 32
ADMIN_KEY = "runtime-admin-key-0123456789abcdef"


class Service:
    """`ledger up` or `ledger serve`, its stdout and stderr in files read while it runs."""

    def __init__(self, tmp: Path, name: str, command: str, *args: str) -> None:
        self.out, self.err = tmp / f"{name}.stdout", tmp / f"{name}.stderr"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with self.out.open("w") as stdout, self.err.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ledger", command, "--port", str(self.port), *args],
                stdout=stdout,
                stderr=stderr,
                env={
                    **os.environ,
                    "LEDGER_LOG_KEY": LOG_KEY,  # one log key for both: the same log
                    "LEDGER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
                    "LEDGER_SEAL_INTERVAL": "0.2",
                    "LEDGER_ANCHOR_INTERVAL": "0.3",
                },
            )
        wait_for(lambda: "sealing every" in self.stderr(), f"{name} to start", self)

    def stderr(self) -> str:
        return self.err.read_text()

    def events(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.read_text().splitlines() if line]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def wait_for(check: Callable[[], bool], what: str, service: Service, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if service.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"waiting for {what}: {service.stderr()}")
        time.sleep(0.05)


def send(url: str, start: int, count: int) -> None:
    records = [interaction(i, seed=77) for i in range(start, start + count)]
    sent = httpx.post(
        url + "/v1/entries/batch",
        json={"entries": records},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=60,
    )
    assert sent.status_code == 202, sent.text


def anchored(url: str) -> int:
    """How many entries are sealed and anchored (/healthz), 0 while any is not."""
    health = httpx.get(url + "/healthz", timeout=10).json()
    done = health["pending"] == 0 and health["anchor"] and health["anchor"]["lag_entries"] == 0
    return int(health["tree_size"]) if done else 0


@pytest.mark.postgres
def test_up_runs_leader_election_beside_serve_on_one_database(
    tmp_path: Path,
    postgres_url: str,
    anvil: Anvil,  # noqa: F811 - the fixture
) -> None:
    where = ["--database-url", postgres_url, "--rpc-url", anvil.url]
    first = Service(tmp_path, "up", "up", "--data-dir", str(tmp_path / "a"), *where)
    try:
        wait_for(lambda: "leading as sequencer" in first.stderr(), "up to lead", first)
        wait_for(lambda: "leading as anchorer" in first.stderr(), "up to anchor", first)
        second = Service(tmp_path, "up2", "up", "--data-dir", str(tmp_path / "b"), *where)
        third = Service(tmp_path, "serve", "serve", "--data-dir", str(tmp_path / "c"), *where)
    except BaseException:
        first.process.kill()
        raise
    try:
        send(second.url, 0, 20)  # any process takes entries; the leader seals them
        wait_for(lambda: anchored(third.url) == 20, "the leader to anchor 20", first)
        time.sleep(1)  # standbys stay standbys while the leader lives
        for standby in (second, third):
            assert "leading as" not in standby.stderr()
        assert not second.events()  # only the leader seals and anchors: only it prints them
        kinds = {event["type"] for event in first.events()}
        assert {"checkpoint", "anchor"} <= kinds

        first.process.kill()  # SIGKILL: its session ends, its advisory locks go with it
        first.process.wait(timeout=30)

        def took_over() -> bool:
            led = [s for s in (second, third) if "leading as sequencer" in s.stderr()]
            return len(led) == 1

        wait_for(took_over, "one standby to take over", second, timeout=30)
        leaders = [s for s in (second, third) if "leading as sequencer" in s.stderr()]
        assert len(leaders) == 1
        send(third.url, 20, 10)
        wait_for(lambda: anchored(second.url) == 30, "the new leader to anchor 30", second)
    finally:
        codes = [service.stop() for service in (second, third)]
        if first.process.poll() is None:
            first.process.kill()
    assert codes == [0, 0], (second.stderr(), third.stderr())
