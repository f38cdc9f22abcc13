"""The chain outbox: every contract call on its way to the chain, in one state machine.

One `chain_calls` row per call: an ``anchor`` of a checkpoint on LogAnchor
(`ledger.store.anchors`), or a ``grant`` or ``revoke`` of a licence commitment on
LicenceRegistry (`ledger.store.licences`). Those modules say what is called and read
the rows of their kinds; how far a call got is kept alike for every kind, and only
this module moves it:

    pending -> submitted -> confirmed
       ^          |            |        (dropped, failed in a block, reorganised out)
       +----------+------------+
    pending or submitted -> failed      (refused for good; a failed row stays failed)

Guarantees callers rely on:

- Every write is its own committed transaction, durable once it returns.
- A row moves only by compare-and-swap on its whole previous state (status, attempts,
  tx hash, block hash; for an anchor also its tree size): a sender acting on a stale
  view (another sender moved the row first) gets `StaleCallError` and changes nothing.
  Rows sent in one transaction move together, all or none.
- A submitted row names its transaction (tx hash and nonce) before the transaction is
  sent, so no transaction is ever sent that the database does not name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Row, func, select, update

from ledger.store.repository import Store, StoreError
from ledger.store.schema import chain_calls

MAX_ERROR_LENGTH = 1000
"""Characters of an error message kept in `chain_calls.last_error` (longer ones are cut)."""


class CallKind(StrEnum):
    """Which contract function a row calls."""

    ANCHOR = "anchor"
    """LogAnchor.anchor of a checkpoint."""
    GRANT = "grant"
    """LicenceRegistry.grant (or grantMany) of a commitment."""
    REVOKE = "revoke"
    """LicenceRegistry.revoke of a commitment."""


class CallStatus(StrEnum):
    """Where a call is on its way to the chain."""

    PENDING = "pending"
    """Wanted on chain; no transaction of ours is believed to be in flight for it."""
    SUBMITTED = "submitted"
    """A transaction (tx hash and nonce recorded) was built and sent, or is about to be."""
    CONFIRMED = "confirmed"
    """On chain, in a block with enough confirmations."""
    FAILED = "failed"
    """Refused for good: the contract reverts it whatever the chain's state, or it cannot
    even be signed or encoded. `last_error` says why; it is sent no more, and it blocks
    no other call. (Anchors never fail: a conflict stops the anchorer instead.)"""


class StaleCallError(StoreError):
    """A chain call row changed under us (another sender moved it first)."""


@dataclass(frozen=True)
class ChainCall:
    """What every outbox row holds: how far its call got."""

    id: int
    status: CallStatus
    tx_hash: bytes | None
    nonce: int | None
    block_number: int | None
    block_hash: bytes | None
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str

    def describe(self) -> str:
        """The call in words, for errors and logs."""
        return f"chain call {self.id}"

    def expected(self) -> dict[str, Any]:
        """The columns a move compares: the row must still hold these values."""
        return {
            "status": self.status.value,
            "attempts": self.attempts,
            "tx_hash": self.tx_hash,
            "block_hash": self.block_hash,
        }


def optional_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def call_fields(row: Row[Any]) -> dict[str, Any]:
    """The `ChainCall` fields of a `chain_calls` row."""
    return {
        "id": int(row.id),
        "status": CallStatus(row.status),
        "tx_hash": optional_bytes(row.tx_hash),
        "nonce": optional_int(row.nonce),
        "block_number": optional_int(row.block_number),
        "block_hash": optional_bytes(row.block_hash),
        "attempts": int(row.attempts),
        "last_error": row.last_error,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def clip(error: str | None) -> str | None:
    """`error` cut to MAX_ERROR_LENGTH characters."""
    if error is None or len(error) <= MAX_ERROR_LENGTH:
        return error
    return error[: MAX_ERROR_LENGTH - 3] + "..."


def equal(column: str, value: Any) -> ColumnElement[bool]:
    """`column` holds `value` (NULL when `value` is None)."""
    found = chain_calls.c[column]
    return found.is_(None) if value is None else found == value


NO_BLOCK: dict[str, Any] = {
    "block_number": None,
    "block_hash": None,
    "block_timestamp": None,
    "gas_used": None,
}

C = TypeVar("C", bound=ChainCall)


class Outbox(Generic[C]):
    """The state moves of the chain calls of `kinds`, read as `C` by `read`; `noun` names
    one in errors."""

    def __init__(
        self,
        store: Store,
        kinds: Sequence[CallKind],
        read: Callable[[Row[Any]], C],
        noun: str = "chain call",
    ) -> None:
        self.store = store
        self.kinds = [kind.value for kind in kinds]
        self.read = read
        self.noun = noun

    def of_kinds(self) -> ColumnElement[bool]:
        """The rows of this outbox's kinds."""
        return chain_calls.c.kind.in_(self.kinds)

    def count_by_status(self, statuses: Sequence[CallStatus]) -> dict[CallStatus, int]:
        """How many calls are in each of `statuses`."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(chain_calls.c.status, func.count())
                .where(self.of_kinds())
                .group_by(chain_calls.c.status)
            )
            found = {CallStatus(status): int(count) for status, count in rows}
        return {status: found.get(status, 0) for status in statuses}

    def move(
        self, old: Sequence[C], now: str, *, new_attempt: bool = False, **values: Any
    ) -> list[C]:
        """Compare-and-swap every row of `old` to `values` (and, with `new_attempt`, one
        more attempt each), all or none; the rows as they are afterwards, in id order."""
        if "last_error" in values:
            values["last_error"] = clip(values["last_error"])
        with self.store.transaction() as conn:
            for call in old:
                result = conn.execute(
                    update(chain_calls)
                    .where(
                        chain_calls.c.id == call.id,
                        self.of_kinds(),
                        *(equal(column, value) for column, value in call.expected().items()),
                    )
                    .values(
                        updated_at=now,
                        **values,
                        **({"attempts": call.attempts + 1} if new_attempt else {}),
                    )
                )
                if result.rowcount != 1:
                    raise StaleCallError(
                        f"{call.describe()} is no longer {call.status.value} as read:"
                        " another sender moved it"
                    )
            rows = conn.execute(
                select(chain_calls)
                .where(chain_calls.c.id.in_([call.id for call in old]))
                .order_by(chain_calls.c.id)
            )
            return [self.read(row) for row in rows]

    def submit(
        self, old: Sequence[C], tx_hash: bytes, nonce: int, now: str, **values: Any
    ) -> list[C]:
        """pending -> submitted, one transaction for all of `old`: record it before it is
        sent (with `values` the kind's own columns, such as an anchor's prev_size)."""
        if any(call.status is not CallStatus.PENDING for call in old):
            raise StoreError(f"only pending {self.noun}s can be submitted")
        return self._submitted(old, tx_hash, nonce, now, True, last_error=None, **values)

    def adopt(
        self, old: Sequence[C], tx_hash: bytes, nonce: int | None, now: str, **values: Any
    ) -> list[C]:
        """-> submitted with a transaction found on chain (another send put it there)."""
        return self._submitted(old, tx_hash, nonce, now, False, **values)

    def _submitted(
        self,
        old: Sequence[C],
        tx_hash: bytes,
        nonce: int | None,
        now: str,
        new_attempt: bool,
        **values: Any,
    ) -> list[C]:
        """-> submitted in transaction `tx_hash` (no block yet); with `new_attempt`, one
        more attempt each."""
        values |= {"tx_hash": tx_hash, "nonce": nonce} | NO_BLOCK
        return self.move(
            old, now, new_attempt=new_attempt, status=CallStatus.SUBMITTED.value, **values
        )

    def confirm(
        self, old: Sequence[C], tx_hash: bytes, block_number: int, now: str, **values: Any
    ) -> list[C]:
        """-> confirmed in `block_number` by transaction `tx_hash` (with `values` what
        else is known of the block: its hash, time, the gas used)."""
        return self.move(
            old,
            now,
            status=CallStatus.CONFIRMED.value,
            tx_hash=tx_hash,
            block_number=block_number,
            last_error=None,
            **values,
        )

    def reopen(self, old: Sequence[C], error: str, now: str) -> list[C]:
        """submitted or confirmed -> pending: the transaction was dropped, refused, failed
        or reorganised out. The tx hash and nonce of the lost attempt stay for the record."""
        return self.move(old, now, status=CallStatus.PENDING.value, last_error=error, **NO_BLOCK)

    def fail(self, old: Sequence[C], error: str, now: str) -> list[C]:
        """pending (or submitted) -> failed, for good, with the reason."""
        if any(call.status is CallStatus.CONFIRMED for call in old):
            raise StoreError(f"a confirmed {self.noun} cannot fail")
        return self.move(old, now, status=CallStatus.FAILED.value, last_error=error)

    def note_error(self, old: Sequence[C], error: str, now: str) -> list[C]:
        """Keep the latest error on calls without changing their state."""
        return self.move(old, now, last_error=error)
