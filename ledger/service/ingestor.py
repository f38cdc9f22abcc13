"""Group commit: entries of concurrent requests share one transaction and one signature.

Requests hand their validated entries to `submit` and wait. One committer thread takes
everything queued (whole requests, up to `MAX_GROUP` entries), stores it with one
`Store.add_group` call (all or nothing, durable on return; on PostgreSQL one binary COPY
in a savepoint, and the row inserts that skip stored leaf hashes when the COPY meets
one), looks up the seqs, signs one receipt group, and answers each request with its own
receipts. So a busy server pays one fsync and one signature per group instead of per
request, and a lone request waits for nothing but its own commit.

If the commit fails, every request of that group gets the error and nothing of the
group is stored.

Crash order: a crash before the commit (fault point `ingest.before_commit`) stores
nothing and answers nothing; the client's retry stores the records. A crash after it
(`ingest.after_commit`) leaves the entries stored while the client sees a connection
error: a write that landed while the call failed. Its retry sends the identical
records (ledger.client fills salt and ts once), which are answered with the stored
entries' seqs and receipts and stored nothing new (entries are unique by leaf hash).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import Future

from ledger import faults
from ledger.core.records import Entry, now_ts
from ledger.service.metrics import Metrics
from ledger.service.signer import LogSigner
from ledger.store import queries
from ledger.store.repository import Store

MAX_GROUP = 20_000
"""Most entries one group commit takes (a single request may exceed it: it goes alone)."""


class Ingestor:
    """The committer thread and its queue."""

    def __init__(self, store: Store, signer: LogSigner, metrics: Metrics) -> None:
        self.store = store
        self.signer = signer
        self.metrics = metrics
        self._queue: list[tuple[Sequence[Entry], Future[list[tuple[int, str]]]]] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    async def submit(self, entries: Sequence[Entry]) -> list[tuple[int, str]]:
        """Store `entries` (after every request queued before them); (seq, receipt JSON) of each."""
        done: Future[list[tuple[int, str]]] = Future()
        with self._ready:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ingest-committer", daemon=True
                )
                self._thread.start()
            self._queue.append((entries, done))
            self._ready.notify()
        return await asyncio.wrap_future(done)

    def _take(self) -> list[tuple[Sequence[Entry], Future[list[tuple[int, str]]]]]:
        with self._ready:
            while not self._queue:
                self._ready.wait()
            group: list[tuple[Sequence[Entry], Future[list[tuple[int, str]]]]] = []
            size = 0
            while self._queue and (not group or size + len(self._queue[0][0]) <= MAX_GROUP):
                item = self._queue.pop(0)
                group.append(item)
                size += len(item[0])
            return group

    def _run(self) -> None:
        while True:
            group = self._take()
            try:
                receipts = self._commit([entries for entries, _ in group])
            except BaseException as error:  # noqa: BLE001 - handed to every waiting request
                for _, done in group:
                    done.set_exception(error)
                continue
            start = 0
            for entries, done in group:
                done.set_result(receipts[start : start + len(entries)])
                start += len(entries)

    def _commit(self, requests: list[Sequence[Entry]]) -> list[tuple[int, str]]:
        received_at = now_ts()
        self.store.add_group(requests)
        faults.point("ingest.after_commit")
        leaves = [entry.leaf_hash for entries in requests for entry in entries]
        seqs = queries.seqs_of(self.store, leaves)
        self.metrics.count_entries(len(leaves))
        numbered = [(leaf, seqs[leaf]) for leaf in leaves]
        return list(
            zip([seq for _, seq in numbered], self.signer.receipts_json(numbered, received_at))
        )
