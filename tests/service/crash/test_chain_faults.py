"""Chain faults against the real service: the RPC down for a while, a dropped
transaction, a reorganisation, a chain that lost anchors the database holds as
confirmed, a mis-configured chain, and `ledger up` SIGKILLed together with its Anvil."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.chain.anvil import Anvil, free_port
from ledger.chain.client import ChainClient
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture: fails clearly without Anvil
from tests.service.crash.support import (
    Gateway,
    anchors,
    check_anchor_rows,
    check_batches,
    cli,
    full_check,
    serve,
    up,
    wait_anchored,
    wait_health,
)


@pytest.fixture
def node(anvil_binary: Path, tmp_path: Path) -> Iterator[Anvil]:  # noqa: F811
    """An Anvil of the test's own, state kept in tmp_path/chain."""
    running = Anvil(
        0,
        tmp_path / "chain" / "anvil-state.json",
        tmp_path / "chain" / "anvil.log",
        binary=anvil_binary,
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()


def deployed(data: Path, rpc_url: str) -> dict[str, Any]:
    """`ledger deploy` for the data dir; its JSON."""
    document: dict[str, Any] = json.loads(
        cli("deploy", "--data-dir", str(data), "--rpc-url", rpc_url)
    )
    return document


def until(test: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_rpc_down_ingest_goes_on_lag_shows_then_anchors_catch_up(
    tmp_path: Path, node: Anvil
) -> None:
    data, port = tmp_path / "data", free_port()
    deployed(data, node.url)
    gateway = Gateway(seed=91)
    service = serve(data, port, node.url).wait_ready()
    try:
        assert gateway.send(service.url, 30)
        wait_anchored(service.url, 30)

        node.stop()  # the RPC goes away (its state is kept)
        assert gateway.send(service.url, 30)  # ingest goes on...
        health = wait_health(  # ... and sealing; the lag shows, with the reason
            service.url,
            lambda h: h["tree_size"] == 60 and "unreachable" in (h["anchor"]["last_error"] or ""),
        )
        assert (
            health["pending"],
            health["anchor"]["anchored_size"],
            health["anchor"]["lag_entries"],
        ) == (0, 30, 30)
        metrics = httpx.get(service.url + "/metrics").text.splitlines()
        assert (
            "# TYPE ledger_anchor_lag_entries gauge" in metrics
            and "ledger_anchor_lag_entries 30" in metrics
        )
        time.sleep(1.0)  # down a while
        assert gateway.send(service.url, 30)

        node.start()  # back, same port, same chain
        health = wait_anchored(service.url, 90)
        assert health["anchor"]["last_error"] is None
        metrics = httpx.get(service.url + "/metrics").text.splitlines()
        assert (
            "ledger_anchor_lag_entries 0" in metrics and "ledger_anchored_tree_size 90" in metrics
        )
        gas = [line for line in metrics if line.startswith("ledger_anchor_gas_used ")]
        assert len(gas) == 1 and 50_000 < int(gas[0].split()[1]) < 150_000
        assert "anchoring: " in service.errors and "retrying in" in service.errors
        check = full_check(data, node.url, tmp_path)
    finally:
        service.kill()
    check_batches(check.leaves, [gateway])
    check_anchor_rows(data, check)


def test_a_dropped_transaction_and_a_reorganisation(tmp_path: Path, node: Anvil) -> None:
    data, port = tmp_path / "data", free_port()
    deployed(data, node.url)
    chain = ChainClient(node.url)
    gateway = Gateway(seed=92)
    service = serve(data, port, node.url).wait_ready()
    try:
        assert gateway.send(service.url, 20)
        wait_anchored(service.url, 20)
        snapshot = chain.request("evm_snapshot")

        # Dropped: the anchor of 40 waits in the pool; the node drops it; it is resent.
        chain.request("evm_setAutomine", [False])
        assert gateway.send(service.url, 20)
        until(
            lambda: (
                anchors(data)[-1]["status"] == "submitted" and anchors(data)[-1]["tree_size"] == 40
            ),
            "anchor 40 sent",
        )
        sent = anchors(data)[-1]
        tx_hash = "0x" + bytes(sent["tx_hash"]).hex()
        # `submitted` is recorded before the transaction is sent (crash order): drop it
        # only once the node has it, or the drop misses and the send lands after it.
        until(
            lambda: chain.request("eth_getTransactionByHash", [tx_hash]) is not None,
            "anchor 40 in the node's pool",
        )
        chain.request("anvil_dropTransaction", [tx_hash])
        until(
            lambda: (
                anchors(data)[-1]["attempts"] == 2 and anchors(data)[-1]["status"] == "submitted"
            ),
            "anchor 40 resent",
        )
        assert anchors(data)[-1]["nonce"] == sent["nonce"]
        chain.request("evm_setAutomine", [True])
        chain.request("evm_mine")
        wait_anchored(service.url, 40)
        first = anchors(data)[-1]
        assert (first["status"], first["attempts"]) == ("confirmed", 2)

        # Reorganised: the block holding the anchor of 40 leaves the chain; it is anchored again.
        chain.request("evm_revert", [snapshot])
        chain.request("evm_mine")
        chain.request("evm_mine")
        until(
            lambda: anchors(data)[-1]["attempts"] == 3,
            "anchor 40 re-anchored after the reorganisation",
        )
        wait_anchored(service.url, 40)
        assert anchors(data)[-1]["status"] == "confirmed"
        check = full_check(data, node.url, tmp_path)
    finally:
        service.kill()
    check_batches(check.leaves, [gateway])
    assert [(r["tree_size"], r["prev_size"]) for r in check_anchor_rows(data, check)] == [
        (20, 0),
        (40, 20),
    ]


def test_anchors_the_chain_lost_are_sent_again_from_its_latest(tmp_path: Path, node: Anvil) -> None:
    """A dev chain killed before it saved its state: restarted from an older state file,
    it lacks anchors the database holds as confirmed, beyond any reorganisation window."""
    data, port = tmp_path / "data", free_port()
    deployed(data, node.url)
    gateway = Gateway(seed=93)
    service = serve(data, port, node.url).wait_ready()
    assert node.state_file is not None
    try:
        assert gateway.send(service.url, 25)
        wait_anchored(service.url, 25)
        node.save_state()
        older = shutil.copy(node.state_file, tmp_path / "older-state.json")
        for size in (50, 75):
            assert gateway.send(service.url, 25)
            wait_anchored(service.url, size)
    finally:
        service.kill()
    before = {row["tree_size"]: row for row in anchors(data)}
    assert [row["status"] for row in before.values()] == ["confirmed"] * 3

    node.kill()
    shutil.copy(older, node.state_file)
    node.start()
    chain = ChainClient(node.url)
    chain.request("anvil_mine", [hex(100)])  # beyond the 64 blocks re-checked for reorganisations

    service = serve(data, port, node.url).wait_ready()
    try:
        # /healthz reads the database, which holds 75 as confirmed from the start: wait
        # for the anchorer to find the loss and send 50 and 75 again.
        until(
            lambda: (
                [(r["attempts"], r["status"]) for r in anchors(data)][1:] == [(2, "confirmed")] * 2
            ),
            "anchors 50 and 75 sent again and confirmed",
            timeout=60.0,
        )
        wait_anchored(service.url, 75)
        check = full_check(data, node.url, tmp_path)
    finally:
        service.kill()
    after = {row["tree_size"]: row for row in check_anchor_rows(data, check)}
    assert [(size, row["prev_size"], row["attempts"]) for size, row in after.items()] == [
        (25, 0, 1),
        (50, 25, 2),
        (75, 50, 2),
    ]
    assert after[25]["block_hash"] == before[25]["block_hash"]  # kept by the chain: untouched
    assert all(after[size]["block_number"] > before[75]["block_number"] for size in (50, 75))
    assert [a["tree_size"] for a in check.audit["anchor_list"]] == [25, 50, 75]


def test_a_wrong_chain_or_contract_is_refused_at_start(
    tmp_path: Path,
    node: Anvil,
    anvil_binary: Path,  # noqa: F811 - the fixture
) -> None:
    data = tmp_path / "data"
    contract = deployed(data, node.url)["contract"]
    other = Anvil(
        0, None, tmp_path / "other.log", binary=anvil_binary, extra_args=("--chain-id", "1337")
    ).start()
    empty = Anvil(0, None, tmp_path / "empty.log", binary=anvil_binary).start()
    try:
        cases = {
            (command, chain.url): subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ledger",
                    command,
                    "--data-dir",
                    str(data),
                    "--rpc-url",
                    chain.url,
                    "--port",
                    str(free_port()),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for command in ("serve", "up")
            for chain in (other, empty)
        }
        for (command, url), process in cases.items():
            out, err = process.communicate(timeout=120)
            assert process.returncode != 0 and out == "", (command, url, err)
            if url == other.url:
                expected = (
                    f"error: the chain at {url} has chain id 1337, but this"
                    f" database anchors to contract {contract} on chain id 31337"
                )
            else:
                expected = (
                    f"error: no contract at {contract} on chain id 31337"
                    f" ({url}), where this database recorded its LogAnchor"
                )
            assert expected in err, (command, err)
    finally:
        other.stop()
        empty.stop()


def test_up_killed_with_its_anvil_comes_back_with_the_contract_and_every_anchor(
    tmp_path: Path,
    anvil_binary: Path,  # noqa: F811 - the fixture
) -> None:
    data, port, rpc_port = tmp_path / "data", free_port(), free_port()
    rpc_url = f"http://127.0.0.1:{rpc_port}"
    gateway = Gateway(seed=94)

    # Right after the first start deployed the contract: service and chain SIGKILLed.
    service = up(data, port, rpc_port).wait_ready()
    contract = service.wait_stderr("API at").split("deployed LogAnchor at ")[1].split()[0]
    service.kill_all()

    service = up(data, port, rpc_port).wait_ready()
    assert (
        f"LogAnchor {contract}" in service.wait_stderr("API at")
        and "deployed" not in service.errors
    )
    assert gateway.send(service.url, 30)
    wait_anchored(service.url, 30)
    assert gateway.send(service.url, 30)
    service.wait_event("anchor", lambda e: e["tree_size"] == 60)
    service.kill_all()  # right after an anchor: the chain may not have saved it yet

    service = up(data, port, rpc_port).wait_ready()
    try:
        assert (
            f"LogAnchor {contract}" in service.wait_stderr("API at")
            and "deployed" not in service.errors
        )
        wait_anchored(service.url, 60)
        assert gateway.send(service.url, 30)
        wait_anchored(service.url, 90)
        check = full_check(data, rpc_url, tmp_path)
    finally:
        service.kill()
    check_batches(check.leaves, [gateway])
    assert check.audit["contract"] == contract
    assert [row["tree_size"] for row in check_anchor_rows(data, check)] == [30, 60, 90]
