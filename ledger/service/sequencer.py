"""The sequencer: pending entries -> leaf indices, tiles and a checkpoint.

One seal step is one database transaction, written here in crash order:

1. Barrier (its own short transaction): find the highest seq no ingest transaction is
   still writing below. A crash here changes nothing.
2. Read the log state and up to `max_batch` pending entries after its last seq, up to
   the barrier, oldest first.
3. Load the right-edge tiles of the current tree and append the new leaf hashes in
   memory, giving the changed tiles and the new root. Nothing is written yet.
4. Write the tiles, record the runs of seqs that received indices, replace the log
   state by compare-and-swap on its old tree size, keeping the checkpoint, then fold
   the entries into the verifiable index (ledger.service.index: map nodes at the new
   size, the touched keys' frontiers, R(S); entries sealed before the index existed are
   indexed first). All in the one transaction.
5. Commit. A crash before the commit rolls back steps 4's writes together: the next
   run starts again from the same state and assigns the same indices. After the
   commit, the entries are sequenced and the next step starts after them; the index's
   nodes and frontiers this seal read and wrote are kept in memory for the next seal
   (`SealedIndex.committed`: only after the commit, so a rolled-back seal keeps none).

Fault points (ledger/faults.py) for the crash tests: `seal.after_tiles` in step 4,
after the tiles and runs are written and before the compare-and-swap; and
`seal.after_commit`, after step 5.

So indices are contiguous and assigned once, whatever point a crash hits; a second
sequencer racing this one loses the compare-and-swap and changes nothing. Memory is
one batch plus one partial tile per tree level, whatever the size of the log.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger import faults
from ledger.core.merkle.tiles import TileEdge, edge_keys
from ledger.core.records import now_ts
from ledger.formats.note import Signer
from ledger.service.index import SealedIndex, seal_index
from ledger.service.signer import checkpoint_note
from ledger.store.index import IndexStore
from ledger.store.repository import LogState, Run, Store

MAX_BATCH = 1 << 18
"""Most entries sealed in one transaction."""


def _runs(seqs: list[int], first_index: int) -> list[Run]:
    """Split ascending seqs into gap-free runs, numbering leaves from first_index."""
    found: list[Run] = []
    start = 0
    for i in range(1, len(seqs) + 1):
        if i == len(seqs) or seqs[i] != seqs[i - 1] + 1:
            found.append(Run(seqs[start], seqs[i - 1], first_index + start))
            start = i
    return found


def seal_step(
    store: Store,
    barrier: int,
    *,
    max_batch: int = MAX_BATCH,
    clock: Callable[[], str] = now_ts,
    index: bool = True,
    note: Signer | None = None,
) -> tuple[LogState, int]:
    """Sequence one batch of pending entries up to seq `barrier` (and, unless `index`
    is False, which only benchmarks use, index them); with the note key `note`, the
    checkpoint is kept with its C2SP signed note too.

    Returns the new state and how many entries it sequenced (0: nothing pending).
    """
    sealed: SealedIndex | None = None
    with store.transaction() as conn:
        old = store.read_state(conn)
        if index:  # the pending entries with the columns their index keys come from
            keyed = IndexStore(store).entries_keyed(conn, old.last_seq, barrier, max_batch)
            pending = [(row[0], bytes(row[1])) for row in keyed]
        else:
            pending = store.read_pending(conn, old.last_seq, barrier, max_batch)
        if not pending:
            return old, 0
        edge = TileEdge.load(old.tree_size, store.read_tiles(conn, edge_keys(old.tree_size)))
        written = edge.append(leaf for _, leaf in pending)
        new = LogState(edge.size, edge.root(), pending[-1][0])
        store.write_tiles(conn, written)
        for run in _runs([seq for seq, _ in pending], old.tree_size):
            store.add_run(conn, run)
        faults.point("seal.after_tiles")
        store.replace_state(conn, old, new, clock(), checkpoint_note(note, new.tree_size, new.root))
        if index:  # after the compare-and-swap: a losing sequencer stops before it
            sealed = seal_index(store, conn, old, new, keyed)
    if sealed is not None:  # committed: the next seal may start from what this one read
        sealed.committed()
    faults.point("seal.after_commit")
    return new, len(pending)


def seal(
    store: Store,
    *,
    max_batch: int = MAX_BATCH,
    clock: Callable[[], str] = now_ts,
    progress: Callable[[int], None] | None = None,
    index: bool = True,
    note: Signer | None = None,
) -> LogState:
    """Sequence everything pending when called; return the latest checkpoint. With the
    note key `note`, each checkpoint is also kept as a C2SP signed note."""
    barrier = store.ingest_barrier()
    while True:
        state, count = seal_step(
            store, barrier, max_batch=max_batch, clock=clock, index=index, note=note
        )
        if progress is not None and count:
            progress(count)
        if count < max_batch:
            return state
