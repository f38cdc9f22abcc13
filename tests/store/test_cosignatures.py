"""The log's kept cosignatures: which size counts as published (M of N), and which size a
tlog-proof uses, on SQLite and PostgreSQL."""

from __future__ import annotations

from ledger.formats.cosignature import Cosigner
from ledger.store.repository import Store
from ledger.store.witness import CosignatureRepository

WITNESSES = [Cosigner(f"w{i}.example/w", bytes([70 + i]) * 32) for i in range(3)]
KEYS = [(w.name, w.verifier().key_id) for w in WITNESSES]


def keep(repo: CosignatureRepository, size: int, *which: int) -> None:
    for i in which:
        signature = WITNESSES[i].cosign(f"log.example/l\n{size}\nroot\n", 1_700_000_000 + size)
        assert repo.add(size, bytes([size]) * 32, signature, 1_700_000_000 + size)


def test_published_size_and_the_most_cosigned_size(store: Store) -> None:
    repo = CosignatureRepository(store)
    assert repo.published_size(KEYS, 1) == 0 and repo.most_cosigned_size(1) is None
    keep(repo, 5, 0, 1, 2)
    keep(repo, 9, 0, 1)
    keep(repo, 12, 2)
    assert not repo.add(  # one row per size and witness key
        12, bytes(32), WITNESSES[2].cosign("x\n", 1), 1
    )
    assert repo.published_size(KEYS, 1) == 12
    assert repo.published_size(KEYS, 2) == 9
    assert repo.published_size(KEYS, 3) == 5
    # Only the trusted witnesses count: without w2, 12 has none and 5 has two.
    assert repo.published_size(KEYS[:2], 2) == 9 and repo.published_size(KEYS[2:], 1) == 12
    assert repo.published_size([], 1) == 0
    assert repo.most_cosigned_size(1) == 5  # three cosignatures
    assert repo.most_cosigned_size(6) == 9  # two, of the sizes holding leaf 5
    assert repo.most_cosigned_size(10) == 12
    assert repo.most_cosigned_size(13) is None
