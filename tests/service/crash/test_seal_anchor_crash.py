"""SIGKILL `ledger up` at each fault point of sealing and anchoring, restarting it after
each: indices stay contiguous and assigned once, the anchor in flight is resolved (resent
when it never left, adopted from its receipt when it did, never sent twice over), and
the log and its anchors check out against the chain at the end."""

from __future__ import annotations

from pathlib import Path

from ledger.chain.anvil import free_port
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture: fails clearly without Anvil
from tests.service.crash.support import (
    Gateway,
    anchors,
    check_anchor_rows,
    check_batches,
    full_check,
    rows,
    up,
    wait_anchored,
)

BATCH = 40


def sealed_size(data: Path) -> int:
    ((size,),) = rows(data, "SELECT tree_size FROM log_state")
    return int(size)


def test_seal_and_anchor_crashes(tmp_path: Path, anvil_binary: Path) -> None:  # noqa: F811
    data, port, rpc_port = tmp_path / "data", free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    gateway = Gateway(seed=81)

    # seal.after_tiles: the second seal writes its tiles and runs, then dies before the
    # compare-and-swap of the log state: the whole seal rolls back.
    service = up(data, port, rpc_port, "seal.after_tiles:2").wait_ready()
    assert gateway.send(url, BATCH)
    service.wait_event("anchor", lambda e: e["tree_size"] == BATCH)
    gateway.send(url, BATCH)  # stored; its 202 may or may not beat the seal's SIGKILL
    service.expect_fault()
    assert rows(data, "SELECT count(*) FROM entries") == [(2 * BATCH,)]
    assert sealed_size(data) == BATCH
    assert rows(data, "SELECT max(first_index + last_seq - first_seq) FROM runs") == [(BATCH - 1,)]

    # seal.after_commit: the restart seals the same pending entries (the same indices)
    # and dies right after the commit: the seal stands.
    service = up(data, port, rpc_port, "seal.after_commit:1")
    service.expect_fault()
    assert sealed_size(data) == 2 * BATCH

    # anchor.after_record: the anchor of 80 is signed and recorded as submitted, then
    # the process dies before sending it.
    service = up(data, port, rpc_port, "anchor.after_record:1")
    service.expect_fault()
    recorded = anchors(data)[-1]
    assert (recorded["tree_size"], recorded["status"], recorded["attempts"]) == (
        2 * BATCH,
        "submitted",
        1,
    )

    # anchor.after_send: the restart finds that transaction unknown to the chain (it
    # never left), puts the anchor back to pending and sends it again (same nonce), then
    # dies before it learns the outcome.
    service = up(data, port, rpc_port, "anchor.after_send:1")
    service.expect_fault()
    resent = anchors(data)[-1]
    assert (resent["status"], resent["attempts"], resent["nonce"]) == (
        "submitted",
        2,
        recorded["nonce"],
    )

    # anchor.before_confirm: the restart finds the receipt (the chain kept the block),
    # and dies just before recording it confirmed.
    service = up(data, port, rpc_port, "anchor.before_confirm:1")
    service.expect_fault()
    assert anchors(data)[-1]["status"] == "submitted"

    # No fault: the anchor is confirmed from that same transaction; nothing was sent twice.
    service = up(data, port, rpc_port).wait_ready()
    try:
        wait_anchored(url, 2 * BATCH)
        done = anchors(data)[-1]
        assert (done["status"], done["attempts"], done["tx_hash"]) == (
            "confirmed",
            2,
            resent["tx_hash"],
        )
        assert gateway.send(url, BATCH)  # and the log goes on
        wait_anchored(url, 3 * BATCH)
        check = full_check(data, f"http://127.0.0.1:{rpc_port}", tmp_path)
    finally:
        service.kill()
    check_batches(check.leaves, [gateway])
    assert [(row["tree_size"], row["prev_size"]) for row in check_anchor_rows(data, check)] == [
        (BATCH, 0),
        (2 * BATCH, BATCH),
        (3 * BATCH, 2 * BATCH),
    ]
    assert [a["tree_size"] for a in check.audit["anchor_list"]] == [
        BATCH,
        2 * BATCH,
        3 * BATCH,
    ]  # one transaction each
