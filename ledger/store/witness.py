"""SQL of witnessing: the witness's own state (`WitnessState`, its own small database) and
the cosignatures the log collected from its witnesses (`CosignatureRepository`, the
log's database, table `witness_cosignatures`).

The witness keeps one row per log origin: the size and root of the latest checkpoint it
cosigned and that checkpoint's note (the log's verified signatures and its own). A row
moves only by compare-and-swap on (size, root), so two racing add-checkpoint requests
cannot roll it back (c2sp.org/tlog-witness: "checking the old size against the latest
checkpoint and persisting the new checkpoint must be performed atomically").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from ledger.core.merkle import EMPTY_ROOT
from ledger.core.records import now_ts
from ledger.formats.note import Signature
from ledger.formats.tlog_witness import WitnessRefusal
from ledger.store.db import create_db_engine
from ledger.store.repository import Store
from ledger.store.schema import witness_cosignatures

WITNESS_DB_FILE = "witness.db"
"""The witness's SQLite database in its data dir."""

witness_metadata = MetaData()

witness_logs = Table(
    "witness_logs",
    witness_metadata,
    Column("origin", String(1024), primary_key=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False, comment="the cosigned checkpoint note"),
    Column("updated_at", String(24), nullable=False),
    comment="one row per witnessed log: the latest checkpoint cosigned, moved by CAS",
)

T = TypeVar("T")


@dataclass(frozen=True)
class Latest:
    """The latest checkpoint a witness cosigned for one log."""

    origin: str
    tree_size: int
    root: bytes
    note: str


class WitnessState:
    """The witness's state, in its own database (a SQLite file in its data dir, or any
    URL the log's store accepts). The one table is created if missing."""

    def __init__(self, url: str) -> None:
        self.engine = create_db_engine(url)
        witness_metadata.create_all(self.engine)

    @classmethod
    def in_dir(cls, data_dir: Path) -> WitnessState:
        return cls(f"sqlite:///{(data_dir / WITNESS_DB_FILE).resolve()}")

    def close(self) -> None:
        self.engine.dispose()

    def latest(self, origin: str) -> Latest | None:
        """The latest cosigned checkpoint of `origin`, if any."""
        with self.engine.connect() as conn:
            return self._latest(conn, origin)

    @staticmethod
    def _latest(conn: Connection, origin: str) -> Latest | None:
        row = conn.execute(select(witness_logs).where(witness_logs.c.origin == origin)).first()
        if row is None:
            return None
        return Latest(row.origin, row.tree_size, row.root, row.note)

    def advance(
        self,
        origin: str,
        check: Callable[[int, bytes], T],
        new_size: int,
        new_root: bytes,
        note: Callable[[T], str],
    ) -> T:
        """Read the latest (size, root) of `origin` (0 and the empty root if none), run
        `check` on it (it raises WitnessRefusal to refuse), then move the row from exactly
        that (size, root) to the new one and store `note(result)`. If another request moved
        the row in between, nothing is written and WitnessRefusal(409) gives its size."""
        with self.engine.connect() as conn:
            seen = self._latest(conn, origin)
        size, root = (seen.tree_size, seen.root) if seen else (0, EMPTY_ROOT)
        result = check(size, root)
        text = note(result)
        values = {"tree_size": new_size, "root": new_root, "note": text, "updated_at": now_ts()}
        with self.engine.begin() as conn:
            if seen is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(witness_logs).values(origin=origin, **values))
                    return result
                except IntegrityError:
                    pass  # another request created the row first
            else:
                moved = conn.execute(
                    update(witness_logs)
                    .where(
                        and_(
                            witness_logs.c.origin == origin,
                            witness_logs.c.tree_size == size,
                            witness_logs.c.root == root,
                        )
                    )
                    .values(**values)
                ).rowcount
                if moved == 1:
                    return result
            now = self._latest(conn, origin)
        current = now.tree_size if now else 0
        raise WitnessRefusal(
            409, f"another request moved the witness to size {current} meanwhile", current
        )


@dataclass(frozen=True)
class StoredCosignature:
    """A cosignature the log keeps for its checkpoint of `tree_size`."""

    tree_size: int
    root: bytes
    witness: str
    key_id: int
    timestamp: int
    line: str


class CosignatureRepository:
    """The cosignatures the log's witnesses returned (table `witness_cosignatures`)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, tree_size: int, root: bytes, signature: Signature, timestamp: int) -> bool:
        """Keep one cosignature; False if that witness's key already cosigned this size."""
        try:
            with self.store.transaction() as conn:
                conn.execute(
                    insert(witness_cosignatures).values(
                        tree_size=tree_size,
                        root=root,
                        witness=signature.name,
                        key_id=signature.key_id,
                        timestamp=timestamp,
                        line=signature.line().rstrip("\n"),
                        created_at=now_ts(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def for_size(self, tree_size: int) -> list[StoredCosignature]:
        """The cosignatures kept for the checkpoint of `tree_size`, oldest first."""
        table = witness_cosignatures
        with self.store.read() as conn:
            rows = conn.execute(
                select(table).where(table.c.tree_size == tree_size).order_by(table.c.id)
            ).all()
        return [
            StoredCosignature(r.tree_size, r.root, r.witness, r.key_id, r.timestamp, r.line)
            for r in rows
        ]

    def witness_size(self, witness: str, key_id: int) -> int:
        """The largest size this witness's key cosigned (0 if none): where its next
        add-checkpoint starts from."""
        table = witness_cosignatures
        with self.store.read() as conn:
            size = conn.execute(
                select(func.max(table.c.tree_size)).where(
                    and_(table.c.witness == witness, table.c.key_id == key_id)
                )
            ).scalar()
        return int(size or 0)

    def published_size(self, witnesses: Sequence[tuple[str, int]], quorum: int) -> int:
        """The largest tree size that at least `quorum` of `witnesses` ((name, key ID)
        pairs) cosigned: the latest checkpoint that counts as published (0: none)."""
        if not witnesses or quorum < 1:
            return 0
        table = witness_cosignatures
        trusted = or_(*(and_(table.c.witness == n, table.c.key_id == k) for n, k in witnesses))
        sizes = (
            select(table.c.tree_size)
            .where(trusted)
            .group_by(table.c.tree_size)
            .having(func.count() >= quorum)
            .subquery()
        )
        with self.store.read() as conn:
            size = conn.execute(select(func.max(sizes.c.tree_size))).scalar()
        return int(size or 0)

    def most_cosigned_size(self, min_size: int) -> int | None:
        """Of the tree sizes of at least `min_size` that witnesses cosigned, the one with
        the most cosignatures, the largest of those (None: none cosigned)."""
        table = witness_cosignatures
        count = func.count().label("cosignatures")
        query = (
            select(table.c.tree_size, count)
            .where(table.c.tree_size >= min_size)
            .group_by(table.c.tree_size)
            .order_by(count.desc(), table.c.tree_size.desc())
            .limit(1)
        )
        with self.store.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else int(row[0])
