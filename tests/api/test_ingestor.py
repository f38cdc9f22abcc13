"""Group commit: concurrent requests share a transaction and a signature, each gets its
own valid receipts; a failed commit fails every request of its group and stores nothing."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from ledger.core.records import parse_object
from ledger.formats.eip712 import Domain
from ledger.formats.identity import LogIdentity
from ledger.service.ingestor import Ingestor
from ledger.service.metrics import Metrics
from ledger.service.signer import LogSigner
from ledger.store.repository import Store
from ledger.verify.receipt import verify_receipt
from ledger.workload import interaction
from tests.api.conftest import Server, pinned_log


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        yield opened
    finally:
        opened.close()


def test_concurrent_requests_each_get_their_receipts(store: Store) -> None:
    signer = LogSigner(Account.create(), Domain(b"\x05" * 32))
    identity = LogIdentity(
        "ingest", 31337, bytes(20), b"\x05" * 32, None, bytes.fromhex(signer.address[2:]), 0
    )
    ingestor = Ingestor(store, signer, Metrics())
    requests = [
        [parse_object(interaction(i * 10 + j, seed=61)) for j in range(1 + i % 3)]
        for i in range(30)
    ]

    async def run() -> list[list[tuple[int, str]]]:
        return await asyncio.gather(*(ingestor.submit(entries) for entries in requests))

    answers = asyncio.run(run())
    seqs = []
    for entries, answer in zip(requests, answers):
        assert len(answer) == len(entries)
        for entry, (seq, text) in zip(entries, answer):
            receipt = json.loads(text)
            assert receipt["leaf_hash"] == "0x" + entry.leaf_hash.hex() and receipt["seq"] == seq
            verify_receipt(receipt, identity)
            seqs.append(seq)
    assert sorted(seqs) == list(range(1, sum(map(len, requests)) + 1))


class FailingStore:
    """A store whose commit fails (the transaction rolls back: nothing is stored)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.fail = threading.Event()

    def add_group(self, batches: Any) -> int:
        if self.fail.is_set():
            raise RuntimeError("disk full")
        return self.store.add_group(batches)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_failed_commit_fails_the_group_and_stores_nothing(store: Store) -> None:
    failing = FailingStore(store)
    ingestor = Ingestor(failing, LogSigner(Account.create(), Domain(b"\x06" * 32)), Metrics())  # type: ignore[arg-type]
    failing.fail.set()

    async def run() -> list[Any]:
        return await asyncio.gather(
            *(ingestor.submit([parse_object(interaction(i, seed=62))]) for i in range(5)),
            return_exceptions=True,
        )

    results = asyncio.run(run())
    assert all(
        isinstance(result, RuntimeError) and "disk full" in str(result) for result in results
    )
    assert store.pending_count() == 0
    failing.fail.clear()  # the committer goes on after a failure
    ((seq, _receipt),) = asyncio.run(ingestor.submit([parse_object(interaction(9, seed=62))]))
    assert seq == 1


def test_parallel_http_singles_all_verify(server: Server, keys: dict[str, str]) -> None:
    answers: list[Any] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        with server.client(keys["ingest"]) as client:
            response = client.post("/v1/entries", json=interaction(i, seed=63))
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(response.status_code == 202 for response in answers)
    bodies = [response.json() for response in answers]
    assert len({body["seq"] for body in bodies}) == 24
    pinned = pinned_log(server)
    for body in bodies:
        verify_receipt(body["receipt"], pinned)
