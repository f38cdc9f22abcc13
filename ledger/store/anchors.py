"""All SQL of anchoring: the deployment row and the anchors' state machine.

Guarantees callers rely on:

- One `deployment` row per database: the chain, contract and log id it anchors to.
  Recording a second one is refused; it is never changed afterwards, except that its
  LicenceRegistry address is recorded once, if it was deployed later than LogAnchor.
- Every write is its own committed transaction, durable once it returns.
- An anchor moves between states only by compare-and-swap on its whole previous state
  (status, tree size, attempts, tx hash, block hash): an anchorer acting on a stale
  view (another anchorer moved the row first) gets `StaleAnchorError` and changes
  nothing. The anchorer's steps are in `ledger/anchorer.py`; no SQL lives there.
- Tree sizes are unique: one anchor row per size.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger.formats.identity import LogIdentity
from ledger.store.repository import Store, StoreError
from ledger.store.schema import anchors, deployment

MAX_ERROR_LENGTH = 1000
"""Characters of an error message kept in `anchors.last_error` (longer ones are cut)."""


class AnchorStatus(StrEnum):
    """Where an anchor is on its way to the chain."""

    PENDING = "pending"
    """Wanted on chain; no transaction of ours is believed to be in flight for it."""
    SUBMITTED = "submitted"
    """A transaction (tx hash and nonce recorded) was built and sent, or is about to be."""
    CONFIRMED = "confirmed"
    """On chain, in a block with enough confirmations (block number, hash and time kept)."""


class StaleAnchorError(StoreError):
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
        self, log_signer: bytes, *, rpc_url: str | None = None, explorer: str | None = None
    ) -> LogIdentity:
        """The log identity document of this deployment, whose log key has address
        `log_signer` (with the operator's suggested RPC endpoint and block explorer)."""
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
class Anchor:
    """One anchor row: the checkpoint (tree_size, root) and its progress to the chain."""

    id: int
    tree_size: int
    root: bytes
    prev_size: int | None
    status: AnchorStatus
    tx_hash: bytes | None
    nonce: int | None
    block_number: int | None
    block_hash: bytes | None
    block_timestamp: int | None
    gas_used: int | None
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str


def _optional_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _anchor(row: Row[Any]) -> Anchor:
    return Anchor(
        id=int(row.id),
        tree_size=int(row.tree_size),
        root=bytes(row.root),
        prev_size=_optional_int(row.prev_size),
        status=AnchorStatus(row.status),
        tx_hash=_optional_bytes(row.tx_hash),
        nonce=_optional_int(row.nonce),
        block_number=_optional_int(row.block_number),
        block_hash=_optional_bytes(row.block_hash),
        block_timestamp=_optional_int(row.block_timestamp),
        gas_used=_optional_int(row.gas_used),
        attempts=int(row.attempts),
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _clip(error: str | None) -> str | None:
    if error is None or len(error) <= MAX_ERROR_LENGTH:
        return error
    return error[: MAX_ERROR_LENGTH - 3] + "..."


_NO_BLOCK = {"block_number": None, "block_hash": None, "block_timestamp": None, "gas_used": None}


class AnchorRepository:
    """Anchoring's tables on the log's store (SQLite or PostgreSQL)."""

    def __init__(self, store: Store) -> None:
        self.store = store

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
            registry=_optional_bytes(row.registry),
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

    def anchors(self) -> list[Anchor]:
        """Every anchor row, smallest tree size first."""
        with self.store.read() as conn:
            return [
                _anchor(row) for row in conn.execute(select(anchors).order_by(anchors.c.tree_size))
            ]

    def get(self, tree_size: int) -> Anchor | None:
        """The anchor row of `tree_size`, if any."""
        with self.store.read() as conn:
            row = conn.execute(select(anchors).where(anchors.c.tree_size == tree_size)).first()
        return None if row is None else _anchor(row)

    def open_anchors(self) -> list[Anchor]:
        """Pending and submitted anchors, smallest tree size first."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(anchors)
                .where(anchors.c.status != AnchorStatus.CONFIRMED.value)
                .order_by(anchors.c.tree_size)
            )
            return [_anchor(row) for row in rows]

    def newest(self) -> Anchor | None:
        """The anchor row of the largest tree size, whatever its status."""
        with self.store.read() as conn:
            row = conn.execute(
                select(anchors).order_by(anchors.c.tree_size.desc()).limit(1)
            ).first()
        return None if row is None else _anchor(row)

    def latest_confirmed(self) -> Anchor | None:
        """The confirmed anchor of the largest tree size, if any."""
        with self.store.read() as conn:
            row = conn.execute(
                select(anchors)
                .where(anchors.c.status == AnchorStatus.CONFIRMED.value)
                .order_by(anchors.c.tree_size.desc())
                .limit(1)
            ).first()
        return None if row is None else _anchor(row)

    def confirmed_since(self, block_number: int, limit: int) -> list[Anchor]:
        """Up to `limit` confirmed anchors in blocks >= `block_number`, newest first.

        These are the ones a reorganisation of the chain's last blocks could undo.
        """
        with self.store.read() as conn:
            rows = conn.execute(
                select(anchors)
                .where(
                    anchors.c.status == AnchorStatus.CONFIRMED.value,
                    anchors.c.block_number >= block_number,
                )
                .order_by(anchors.c.block_number.desc(), anchors.c.tree_size.desc())
                .limit(limit)
            )
            return [_anchor(row) for row in rows]

    def confirmed_beyond(self, tree_size: int, block_number: int) -> list[Anchor]:
        """Confirmed anchors of a size above `tree_size` or in a block above
        `block_number`, smallest size first: those a chain whose latest anchor is
        `tree_size` and whose head is `block_number` cannot hold."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(anchors)
                .where(
                    anchors.c.status == AnchorStatus.CONFIRMED.value,
                    (anchors.c.tree_size > tree_size) | (anchors.c.block_number > block_number),
                )
                .order_by(anchors.c.tree_size)
            )
            return [_anchor(row) for row in rows]

    def latest_confirmed_upto(self, tree_size: int) -> Anchor | None:
        """The confirmed anchor of the largest size <= `tree_size`, if any."""
        with self.store.read() as conn:
            row = conn.execute(
                select(anchors)
                .where(
                    anchors.c.status == AnchorStatus.CONFIRMED.value,
                    anchors.c.tree_size <= tree_size,
                )
                .order_by(anchors.c.tree_size.desc())
                .limit(1)
            ).first()
        return None if row is None else _anchor(row)

    def count_by_status(self) -> dict[AnchorStatus, int]:
        """How many anchors are in each state."""
        with self.store.read() as conn:
            rows = conn.execute(select(anchors.c.status, func.count()).group_by(anchors.c.status))
            found = {AnchorStatus(status): int(count) for status, count in rows}
        return {status: found.get(status, 0) for status in AnchorStatus}

    # -- transitions --------------------------------------------------------------------

    def add_pending(self, tree_size: int, root: bytes, now: str) -> Anchor | None:
        """A new pending anchor of (tree_size, root); None if that size has a row already."""
        try:
            with self.store.transaction() as conn:
                conn.execute(
                    insert(anchors).values(
                        tree_size=tree_size,
                        root=root,
                        status=AnchorStatus.PENDING.value,
                        attempts=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            return None
        return self.get(tree_size)

    def _move(self, old: Anchor, now: str, **values: Any) -> Anchor:
        """Compare-and-swap `old` to `values`; the row as it is afterwards."""
        tx_match = (
            anchors.c.tx_hash.is_(None) if old.tx_hash is None else anchors.c.tx_hash == old.tx_hash
        )
        hash_match = (
            anchors.c.block_hash.is_(None)
            if old.block_hash is None
            else anchors.c.block_hash == old.block_hash
        )
        if "last_error" in values:
            values["last_error"] = _clip(values["last_error"])
        with self.store.transaction() as conn:
            result = conn.execute(
                update(anchors)
                .where(
                    anchors.c.id == old.id,
                    anchors.c.status == old.status.value,
                    anchors.c.tree_size == old.tree_size,
                    anchors.c.attempts == old.attempts,
                    tx_match,
                    hash_match,
                )
                .values(updated_at=now, **values)
            )
            if result.rowcount != 1:
                raise StaleAnchorError(
                    f"anchor of tree size {old.tree_size} is no longer {old.status.value}"
                    f" as read: another anchorer moved it"
                )
            row = conn.execute(select(anchors).where(anchors.c.id == old.id)).one()
        return _anchor(row)

    def retarget(self, old: Anchor, tree_size: int, root: bytes, now: str) -> Anchor:
        """Point a pending anchor at a newer checkpoint (it was never confirmed)."""
        if old.status is not AnchorStatus.PENDING:
            raise StoreError(
                f"only a pending anchor can be retargeted, not a {old.status.value} one"
            )
        try:
            return self._move(old, now, tree_size=tree_size, root=root)
        except IntegrityError:
            raise StaleAnchorError(f"tree size {tree_size} has an anchor row already") from None

    def submit(self, old: Anchor, prev_size: int, tx_hash: bytes, nonce: int, now: str) -> Anchor:
        """pending -> submitted: record the transaction before it is sent."""
        return self._move(
            old,
            now,
            status=AnchorStatus.SUBMITTED.value,
            prev_size=prev_size,
            tx_hash=tx_hash,
            nonce=nonce,
            attempts=old.attempts + 1,
            last_error=None,
            **_NO_BLOCK,
        )

    def adopt(
        self, old: Anchor, prev_size: int, tx_hash: bytes, nonce: int | None, now: str
    ) -> Anchor:
        """-> submitted with a transaction found on chain (another send put it there)."""
        return self._move(
            old,
            now,
            status=AnchorStatus.SUBMITTED.value,
            prev_size=prev_size,
            tx_hash=tx_hash,
            nonce=nonce,
            **_NO_BLOCK,
        )

    def confirm(self, old: Anchor, block: AnchorBlock, now: str) -> Anchor:
        """submitted -> confirmed (or a confirmed anchor re-included in another block)."""
        return self._move(
            old,
            now,
            status=AnchorStatus.CONFIRMED.value,
            tx_hash=block.tx_hash,
            block_number=block.block_number,
            block_hash=block.block_hash,
            block_timestamp=block.block_timestamp,
            gas_used=block.gas_used,
            last_error=None,
        )

    def reopen(self, old: Anchor, error: str, now: str) -> Anchor:
        """submitted or confirmed -> pending: its transaction was dropped, failed or
        reorganised out. The tx hash and nonce of the lost attempt stay for the record."""
        return self._move(
            old, now, status=AnchorStatus.PENDING.value, last_error=error, **_NO_BLOCK
        )

    def note_error(self, old: Anchor, error: str, now: str) -> Anchor:
        """Keep the latest error on an anchor without changing its state."""
        return self._move(old, now, last_error=error)

    def drop_pending(self, old: Anchor) -> None:
        """Delete a pending anchor the chain made unnecessary (it anchors a larger size)."""
        if old.status is not AnchorStatus.PENDING:
            raise StoreError(f"only a pending anchor can be dropped, not a {old.status.value} one")
        with self.store.transaction() as conn:
            result = conn.execute(
                delete(anchors).where(
                    anchors.c.id == old.id,
                    anchors.c.status == AnchorStatus.PENDING.value,
                    anchors.c.attempts == old.attempts,
                )
            )
            if result.rowcount != 1:
                raise StaleAnchorError(
                    f"anchor of tree size {old.tree_size} changed before it was dropped"
                )
