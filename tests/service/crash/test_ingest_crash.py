"""SIGKILL `ledger up` while gateways send batches: at each ingest fault point, then at
random times. After every restart nothing acknowledged is lost, nothing is stored twice,
each batch is stored whole or not at all, and the log checks out against the chain."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from ledger.chain.anvil import free_port
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture: fails clearly without Anvil
from tests.service.crash.support import (
    Gateway,
    Retrier,
    check_anchor_rows,
    check_batches,
    full_check,
    rows,
    up,
    wait_anchored,
)

BATCH = 40


def stored_seqs(data: Path, leaves: list[str]) -> dict[str, int]:
    """Seq of each of `leaves` that is stored."""
    wanted = ", ".join(f"X'{leaf[2:]}'" for leaf in leaves)
    return {
        "0x" + bytes(leaf).hex(): int(seq)
        for leaf, seq in rows(
            data, f"SELECT leaf_hash, seq FROM entries WHERE leaf_hash IN ({wanted})"
        )
    }


def test_ingest_crashes_lose_no_acknowledged_entry(tmp_path: Path, anvil_binary: Path) -> None:  # noqa: F811
    data, port, rpc_port = tmp_path / "data", free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    gateway = Gateway(seed=71)

    # ingest.before_commit: the third batch is inserted, then the process dies before
    # its commit. Two batches were acknowledged; the third got no answer.
    service = up(data, port, rpc_port, "ingest.before_commit:3").wait_ready()
    assert gateway.send(url, BATCH) and gateway.send(url, BATCH)
    assert not gateway.send(url, BATCH)
    service.expect_fault()
    uncommitted = gateway.failed[-1]
    assert stored_seqs(data, uncommitted) == {}  # failed and not persisted: rolled back
    assert len(stored_seqs(data, gateway.acked_leaves)) == 2 * BATCH

    # ingest.after_commit: the second batch of this run commits, then the process dies
    # before answering. The gateway uses ledger.client, which retries on the connection
    # error until the restarted service answers.
    service = up(data, port, rpc_port, "ingest.after_commit:2").wait_ready()
    assert gateway.send(url, BATCH)
    retrier = Retrier(url, gateway.records(BATCH))
    service.expect_fault()
    landed = retrier.leaves
    seqs = stored_seqs(data, landed)
    assert len(seqs) == BATCH  # failed but persisted: the write landed, the call reported an error

    service = up(data, port, rpc_port).wait_ready()  # the client's retry gets through now
    assert retrier.receipts() == [(leaf, seqs[leaf]) for leaf in landed]
    assert stored_seqs(data, landed) == seqs  # stored once: the retry added nothing
    gateway.acked.append(landed)

    # Random times: two gateways send concurrently while the service is SIGKILLed.
    chance = random.Random(7)
    gateways = [gateway, Gateway(seed=72), Gateway(seed=73)]
    for _ in range(2):
        stop = threading.Event()
        senders = [threading.Thread(target=g.run, args=(url, BATCH, stop)) for g in gateways[1:]]
        for thread in senders:
            thread.start()
        time.sleep(chance.uniform(0.3, 1.2))
        service.kill()
        stop.set()
        for thread in senders:
            thread.join(30)
        service = up(data, port, rpc_port).wait_ready()

    try:
        ((total,),) = rows(data, "SELECT count(*) FROM entries")
        wait_anchored(url, total)
        check = full_check(data, f"http://127.0.0.1:{rpc_port}", tmp_path)
    finally:
        service.kill()
    landed_batches, lost_batches = check_batches(check.leaves, gateways)
    assert lost_batches >= 1  # the uncommitted batch, at least
    print(f"failed batches: {landed_batches} stored whole, {lost_batches} not stored")
    assert sum(len(g.acked_leaves) for g in gateways) > 6 * BATCH
    check_anchor_rows(data, check)
