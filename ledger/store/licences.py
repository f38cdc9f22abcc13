"""All SQL of licences: licence records entering the log with their registry calls, and
those calls' state machine on their way to the chain.

A licence's records (grant, amend, revoke) are entries of the log like any other. Next
to them, the chain outbox (`chain_calls`, `ledger.store.outbox`) holds one row per call
the LicenceRegistry must receive:
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
  by the outbox's compare-and-swap on its previous state (status, attempts, tx hash,
  block hash): an issuer acting on a stale view gets `StaleLicenceCallError` and changes
  nothing. Rows sent in one transaction move together, all or none. A failed row stays
  failed: the issuer sends it no more, and its `last_error` says why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ledger.core.records import Entry
from ledger.errors import LedgerError
from ledger.store.outbox import (
    CallKind,
    CallStatus,
    ChainCall,
    Outbox,
    StaleCallError,
    call_fields,
    optional_int,
)
from ledger.store.repository import INGEST_LOCK, Store
from ledger.store.schema import chain_calls, entries

__all__ = [
    "CallAction",
    "CallStatus",
    "IssuerState",
    "LicenceCall",
    "LicenceRepository",
    "NewCall",
    "StaleLicenceCallError",
]

_LICENCE_LOCK = int.from_bytes(
    hashlib.sha256(b"model-ledger/licences").digest()[:8], "big", signed=True
)
"""PostgreSQL advisory lock serialising licence writes (SQLite has one writer anyway)."""


class CallAction(StrEnum):
    """Which LicenceRegistry function a row calls."""

    GRANT = "grant"
    REVOKE = "revoke"


StaleLicenceCallError = StaleCallError
"""A registry call row changed under us (another issuer moved it first)."""


@dataclass(frozen=True)
class LicenceCall(ChainCall):
    """One registry call row."""

    licence_id: str
    licensee: str
    action: CallAction
    commitment: bytes
    record_hash: bytes
    valid_from: int | None
    valid_until: int | None

    def describe(self) -> str:
        return f"{self.action.value} of 0x{self.commitment.hex()}"


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


def _call(row: Row[Any]) -> LicenceCall:
    return LicenceCall(
        **call_fields(row),
        licence_id=row.licence_id,
        licensee=row.licensee,
        action=CallAction(row.kind),
        commitment=bytes(row.commitment),
        record_hash=bytes(row.record_hash),
        valid_from=optional_int(row.valid_from),
        valid_until=optional_int(row.valid_until),
    )


_LICENCE_KINDS = [CallKind.GRANT, CallKind.REVOKE]
_IS_LICENCE: ColumnElement[bool] = chain_calls.c.kind.in_([k.value for k in _LICENCE_KINDS])


class LicenceRepository:
    """Licence records and registry calls on the log's store (SQLite or PostgreSQL)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.outbox = Outbox(store, _LICENCE_KINDS, _call, "registry call")

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
                        insert(chain_calls),
                        [
                            {
                                "kind": call.action.value,
                                "licence_id": licence_id,
                                "licensee": licensee,
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
                f"record 0x{entry.leaf_hash.hex()} is in the log already (or its"
                " registry call is queued): send a new record (a fresh salt)"
            ) from None
        return seq

    def _calls(self, conn: Connection, licence_id: str) -> list[LicenceCall]:
        rows = conn.execute(
            select(chain_calls)
            .where(chain_calls.c.licence_id == licence_id)
            .order_by(chain_calls.c.id)
        )
        return [_call(row) for row in rows]

    def licence_ids(self, licensee: str | None, after: str | None, limit: int) -> list[str]:
        """Ids of licences (of `licensee`, or every licence), in id order, after `after`."""
        query = select(chain_calls.c.licence_id).where(_IS_LICENCE).distinct()
        if licensee is not None:
            query = query.where(chain_calls.c.licensee == licensee)
        if after is not None:
            query = query.where(chain_calls.c.licence_id > after)
        query = query.order_by(chain_calls.c.licence_id).limit(limit)
        with self.store.read() as conn:
            return [row[0] for row in conn.execute(query)]

    def calls(self, licence_id: str) -> list[LicenceCall]:
        """Every registry call of a licence, oldest first."""
        with self.store.read() as conn:
            return self._calls(conn, licence_id)

    # -- the issuer's queue --------------------------------------------------------------

    def submitted(self) -> list[LicenceCall]:
        """Submitted calls, oldest first."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(chain_calls)
                .where(_IS_LICENCE, chain_calls.c.status == CallStatus.SUBMITTED.value)
                .order_by(chain_calls.c.id)
            )
            return [_call(row) for row in rows]

    def pending_grants(self, limit: int) -> list[LicenceCall]:
        """Up to `limit` pending grant calls, oldest first."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(chain_calls)
                .where(
                    chain_calls.c.status == CallStatus.PENDING.value,
                    chain_calls.c.kind == CallAction.GRANT.value,
                )
                .order_by(chain_calls.c.id)
                .limit(limit)
            )
            return [_call(row) for row in rows]

    def ready_revokes(self, limit: int) -> list[LicenceCall]:
        """Up to `limit` pending revoke calls whose commitment's grant is confirmed."""
        return self._pending_revokes(CallStatus.CONFIRMED, limit)

    def stranded_revokes(self, limit: int) -> list[LicenceCall]:
        """Up to `limit` pending revoke calls whose commitment's grant failed: never
        granted, it can never be revoked either."""
        return self._pending_revokes(CallStatus.FAILED, limit)

    def _pending_revokes(self, grant_status: CallStatus, limit: int) -> list[LicenceCall]:
        """Up to `limit` pending revoke calls whose commitment's grant is `grant_status`,
        oldest first."""
        granted = aliased(chain_calls)
        with self.store.read() as conn:
            rows = conn.execute(
                select(chain_calls)
                .join(
                    granted,
                    and_(
                        granted.c.commitment == chain_calls.c.commitment,
                        granted.c.kind == CallAction.GRANT.value,
                    ),
                )
                .where(
                    chain_calls.c.status == CallStatus.PENDING.value,
                    chain_calls.c.kind == CallAction.REVOKE.value,
                    granted.c.status == grant_status.value,
                )
                .order_by(chain_calls.c.id)
                .limit(limit)
            )
            return [_call(row) for row in rows]

    def grant_of(self, commitment: bytes) -> LicenceCall | None:
        """The grant call of `commitment`, if one is queued or done."""
        with self.store.read() as conn:
            row = conn.execute(
                select(chain_calls).where(
                    chain_calls.c.commitment == commitment,
                    chain_calls.c.kind == CallAction.GRANT.value,
                )
            ).first()
            return None if row is None else _call(row)

    def issuer_state(self) -> IssuerState:
        """Pending, submitted and failed calls, and the latest error of one not confirmed."""
        counts = self.count_by_status()
        with self.store.read() as conn:
            last_error = conn.execute(
                select(chain_calls.c.last_error)
                .where(
                    _IS_LICENCE,
                    chain_calls.c.status != CallStatus.CONFIRMED.value,
                    chain_calls.c.last_error.is_not(None),
                )
                .order_by(chain_calls.c.updated_at.desc(), chain_calls.c.id.desc())
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
        call = chain_calls
        later = aliased(chain_calls)
        grant_of = aliased(chain_calls)
        superseded = (
            select(later.c.id)
            .where(
                later.c.licence_id == call.c.licence_id,
                later.c.kind == CallAction.GRANT.value,
                later.c.id > call.c.id,
            )
            .exists()
        )
        never_granted = (
            select(grant_of.c.id)
            .where(
                grant_of.c.commitment == call.c.commitment,
                grant_of.c.kind == CallAction.GRANT.value,
                grant_of.c.status == CallStatus.FAILED.value,
            )
            .exists()
        )
        with self.store.read() as conn:
            count = conn.execute(
                select(func.count())
                .select_from(call)
                .where(
                    _IS_LICENCE,
                    call.c.status == CallStatus.FAILED.value,
                    ~and_(call.c.kind == CallAction.GRANT.value, superseded),
                    ~and_(call.c.kind == CallAction.REVOKE.value, never_granted),
                )
            ).scalar()
        return int(count or 0)

    def count_by_status(self) -> dict[CallStatus, int]:
        """How many calls are in each state."""
        return self.outbox.count_by_status(list(CallStatus))

    # -- transitions (the outbox's) ---------------------------------------------------------

    def submit(
        self, old: Sequence[LicenceCall], tx_hash: bytes, nonce: int, now: str
    ) -> list[LicenceCall]:
        """pending -> submitted, one transaction for all of `old`: record it before sending."""
        return self.outbox.submit(old, tx_hash, nonce, now)

    def confirm(
        self, old: Sequence[LicenceCall], tx_hash: bytes, block_number: int, now: str
    ) -> list[LicenceCall]:
        """-> confirmed in `block_number` by transaction `tx_hash`."""
        return self.outbox.confirm(old, tx_hash, block_number, now)

    def reopen(self, old: Sequence[LicenceCall], error: str, now: str) -> list[LicenceCall]:
        """submitted -> pending: the transaction was dropped, refused or failed (or
        confirmed -> pending: the chain no longer holds it). The tx hash and nonce of the
        lost attempt stay for the record."""
        return self.outbox.reopen(old, error, now)

    def fail(self, old: Sequence[LicenceCall], error: str, now: str) -> list[LicenceCall]:
        """pending (or submitted) -> failed, for good, with the reason."""
        return self.outbox.fail(old, error, now)

    def note_error(self, old: Sequence[LicenceCall], error: str, now: str) -> list[LicenceCall]:
        """Keep the latest error on calls without changing their state."""
        return self.outbox.note_error(old, error, now)
