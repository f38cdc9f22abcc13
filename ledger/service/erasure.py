"""Erasure, retention and legal holds (docs/privacy.md).

Erasing entries destroys their stored openings (record bytes with the salt and every
value, and the lookup columns copied from them) and keeps their leaf hashes, so every
tile, proof, anchor and audit still holds. Each erasure, hold and lift is logged: a
`digest` record commits to a statement (`ledger.formats.statement`) that says what was
done and why, never the personal data.

Steps, in crash order:

1. One transaction: choose the entries (sequenced, not erased, under no active hold),
   store the digest record that logs the erasure with its statement, destroy the
   openings and file their index postings by key hash. A crash before the commit
   changes nothing; after it, the erasure is done and logged.
2. Scrub (`ErasureStore.scrub`): SQLite's WAL is checkpointed and truncated (pages are
   zeroed on free by secure_delete); PostgreSQL runs VACUUM on the tables touched, or
   VACUUM FULL when asked (the only way its files lose the old bytes). Step 1 records
   the scrub as owed (`scrub_pending`); only a scrub that completes fully forgets it. A
   crash before it (fault point ``erase.after_commit``) leaves the old bytes where the
   database keeps freed space, and the record: the service's next start
   (`finish_owed_scrub`), the next erasure, or one that finds nothing to erase (a
   retention run, `mledger erase`) runs the scrub.

Retention (`retention_days` in ledger.config) is an erasure by time that the runtime
runs on a schedule, with the criterion "retention".
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger import faults
from ledger.config import MIN_RETENTION_DAYS
from ledger.core.index import STATEMENT_KEY, key_hash, record_keys
from ledger.core.records import (
    Entry,
    RecordError,
    canonical_time,
    now_ts,
    parse_object,
)
from ledger.errors import InvalidRequestError, LedgerError, NotFoundError
from ledger.formats.statement import (
    HOLD_SCOPES,
    Criterion,
    erasure_statement,
    hold_statement,
    leaves_digest,
    leaves_root,
    lift_statement,
    statement_bytes,
    statement_salt,
    statement_sha256,
)
from ledger.store.erasure import (
    ERASABLE_KINDS,
    SCRUB_PATIENCE,
    ErasureStore,
    Hold,
    Target,
)
from ledger.store.index import IndexStore
from ledger.store.repository import Store

MAX_REASON = 1024
"""Longest reason text."""

PERSONAL_KEY_KINDS = {
    "account": ("interaction", "account_id"),
    "licensee": ("licence", "account_id"),
}
"""Index key kinds whose text is forgotten once no entry holds the value any more."""


class HoldError(LedgerError):
    """A hold request the hold's state refuses (already lifted, unknown)."""


@dataclass(frozen=True)
class Erasure:
    """What one erasure did."""

    criterion: Criterion
    count: int
    leaves_sha256: bytes
    record: bytes | None
    """Leaf hash of the digest record that logs it (None: nothing to erase, nothing logged)."""
    statement: dict[str, Any] | None
    held: int
    """Entries chosen by the criterion that a hold kept."""
    scrubbed: str

    def as_json(self) -> dict[str, Any]:
        """As the CLI prints it and the API returns it."""
        return {
            "criterion": self.criterion,
            "erased": self.count,
            "held": self.held,
            "leaves_sha256": "0x" + self.leaves_sha256.hex(),
            "record": None if self.record is None else "0x" + self.record.hex(),
            "statement": self.statement,
            "scrubbed": self.scrubbed,
        }


def check_reason(reason: str) -> str:
    """A reason must say something and be short enough for a record."""
    reason = reason.strip()
    if not reason:
        raise InvalidRequestError("reason must not be empty: say why (it is logged)")
    if len(reason) > MAX_REASON:
        raise InvalidRequestError(f"reason is {len(reason)} characters; at most {MAX_REASON}")
    return reason


def _digest_entry(statement: dict[str, Any], ts: str) -> Entry:
    """The log's own statement record of `statement`: its salt is `statement_salt`."""
    sha256 = statement_sha256(statement)
    salt = statement_salt(sha256)
    return parse_object(
        {"v": 1, "kind": "digest", "ts": ts, "salt": salt, "body": {"sha256": sha256}}
    )


def _log_statement(
    store: Store, erasures: ErasureStore, conn: Any, kind: str, statement: dict[str, Any]
) -> bytes:
    """Store the digest record of `statement` and the statement; its leaf hash."""
    entry = _digest_entry(statement, statement["ts"])
    store.lock_ingest(conn)
    store.insert_entries(conn, [entry])
    erasures.add_statement(conn, entry.leaf_hash, kind, statement["ts"], statement_bytes(statement))
    return entry.leaf_hash


def _personal_values(targets: Sequence[Target]) -> dict[str, set[str]]:
    """Per personal key kind, the values `targets` hold in its column (each such entry is
    filed under "kind:value")."""
    values: dict[str, set[str]] = {}
    for kind, (record_kind, column) in PERSONAL_KEY_KINDS.items():
        at = Target._fields.index(column)
        values[kind] = {str(t[at]) for t in targets if t.kind == record_kind}
    return values


def erase(
    store: Store,
    criterion: Criterion,
    reason: str,
    *,
    account: str | None = None,
    leaves: Sequence[bytes] = (),
    before: str | None = None,
    vacuum_full: bool = False,
    scrub_patience: float = SCRUB_PATIENCE,
    clock: Any = now_ts,
) -> Erasure:
    """Erase the entries `criterion` chooses (see the module's steps); log it with
    `reason`. Nothing chosen: nothing is logged. InvalidRequestError for a bad request.
    On PostgreSQL `vacuum_full` rewrites the tables after, and the scrub waits up to
    `scrub_patience` seconds for open transactions that still see the erased rows (see
    `ErasureStore.scrub`). Nothing chosen: the scrub an earlier erasure still owes runs
    (`finish_owed_scrub`; `scrubbed` says so)."""
    reason = check_reason(reason)
    erasures = ErasureStore(store)
    if before is not None:
        try:
            before = canonical_time(before, "before")
        except RecordError as error:
            raise InvalidRequestError(str(error)) from None
    with store.transaction() as conn:
        erasures.serialize(conn)
        if criterion == "account":
            if not account:
                raise InvalidRequestError("an account erasure needs the account id")
            targets = erasures.by_account(conn, account)
            held = erasures.held_of_account(conn, account)
        elif criterion == "leaves":
            if not leaves:
                raise InvalidRequestError("a leaf erasure needs at least one leaf hash")
            _known_leaves(store, conn, leaves)
            targets = erasures.by_leaves(conn, leaves)
            held = erasures.held_of_leaves(conn, leaves)
        else:
            if before is None:
                raise InvalidRequestError(f"a {criterion} erasure needs a time")
            targets = erasures.before(conn, before)
            held = erasures.held_before(conn, before)
        digest = leaves_digest(target.leaf_hash for target in targets)
        if targets:
            ts = clock()
            logged, statement = _erase_chosen(
                store, erasures, conn, targets, (criterion, reason, ts, before, digest), vacuum_full
            )
    if not targets:
        owed = finish_owed_scrub(store, scrub_patience)
        said = "nothing erased" if owed is None else f"nothing erased; {owed}"
        return Erasure(criterion, 0, digest, None, None, held, said)
    faults.point("erase.after_commit")
    scrubbed = erasures.scrub(vacuum_full, scrub_patience)
    return Erasure(criterion, len(targets), digest, logged, statement, held, scrubbed)


def _erase_chosen(
    store: Store,
    erasures: ErasureStore,
    conn: Any,
    targets: Sequence[Target],
    what: tuple[Criterion, str, str, str | None, bytes],
    vacuum_full: bool,
) -> tuple[bytes, dict[str, Any]]:
    """In the erasure's transaction: log the erasure of `targets` (`what`: criterion,
    reason, time, cutoff, leaves digest), destroy their openings, forget the personal key
    texts no entry holds any more, and record the scrub it owes. The leaf hash of its
    record and its statement."""
    criterion, reason, ts, before, digest = what
    indices = IndexStore(store).leaves_of_seqs(conn, [target.seq for target in targets])
    root = leaves_root(zip(indices, (target.leaf_hash for target in targets), strict=True))
    statement = erasure_statement(criterion, reason, len(targets), digest, ts, before, root)
    logged = _log_statement(store, erasures, conn, "erasure", statement)
    personal = _personal_values(targets)
    erasures.erase(conn, targets, ts, logged)
    gone = []
    for kind, (record_kind, column) in PERSONAL_KEY_KINDS.items():
        values = sorted(personal[kind])
        live = erasures.live_values(conn, record_kind, column, values)
        gone += [key_hash(f"{kind}:{value}") for value in values if value not in live]
    erasures.blank_key_texts(conn, gone)
    erasures.owe_scrub(conn, logged, ts, vacuum_full)
    return logged, statement


def finish_owed_scrub(store: Store, patience: float = SCRUB_PATIENCE) -> str | None:
    """Run the scrub that committed erasures still owe (their process was killed between
    the commit and the scrub): what it did, None when none is owed. Run at the service's
    start and by every erasure that finds nothing to erase (a retention run)."""
    erasures = ErasureStore(store)
    owed = erasures.owed_scrub()
    if owed is None:
        return None
    said = erasures.scrub(owed.vacuum_full, patience)
    return f"the scrub owed since {owed.since} by an erasure's crash: {said}"


def _known_leaves(store: Store, conn: Any, leaves: Sequence[bytes]) -> None:
    """Every leaf hash must name a sequenced, erasable entry (NotFoundError naming the
    first that does not; InvalidRequestError for one of the log's statement records)."""
    erasures = ErasureStore(store)
    for leaf in leaves:
        entry = store.find_entry(conn, leaf)
        if erasures.statement(conn, leaf) is not None or (
            entry is not None
            and entry.record
            and STATEMENT_KEY in record_keys(json.loads(entry.record))
        ):
            raise InvalidRequestError(
                f"entry 0x{leaf.hex()} is the log's own record of an erasure or a legal hold:"
                " it holds no personal data and is never erased (the index files it under"
                f" {STATEMENT_KEY}, and `mledger audit` fails a log that erased one);"
                " nothing was erased"
            )
        if entry is None:
            raise NotFoundError(f"no entry has leaf hash 0x{leaf.hex()}: nothing was erased")
        if entry.kind not in ERASABLE_KINDS:
            raise InvalidRequestError(
                f"entry 0x{leaf.hex()} is a {entry.kind} record: only"
                f" {' and '.join(ERASABLE_KINDS)} records are erased (docs/privacy.md);"
                " nothing was erased"
            )
        if entry.leaf_index is None:
            raise InvalidRequestError(
                f"entry 0x{leaf.hex()} is pending: seal it before erasing it; nothing was erased"
            )


def retention_cutoff(days: int, now: datetime | None = None) -> str:
    """The record time before which entries are older than `days` days."""
    moment = (now or datetime.now(UTC)) - timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def check_retention(days: int, force: bool) -> None:
    """Refuse a retention shorter than MIN_RETENTION_DAYS unless forced."""
    if days < 1:
        raise InvalidRequestError(f"retention must be at least 1 day, got {days}")
    if days < MIN_RETENTION_DAYS and not force:
        raise InvalidRequestError(
            f"retention of {days} days is shorter than {MIN_RETENTION_DAYS} (six months, the"
            " EU AI Act's minimum for logs of high-risk systems): force it to use it"
        )


def apply_retention(
    store: Store, days: int, force: bool = False, vacuum_full: bool = False
) -> Erasure:
    """Erase every entry older than `days` days (the retention schedule's one step)."""
    check_retention(days, force)
    cutoff = retention_cutoff(days)
    return erase(
        store,
        "retention",
        f"retention period of {days} days ended",
        before=cutoff,
        vacuum_full=vacuum_full,
    )


# -- legal holds ------------------------------------------------------------------------


def add_hold(store: Store, scope: str, value: str, reason: str, clock: Any = now_ts) -> Hold:
    """Place a legal hold on an account or a licence, logged."""
    reason = check_reason(reason)
    if scope not in HOLD_SCOPES:
        raise InvalidRequestError(f"hold scope must be one of {', '.join(HOLD_SCOPES)}")
    if not value or len(value) > 256:
        raise InvalidRequestError(f"the held {scope} id must have 1 to 256 characters")
    erasures = ErasureStore(store)
    hold_id = "hold-" + secrets.token_hex(8)
    ts = clock()
    statement = hold_statement(hold_id, scope, key_hash(f"{scope}:{value}"), reason, ts)
    with store.transaction() as conn:
        erasures.serialize(conn)
        logged = _log_statement(store, erasures, conn, "hold", statement)
        hold = Hold(hold_id, scope, value, reason, ts, logged, None, None)
        erasures.add_hold(conn, hold)
    return hold


def lift_hold(store: Store, hold_id: str, reason: str, clock: Any = now_ts) -> Hold:
    """Lift an active hold, logged."""
    reason = check_reason(reason)
    erasures = ErasureStore(store)
    ts = clock()
    with store.transaction() as conn:
        erasures.serialize(conn)
        hold = erasures.hold(conn, hold_id)
        if hold is None:
            raise NotFoundError(f"no legal hold has id {hold_id!r}")
        if hold.lifted_at is not None:
            raise HoldError(f"legal hold {hold_id} was already lifted at {hold.lifted_at}")
        logged = _log_statement(store, erasures, conn, "lift", lift_statement(hold_id, reason, ts))
        erasures.lift_hold(conn, hold_id, ts, logged)
        lifted = erasures.hold(conn, hold_id)
    assert lifted is not None
    return lifted


def list_holds(store: Store, active_only: bool = False) -> list[Hold]:
    """Every legal hold, oldest first."""
    with store.read() as conn:
        return ErasureStore(store).holds(conn, active_only=active_only)


def hold_json(hold: Hold) -> dict[str, Any]:
    """A hold as the CLI prints it and the API returns it."""
    return {
        "id": hold.id,
        "scope": hold.scope,
        "value": hold.value,
        "reason": hold.reason,
        "created_at": hold.created_at,
        "record": "0x" + hold.added_by.hex(),
        "lifted_at": hold.lifted_at,
        "lift_record": None if hold.lifted_by is None else "0x" + hold.lifted_by.hex(),
    }
