"""All SQL of model registrations: which model record names each (model id, version).

A `model` record may enter the log by several routes (POST /v1/models; an admin key on
POST /v1/entries; `mledger ingest` on the operator's machine), but only POST /v1/models
registers one: `register` stores the record and its row in `model_versions` together.
Lineage (`ledger.service.provenance`) reads registrations only, so a model record that entered
the log another way is in the log, and provable, but is nobody's registered version.

Guarantees callers rely on:

- `register` stores the record and its registration in one transaction, after a check
  that runs inside it on the registrations as they are: all or nothing, durable once it
  returns; a refused check stores nothing.
- A (model id, version) has one registration at most: the table's primary key, so two
  requests racing on one version, in any number of API workers, leave one.
- Registrations are never updated or deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import Column, LargeBinary, String, Table, insert, select, text, tuple_
from sqlalchemy.exc import IntegrityError

from ledger.core.records import Entry
from ledger.errors import LedgerError
from ledger.store.repository import INGEST_LOCK, Store
from ledger.store.schema import entries, metadata

ModelKey = tuple[str, str]
"""(model id, version)."""

model_versions = Table(
    "model_versions",
    metadata,
    Column("model_id", String(256), primary_key=True),
    Column("version", String(256), primary_key=True),
    Column(
        "leaf_hash",
        LargeBinary(32),
        nullable=False,
        comment="the model record that registered the version",
    ),
    comment="registered model versions: written by POST /v1/models only, with the record",
)


@dataclass(frozen=True)
class ModelRegistration:
    """A registered model record: where it is in the log and its canonical bytes."""

    seq: int
    leaf_hash: bytes
    ts: str
    record: bytes
    leaf_index: int | None


class ModelRepository:
    """Model registrations on the log's store (SQLite or PostgreSQL)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def register(
        self,
        entry: Entry,
        key: ModelKey,
        named: Collection[ModelKey],
        check: Callable[[Mapping[ModelKey, bytes]], None],
    ) -> int:
        """Store the model record `entry` as the registration of `key`; its seq.

        `check` gets the registrations among `named` and `key` (leaf hash by key) as
        they are inside the transaction, and raises to refuse: then nothing is stored.
        A key registered meanwhile (PostgreSQL, another transaction) is refused with a
        LedgerError.
        """
        try:
            with self.store.transaction() as conn:
                if self.store.is_postgres:
                    # Shared with ingest: orders this entry against sealing (see Store.add_entries).
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": INGEST_LOCK}
                    )
                wanted = sorted(set(named) | {key})
                rows = conn.execute(
                    select(
                        model_versions.c.model_id,
                        model_versions.c.version,
                        model_versions.c.leaf_hash,
                    ).where(tuple_(model_versions.c.model_id, model_versions.c.version).in_(wanted))
                )
                check({(row[0], row[1]): bytes(row[2]) for row in rows})
                result = conn.execute(
                    insert(entries).values(
                        leaf_hash=entry.leaf_hash,
                        kind=entry.kind,
                        ts=entry.ts,
                        external_id=entry.external_id,
                        account_id=entry.account_id,
                        model=entry.model,
                        record=entry.canonical,
                    )
                )
                inserted = result.inserted_primary_key
                assert inserted is not None
                conn.execute(
                    insert(model_versions).values(
                        model_id=key[0], version=key[1], leaf_hash=entry.leaf_hash
                    )
                )
        except IntegrityError:
            raise LedgerError(
                f"model {key[0]!r} version {key[1]!r} was registered meanwhile, or record"
                f" 0x{entry.leaf_hash.hex()} is in the log already: nothing was stored"
            ) from None
        return int(inserted[0])

    def registrations(self, model_ids: Collection[str], limit: int) -> list[ModelRegistration]:
        """The registrations of any of `model_ids`, in arrival order, at most `limit`."""
        if not model_ids:
            return []
        query = (
            select(entries.c.seq, entries.c.leaf_hash, entries.c.ts, entries.c.record)
            .join(model_versions, model_versions.c.leaf_hash == entries.c.leaf_hash)
            .where(model_versions.c.model_id.in_(sorted(model_ids)))
            .order_by(entries.c.seq)
            .limit(limit)
        )
        with self.store.read() as conn:
            rows = conn.execute(query).all()
            return [
                ModelRegistration(
                    int(r[0]),
                    bytes(r[1]),
                    r[2],
                    bytes(r[3]),
                    self.store.leaf_index_of_seq(conn, int(r[0])),
                )
                for r in rows
            ]
