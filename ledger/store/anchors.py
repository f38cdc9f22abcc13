"""All SQL of anchoring: the deployment row, and the anchors among the chain calls.

Guarantees callers rely on:

- One `deployment` row per database: the chain, contract and log id it anchors to.
  Recording a second one is refused; it is never changed afterwards, except that its
  LicenceRegistry address is recorded once, if it was deployed later than LogAnchor.
- Every write is its own committed transaction, durable once it returns.
- An anchor is a row of the chain outbox (`ledger.store.outbox`, kind ``anchor``): it
  moves between states only by compare-and-swap on its whole previous state (status,
  tree size, attempts, tx hash, block hash): an anchorer acting on a stale view
  (another anchorer moved the row first) gets `StaleAnchorError` and changes nothing.
  The anchorer's steps are in `ledger/service/anchorer.py`; no SQL lives there.
- Tree sizes are unique: one anchor row per size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger.formats.identity import LogIdentity
from ledger.store import outbox
from ledger.store.outbox import MAX_ERROR_LENGTH, CallKind, CallStatus, ChainCall, Outbox
from ledger.store.repository import Store, StoreError
from ledger.store.schema import chain_calls, deployment

__all__ = [
    "MAX_ERROR_LENGTH",
    "Anchor",
    "AnchorBlock",
    "AnchorRepository",
    "AnchorStatus",
    "Deployment",
    "StaleAnchorError",
]

AnchorStatus = CallStatus
"""Where an anchor is on its way to the chain: pending, submitted or confirmed (the
outbox's states; an anchor is never failed)."""

ANCHOR_STATUSES = (CallStatus.PENDING, CallStatus.SUBMITTED, CallStatus.CONFIRMED)

StaleAnchorError = outbox.StaleCallError
"""An anchor row changed under us (another anchorer moved it first)."""


@dataclass(frozen=True)
class Deployment:
    """The contract and log this database anchors to."""

    chain_id: int
    contract: bytes
    log_id: bytes
    log_name: str
    deployer: bytes
    block_number: int
    created_at: str
    registry: bytes | None = None
    """The LicenceRegistry contract on the same chain (None: not deployed yet)."""

    def identity(
        self,
        log_signer: bytes,
        *,
        rpc_url: str | None = None,
        explorer: str | None = None,
        note_vkey: str | None = None,
        witnesses: tuple[str, ...] = (),
        witness_quorum: int = 0,
    ) -> LogIdentity:
        """The log identity document of this deployment, whose log key has address
        `log_signer` (with the operator's suggested RPC endpoint and block explorer, and
        the verifier key of its C2SP checkpoint notes, its witnesses' vkeys and quorum)."""
        return LogIdentity(
            name=self.log_name,
            chain_id=self.chain_id,
            log_anchor=self.contract,
            log_id=self.log_id,
            licence_registry=self.registry,
            log_signer=log_signer,
            deployment_block=self.block_number,
            rpc_url=rpc_url,
            explorer=explorer,
            note_vkey=note_vkey,
            witnesses=witnesses,
            witness_quorum=witness_quorum,
        )


@dataclass(frozen=True)
class AnchorBlock:
    """Where an anchor transaction landed: its hash, block, block time and gas used."""

    tx_hash: bytes
    block_number: int
    block_hash: bytes
    block_timestamp: int
    gas_used: int


@dataclass(frozen=True)
class Anchor(ChainCall):
    """One anchor row: the checkpoint (tree_size, root) and its progress to the chain."""

    tree_size: int
    root: bytes
    prev_size: int | None
    block_timestamp: int | None
    gas_used: int | None

    def describe(self) -> str:
        return f"anchor of tree size {self.tree_size}"

    def expected(self) -> dict[str, Any]:
        return super().expected() | {"tree_size": self.tree_size}


def _anchor(row: Row[Any]) -> Anchor:
    return Anchor(
        **outbox.call_fields(row),
        tree_size=int(row.tree_size),
        root=bytes(row.root),
        prev_size=outbox.optional_int(row.prev_size),
        block_timestamp=outbox.optional_int(row.block_timestamp),
        gas_used=outbox.optional_int(row.gas_used),
    )


_IS_ANCHOR: ColumnElement[bool] = chain_calls.c.kind == CallKind.ANCHOR.value
_CONFIRMED: ColumnElement[bool] = chain_calls.c.status == CallStatus.CONFIRMED.value


class AnchorRepository:
    """Anchoring's tables on the log's store (SQLite or PostgreSQL)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.outbox = Outbox(store, [CallKind.ANCHOR], _anchor, "anchor")

    # -- deployment -------------------------------------------------------------------

    def deployment(self) -> Deployment | None:
        """The recorded deployment, if any."""
        with self.store.read() as conn:
            row = conn.execute(select(deployment).where(deployment.c.id == 1)).first()
        if row is None:
            return None
        return Deployment(
            chain_id=int(row.chain_id),
            contract=bytes(row.contract),
            log_id=bytes(row.log_id),
            log_name=row.log_name,
            deployer=bytes(row.deployer),
            block_number=int(row.block_number),
            created_at=row.created_at,
            registry=outbox.optional_bytes(row.registry),
        )

    def record_deployment(self, found: Deployment) -> None:
        """Record the deployment; refused if this database has one already."""
        try:
            with self.store.transaction() as conn:
                conn.execute(
                    insert(deployment).values(
                        id=1,
                        chain_id=found.chain_id,
                        contract=found.contract,
                        log_id=found.log_id,
                        log_name=found.log_name,
                        deployer=found.deployer,
                        block_number=found.block_number,
                        created_at=found.created_at,
                        registry=found.registry,
                    )
                )
        except IntegrityError:
            raise StoreError("this database already records a deployment") from None

    def record_registry(self, registry: bytes) -> Deployment:
        """Record the LicenceRegistry of the deployment; refused if it has one already."""
        with self.store.transaction() as conn:
            result = conn.execute(
                update(deployment)
                .where(deployment.c.id == 1, deployment.c.registry.is_(None))
                .values(registry=registry)
            )
            if result.rowcount != 1:
                raise StoreError(
                    "this database records no deployment, or one with a LicenceRegistry already"
                )
        found = self.deployment()
        assert found is not None
        return found

    # -- reads --------------------------------------------------------------------------

    def _first(self, *where: ColumnElement[bool], order: Any) -> Anchor | None:
        with self.store.read() as conn:
            row = conn.execute(
                select(chain_calls).where(_IS_ANCHOR, *where).order_by(*order).limit(1)
            ).first()
        return None if row is None else _anchor(row)

    def _all(
        self, *where: ColumnElement[bool], order: Any, limit: int | None = None
    ) -> list[Anchor]:
        with self.store.read() as conn:
            rows = conn.execute(
                select(chain_calls).where(_IS_ANCHOR, *where).order_by(*order).limit(limit)
            )
            return [_anchor(row) for row in rows]

    def anchors(self) -> list[Anchor]:
        """Every anchor row, smallest tree size first."""
        return self._all(order=[chain_calls.c.tree_size])

    def get(self, tree_size: int) -> Anchor | None:
        """The anchor row of `tree_size`, if any."""
        return self._first(chain_calls.c.tree_size == tree_size, order=[])

    def open_anchors(self) -> list[Anchor]:
        """Pending and submitted anchors, smallest tree size first."""
        return self._all(~_CONFIRMED, order=[chain_calls.c.tree_size])

    def newest(self) -> Anchor | None:
        """The anchor row of the largest tree size, whatever its status."""
        return self._first(order=[chain_calls.c.tree_size.desc()])

    def latest_confirmed(self) -> Anchor | None:
        """The confirmed anchor of the largest tree size, if any."""
        return self._first(_CONFIRMED, order=[chain_calls.c.tree_size.desc()])

    def earliest_confirmed_from(self, tree_size: int) -> Anchor | None:
        """The confirmed anchor of the smallest size >= `tree_size`, if any: the first
        on chain whose tree holds leaf index `tree_size - 1`."""
        return self._first(
            _CONFIRMED, chain_calls.c.tree_size >= tree_size, order=[chain_calls.c.tree_size]
        )

    def confirmed_since(self, block_number: int, limit: int) -> list[Anchor]:
        """Up to `limit` confirmed anchors in blocks >= `block_number`, newest first.

        These are the ones a reorganisation of the chain's last blocks could undo.
        """
        return self._all(
            _CONFIRMED,
            chain_calls.c.block_number >= block_number,
            order=[chain_calls.c.block_number.desc(), chain_calls.c.tree_size.desc()],
            limit=limit,
        )

    def confirmed_beyond(self, tree_size: int, block_number: int) -> list[Anchor]:
        """Confirmed anchors of a size above `tree_size` or in a block above
        `block_number`, smallest size first: those a chain whose latest anchor is
        `tree_size` and whose head is `block_number` cannot hold."""
        return self._all(
            _CONFIRMED,
            (chain_calls.c.tree_size > tree_size) | (chain_calls.c.block_number > block_number),
            order=[chain_calls.c.tree_size],
        )

    def latest_confirmed_upto(self, tree_size: int) -> Anchor | None:
        """The confirmed anchor of the largest size <= `tree_size`, if any."""
        return self._first(
            _CONFIRMED,
            chain_calls.c.tree_size <= tree_size,
            order=[chain_calls.c.tree_size.desc()],
        )

    def count_by_status(self) -> dict[CallStatus, int]:
        """How many anchors are in each state."""
        return self.outbox.count_by_status(ANCHOR_STATUSES)

    # -- transitions (the outbox's, on one row) -------------------------------------------

    def add_pending(self, tree_size: int, root: bytes, now: str) -> Anchor | None:
        """A new pending anchor of (tree_size, root); None if that size has a row already."""
        try:
            with self.store.transaction() as conn:
                conn.execute(
                    insert(chain_calls).values(
                        kind=CallKind.ANCHOR.value,
                        tree_size=tree_size,
                        root=root,
                        status=CallStatus.PENDING.value,
                        attempts=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            return None
        return self.get(tree_size)

    def retarget(self, old: Anchor, tree_size: int, root: bytes, now: str) -> Anchor:
        """Point a pending anchor at a newer checkpoint (it was never confirmed)."""
        if old.status is not CallStatus.PENDING:
            raise StoreError(
                f"only a pending anchor can be retargeted, not a {old.status.value} one"
            )
        try:
            (moved,) = self.outbox.move([old], now, tree_size=tree_size, root=root)
        except IntegrityError:
            raise StaleAnchorError(f"tree size {tree_size} has an anchor row already") from None
        return moved

    def submit(self, old: Anchor, prev_size: int, tx_hash: bytes, nonce: int, now: str) -> Anchor:
        """pending -> submitted: record the transaction before it is sent."""
        return self.outbox.submit([old], tx_hash, nonce, now, prev_size=prev_size)[0]

    def adopt(
        self, old: Anchor, prev_size: int, tx_hash: bytes, nonce: int | None, now: str
    ) -> Anchor:
        """-> submitted with a transaction found on chain (another send put it there)."""
        return self.outbox.adopt([old], tx_hash, nonce, now, prev_size=prev_size)[0]

    def confirm(self, old: Anchor, block: AnchorBlock, now: str) -> Anchor:
        """submitted -> confirmed (or a confirmed anchor re-included in another block)."""
        (confirmed,) = self.outbox.confirm(
            [old],
            block.tx_hash,
            block.block_number,
            now,
            block_hash=block.block_hash,
            block_timestamp=block.block_timestamp,
            gas_used=block.gas_used,
        )
        return confirmed

    def reopen(self, old: Anchor, error: str, now: str) -> Anchor:
        """submitted or confirmed -> pending: its transaction was dropped, failed or
        reorganised out. The tx hash and nonce of the lost attempt stay for the record."""
        return self.outbox.reopen([old], error, now)[0]

    def note_error(self, old: Anchor, error: str, now: str) -> Anchor:
        """Keep the latest error on an anchor without changing its state."""
        return self.outbox.note_error([old], error, now)[0]

    def drop_pending(self, old: Anchor) -> None:
        """Delete a pending anchor the chain made unnecessary (it anchors a larger size)."""
        if old.status is not CallStatus.PENDING:
            raise StoreError(f"only a pending anchor can be dropped, not a {old.status.value} one")
        with self.store.transaction() as conn:
            result = conn.execute(
                delete(chain_calls).where(
                    chain_calls.c.id == old.id,
                    _IS_ANCHOR,
                    chain_calls.c.status == CallStatus.PENDING.value,
                    chain_calls.c.attempts == old.attempts,
                )
            )
            if result.rowcount != 1:
                raise StaleAnchorError(
                    f"anchor of tree size {old.tree_size} changed before it was dropped"
                )
