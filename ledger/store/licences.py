"""All SQL of licences: licence records entering the log with their registry calls, and
those calls' state machine on their way to the chain.

A licence's records (grant, amend, revoke) are entries of the log like any other. Next
to them, `licence_commitments` holds one row per call the LicenceRegistry must receive:
``grant`` of a grant or amend record's commitment (its leaf hash), or ``revoke`` of a
commitment (asked by a revoke record, or by an amend record that supersedes it). A
licence's state is read from these rows and the records they point to
(`ledger.service.licences`).

Guarantees callers rely on:

- `append` stores a licence record and its registry calls in one transaction, after a
  check that runs inside it on the licence's rows as they are (two requests on one
  licence cannot both pass on the same state): all or nothing, durable once it returns.
- Each (commitment, action) has one row.
- A row moves pending -> submitted -> confirmed (or back to pending), or to failed,
  only by compare-and-swap on its previous state (status, attempts, tx hash): an issuer
  acting on a stale view gets `StaleLicenceCallError` and changes nothing. Rows sent in
  one transaction move together, all or none. A failed row stays failed: the issuer
  sends it no more, and its `last_error` says why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    Integer,
    LargeBinary,
    Row,
    String,
    Table,
    and_,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ledger.core.records import Entry
from ledger.errors import LedgerError
from ledger.store.repository import INGEST_LOCK, Store, StoreError
from ledger.store.schema import Seq, entries, metadata

MAX_ERROR_LENGTH = 1000
"""Characters of an error message kept in `last_error` (longer ones are cut)."""

_LICENCE_LOCK = int.from_bytes(
    hashlib.sha256(b"model-ledger/licences").digest()[:8], "big", signed=True
)
"""PostgreSQL advisory lock serialising licence writes (SQLite has one writer anyway)."""

licence_commitments = Table(
    "licence_commitments",
    metadata,
    Column("id", Seq, primary_key=True, autoincrement=True),
    Column("licence_id", String(256), nullable=False),
    Column("licensee", String(256), nullable=False),
    Column("action", String(8), nullable=False, comment="grant | revoke: the registry call"),
    Column(
        "commitment",
        LargeBinary(32),
        nullable=False,
        comment="leaf hash of a grant or amend record",
    ),
    Column(
        "record_hash",
        LargeBinary(32),
        nullable=False,
        comment="leaf hash of the record that asked for the call",
    ),
    Column("valid_from", BigInteger, comment="unix seconds (grant only)"),
    Column("valid_until", BigInteger, comment="unix seconds, excluded (grant only)"),
    Column(
        "status", String(16), nullable=False, comment="pending | submitted | confirmed | failed"
    ),
    Column("tx_hash", LargeBinary(32)),
    Column("nonce", BigInteger),
    Column("block_number", BigInteger),
    Column("attempts", Integer, nullable=False, comment="transactions built for this call"),
    Column("last_error", String(1000)),
    Column("created_at", String(24), nullable=False),
    Column("updated_at", String(24), nullable=False),
    Index("licence_commitments_call", "commitment", "action", unique=True),
    Index("licence_commitments_licence", "licence_id"),
    Index("licence_commitments_status", "status"),
    comment="LicenceRegistry calls on their way to the chain, in the issuer's state machine",
)


class CallAction(StrEnum):
    """Which LicenceRegistry function a row calls."""

    GRANT = "grant"
    REVOKE = "revoke"


class CallStatus(StrEnum):
    """Where a registry call is on its way to the chain."""

    PENDING = "pending"
    """Wanted on chain; no transaction of ours is believed to be in flight for it."""
    SUBMITTED = "submitted"
    """A transaction (tx hash and nonce recorded) was built and sent, or is about to be."""
    CONFIRMED = "confirmed"
    """On chain, in a block with enough confirmations."""
    FAILED = "failed"
    """Refused for good: the contract reverts it whatever the chain's state, or it cannot
    even be signed or encoded (a row written by hand, or before a check existed).
    `last_error` says why; the issuer sends it no more, and it blocks no other call."""


class StaleLicenceCallError(StoreError):
    """A registry call row changed under us (another issuer moved it first)."""


@dataclass(frozen=True)
class LicenceCall:
    """One registry call row."""

    id: int
    licence_id: str
    licensee: str
    action: CallAction
    commitment: bytes
    record_hash: bytes
    valid_from: int | None
    valid_until: int | None
    status: CallStatus
    tx_hash: bytes | None
    nonce: int | None
    block_number: int | None
    attempts: int
    last_error: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class IssuerState:
    """How the issuer's queue stands, for /healthz and /metrics."""

    pending: int
    """Calls waiting to be sent."""
    submitted: int
    """Calls in a transaction not yet confirmed."""
    failed: int
    """Calls refused for good."""
    last_error: str | None
    """The latest error kept on a call that is not confirmed (None: none)."""
    failing: int = 0
    """Failed calls that still matter (see `LicenceRepository.failing_count`)."""


@dataclass(frozen=True)
class NewCall:
    """A registry call to queue with a licence record."""

    action: CallAction
    commitment: bytes
    valid_from: int | None = None
    valid_until: int | None = None


def _optional_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _call(row: Row[Any]) -> LicenceCall:
    return LicenceCall(
        id=int(row.id),
        licence_id=row.licence_id,
        licensee=row.licensee,
        action=CallAction(row.action),
        commitment=bytes(row.commitment),
        record_hash=bytes(row.record_hash),
        valid_from=_optional_int(row.valid_from),
        valid_until=_optional_int(row.valid_until),
        status=CallStatus(row.status),
        tx_hash=_optional_bytes(row.tx_hash),
        nonce=_optional_int(row.nonce),
        block_number=_optional_int(row.block_number),
        attempts=int(row.attempts),
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _clip(error: str | None) -> str | None:
    if error is None or len(error) <= MAX_ERROR_LENGTH:
        return error
    return error[: MAX_ERROR_LENGTH - 3] + "..."


class LicenceRepository:
    """Licence records and registry calls on the log's store (SQLite or PostgreSQL)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- licence records ---------------------------------------------------------------

    def append(
        self,
        entry: Entry,
        licence_id: str,
        licensee: str,
        plan: Callable[[list[LicenceCall]], Sequence[NewCall]],
        now: str,
    ) -> int:
        """Store a licence record and the registry calls it asks for; its seq.

        `plan` gets the licence's call rows as they are inside the transaction and
        returns the calls to queue, or raises (a LedgerError) to refuse: then nothing is
        stored. A record already in the log is refused.
        """
        try:
            with self.store.transaction() as conn:
                if self.store.is_postgres:
                    # The shared ingest lock orders this entry against sealing (see
                    # Store.add_entries); the licence lock orders licence writes.
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": INGEST_LOCK}
                    )
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LICENCE_LOCK})
                calls = plan(self._calls(conn, licence_id))
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
                key = result.inserted_primary_key
                assert key is not None
                seq = int(key[0])
                if calls:
                    conn.execute(
                        insert(licence_commitments),
                        [
                            {
                                "licence_id": licence_id,
                                "licensee": licensee,
                                "action": call.action.value,
                                "commitment": call.commitment,
                                "record_hash": entry.leaf_hash,
                                "valid_from": call.valid_from,
                                "valid_until": call.valid_until,
                                "status": CallStatus.PENDING.value,
                                "attempts": 0,
                                "created_at": now,
                                "updated_at": now,
                            }
                            for call in calls
                        ],
                    )
        except IntegrityError:
            raise LedgerError(
                f"record 0x{entry.leaf_hash.hex()} is in the log already (or its registry call is queued):"
                " send a new record (a fresh salt)"
            ) from None
        return seq

    def _calls(self, conn: Connection, licence_id: str) -> list[LicenceCall]:
        rows = conn.execute(
            select(licence_commitments)
            .where(licence_commitments.c.licence_id == licence_id)
            .order_by(licence_commitments.c.id)
        )
        return [_call(row) for row in rows]

    def calls(self, licence_id: str) -> list[LicenceCall]:
        """Every registry call of a licence, oldest first."""
        with self.store.read() as conn:
            return self._calls(conn, licence_id)

    # -- the issuer's queue --------------------------------------------------------------

    def submitted(self) -> list[LicenceCall]:
        """Submitted calls, oldest first."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(licence_commitments)
                .where(licence_commitments.c.status == CallStatus.SUBMITTED.value)
                .order_by(licence_commitments.c.id)
            )
            return [_call(row) for row in rows]

    def pending_grants(self, limit: int) -> list[LicenceCall]:
        """Up to `limit` pending grant calls, oldest first."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(licence_commitments)
                .where(
                    licence_commitments.c.status == CallStatus.PENDING.value,
                    licence_commitments.c.action == CallAction.GRANT.value,
                )
                .order_by(licence_commitments.c.id)
                .limit(limit)
            )
            return [_call(row) for row in rows]

    def ready_revokes(self, limit: int) -> list[LicenceCall]:
        """Up to `limit` pending revoke calls whose commitment's grant is confirmed."""
        granted = aliased(licence_commitments)
        with self.store.read() as conn:
            rows = conn.execute(
                select(licence_commitments)
                .join(
                    granted,
                    and_(
                        granted.c.commitment == licence_commitments.c.commitment,
                        granted.c.action == CallAction.GRANT.value,
                    ),
                )
                .where(
                    licence_commitments.c.status == CallStatus.PENDING.value,
                    licence_commitments.c.action == CallAction.REVOKE.value,
                    granted.c.status == CallStatus.CONFIRMED.value,
                )
                .order_by(licence_commitments.c.id)
                .limit(limit)
            )
            return [_call(row) for row in rows]

    def stranded_revokes(self, limit: int) -> list[LicenceCall]:
        """Up to `limit` pending revoke calls whose commitment's grant failed: never
        granted, it can never be revoked either."""
        granted = aliased(licence_commitments)
        with self.store.read() as conn:
            rows = conn.execute(
                select(licence_commitments)
                .join(
                    granted,
                    and_(
                        granted.c.commitment == licence_commitments.c.commitment,
                        granted.c.action == CallAction.GRANT.value,
                    ),
                )
                .where(
                    licence_commitments.c.status == CallStatus.PENDING.value,
                    licence_commitments.c.action == CallAction.REVOKE.value,
                    granted.c.status == CallStatus.FAILED.value,
                )
                .order_by(licence_commitments.c.id)
                .limit(limit)
            )
            return [_call(row) for row in rows]

    def grant_of(self, commitment: bytes) -> LicenceCall | None:
        """The grant call of `commitment`, if one is queued or done."""
        with self.store.read() as conn:
            row = conn.execute(
                select(licence_commitments).where(
                    licence_commitments.c.commitment == commitment,
                    licence_commitments.c.action == CallAction.GRANT.value,
                )
            ).first()
            return None if row is None else _call(row)

    def issuer_state(self) -> IssuerState:
        """Pending, submitted and failed calls, and the latest error of one not confirmed."""
        counts = self.count_by_status()
        with self.store.read() as conn:
            last_error = conn.execute(
                select(licence_commitments.c.last_error)
                .where(
                    licence_commitments.c.status != CallStatus.CONFIRMED.value,
                    licence_commitments.c.last_error.is_not(None),
                )
                .order_by(licence_commitments.c.updated_at.desc(), licence_commitments.c.id.desc())
                .limit(1)
            ).scalar()
        return IssuerState(
            counts[CallStatus.PENDING],
            counts[CallStatus.SUBMITTED],
            counts[CallStatus.FAILED],
            last_error,
            self.failing_count() if counts[CallStatus.FAILED] else 0,
        )

    def failing_count(self) -> int:
        """Failed calls that still matter: every failed call but a grant superseded by a
        later grant of its licence (an amendment replaced the commitment the registry
        refused) and a revoke of a commitment whose grant failed (the registry never
        held it, so nothing is left to revoke)."""
        call = licence_commitments
        later = aliased(licence_commitments)
        grant_of = aliased(licence_commitments)
        superseded = (
            select(later.c.id)
            .where(
                later.c.licence_id == call.c.licence_id,
                later.c.action == CallAction.GRANT.value,
                later.c.id > call.c.id,
            )
            .exists()
        )
        never_granted = (
            select(grant_of.c.id)
            .where(
                grant_of.c.commitment == call.c.commitment,
                grant_of.c.action == CallAction.GRANT.value,
                grant_of.c.status == CallStatus.FAILED.value,
            )
            .exists()
        )
        with self.store.read() as conn:
            count = conn.execute(
                select(func.count())
                .select_from(call)
                .where(
                    call.c.status == CallStatus.FAILED.value,
                    ~and_(call.c.action == CallAction.GRANT.value, superseded),
                    ~and_(call.c.action == CallAction.REVOKE.value, never_granted),
                )
            ).scalar()
        return int(count or 0)

    def count_by_status(self) -> dict[CallStatus, int]:
        """How many calls are in each state."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(licence_commitments.c.status, func.count()).group_by(
                    licence_commitments.c.status
                )
            )
            found = {CallStatus(status): int(count) for status, count in rows}
        return {status: found.get(status, 0) for status in CallStatus}

    # -- transitions ---------------------------------------------------------------------

    def _move(
        self, old: Sequence[LicenceCall], now: str, *, new_attempt: bool = False, **values: Any
    ) -> list[LicenceCall]:
        """Compare-and-swap every row of `old` to `values` (and, with `new_attempt`, one
        more attempt each), all or none."""
        if "last_error" in values:
            values["last_error"] = _clip(values["last_error"])
        with self.store.transaction() as conn:
            for call in old:
                tx_match = (
                    licence_commitments.c.tx_hash.is_(None)
                    if call.tx_hash is None
                    else licence_commitments.c.tx_hash == call.tx_hash
                )
                result = conn.execute(
                    update(licence_commitments)
                    .where(
                        licence_commitments.c.id == call.id,
                        licence_commitments.c.status == call.status.value,
                        licence_commitments.c.attempts == call.attempts,
                        tx_match,
                    )
                    .values(
                        updated_at=now,
                        **values,
                        **({"attempts": call.attempts + 1} if new_attempt else {}),
                    )
                )
                if result.rowcount != 1:
                    raise StaleLicenceCallError(
                        f"{call.action.value} of 0x{call.commitment.hex()} is no longer {call.status.value}"
                        " as read: another issuer moved it"
                    )
            rows = conn.execute(
                select(licence_commitments)
                .where(licence_commitments.c.id.in_([call.id for call in old]))
                .order_by(licence_commitments.c.id)
            )
            return [_call(row) for row in rows]

    def submit(
        self, old: Sequence[LicenceCall], tx_hash: bytes, nonce: int, now: str
    ) -> list[LicenceCall]:
        """pending -> submitted, one transaction for all of `old`: record it before sending."""
        if any(call.status is not CallStatus.PENDING for call in old):
            raise StoreError("only pending registry calls can be submitted")
        return self._move(
            old,
            now,
            new_attempt=True,
            status=CallStatus.SUBMITTED.value,
            tx_hash=tx_hash,
            nonce=nonce,
            last_error=None,
            block_number=None,
        )

    def confirm(
        self, old: Sequence[LicenceCall], tx_hash: bytes, block_number: int, now: str
    ) -> list[LicenceCall]:
        """-> confirmed in `block_number` by transaction `tx_hash`."""
        return self._move(
            old,
            now,
            status=CallStatus.CONFIRMED.value,
            tx_hash=tx_hash,
            block_number=block_number,
            last_error=None,
        )

    def reopen(self, old: Sequence[LicenceCall], error: str, now: str) -> list[LicenceCall]:
        """submitted -> pending: the transaction was dropped, refused or failed (or
        confirmed -> pending: the chain no longer holds it). The tx hash and nonce of the
        lost attempt stay for the record."""
        return self._move(
            old, now, status=CallStatus.PENDING.value, last_error=error, block_number=None
        )

    def fail(self, old: Sequence[LicenceCall], error: str, now: str) -> list[LicenceCall]:
        """pending (or submitted) -> failed, for good, with the reason."""
        if any(call.status is CallStatus.CONFIRMED for call in old):
            raise StoreError("a confirmed registry call cannot fail")
        return self._move(old, now, status=CallStatus.FAILED.value, last_error=error)

    def note_error(self, old: Sequence[LicenceCall], error: str, now: str) -> list[LicenceCall]:
        """Keep the latest error on calls without changing their state."""
        return self._move(old, now, last_error=error)
