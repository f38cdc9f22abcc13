"""Store.read_tiles on real SQLite and PostgreSQL: any number of tiles in one call.

A completeness proof of a key whose entries lie in more than a thousand tiles asks for
all of them at once; SQLite refuses an expression more than 1,000 terms deep, so the
store must split the request (found by scripts/bench_completeness_10m.py)."""

from __future__ import annotations

from ledger.core.records import parse_object
from ledger.service.sequencer import seal
from ledger.store.repository import TILES_PER_QUERY, Store
from ledger.workload import interaction


def test_reads_more_tiles_than_one_query_may_name(store: Store) -> None:
    store.add_entries([[parse_object(interaction(i, seed=3)) for i in range(600)]])
    seal(store)
    present = [(0, 0), (0, 1)]  # two full tiles of 256 leaves at level 0
    absent = [(level, idx) for level in range(3) for idx in range(5, 1200)]
    wanted = present + absent
    assert len(wanted) > 2.5 * TILES_PER_QUERY and len(wanted) > 1000
    with store.read() as conn:
        found = store.read_tiles(conn, wanted)
        one_by_one = {key: store.read_tiles(conn, [key]) for key in present}
    assert sorted(found) == present
    assert all(found[key] == one_by_one[key][key] for key in present)
    assert all(len(found[key]) == 256 * 32 for key in present)
