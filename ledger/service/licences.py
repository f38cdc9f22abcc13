"""Licences: grant, amend, revoke, and what a licence's state is (docs/api.md, docs/records.md).

A licence is a series of `licence` records in the log under one licence id: a grant,
amendments (each a new grant that supersedes the one before), and at most one
revocation. Each grant or amend record is a commitment, its leaf hash, which the
LicenceRegistry contract holds with the validity window in unix seconds; an amendment
also revokes the commitment it supersedes, so a licensee holding an old record sees it
revoked on chain. The licensee keeps the current record: with it and an RPC endpoint,
`mledger licence check` reads the licence's status from the chain (`ledger.verify.licence`).

Validity windows count whole seconds on chain (the record's milliseconds are dropped):
a licence is active from `valid_from` included to `valid_until` excluded. A window the
registry cannot hold is refused when the licence is granted, before anything is
stored: one that starts before 1970-01-01T00:00:00Z (the registry counts unsigned unix
seconds), ends after REGISTRY_MAX_TIME, or is shorter than one whole second. The service
decides a licence's status by its own clock, the chain by the time of its latest block.

Registry calls go to the chain later, batched, by `ledger.service.licence_issuer`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from ledger.core.records import Entry, RecordError, parse_object
from ledger.errors import LedgerError, NotFoundError
from ledger.store.anchors import Deployment
from ledger.store.licences import CallAction, CallStatus, LicenceCall, LicenceRepository, NewCall
from ledger.store.repository import Store
from ledger.verify.licence import unix_seconds

LicenceStatus = Literal[
    "active", "expired", "revoked", "not_yet_valid", "grant_failed", "revoke_failed"
]

REGISTRY_MAX_TIME = 2**40 - 1
"""The latest end of a validity window the LicenceRegistry holds (its MAX_TIME), in unix
seconds: 36812-02-20. A test reads it from the contract."""


def window_problem(valid_from: int, valid_until: int) -> tuple[str, str] | None:
    """Why the LicenceRegistry would refuse the validity window (unix seconds, the end
    excluded), as (field of the licence body, message); None if it holds it."""
    if valid_from < 0:
        return (
            "valid_from",
            "must not be before 1970-01-01T00:00:00Z: the registry counts seconds from then",
        )
    if valid_until > REGISTRY_MAX_TIME:
        return (
            "valid_until",
            f"must not be after {REGISTRY_MAX_TIME} unix seconds (2^40 - 1): the registry's limit",
        )
    if valid_until <= valid_from:
        return (
            "valid_until",
            "must be at least one whole second after valid_from (the registry counts seconds)",
        )
    return None


class LicenceConflictError(LedgerError):
    """The licence's state refuses the request (granted twice, amended after a
    revocation, another licensee...)."""


@dataclass(frozen=True)
class Appended:
    """A licence record just stored: the entry and its arrival number."""

    entry: Entry
    seq: int


@dataclass(frozen=True)
class Licence:
    """A licence as its registry calls describe it."""

    licence_id: str
    licensee: str
    grant: LicenceCall
    """The grant call of the current commitment (the latest grant or amend record)."""
    revocation: LicenceCall | None
    """The revoke call of the current commitment, if the licence was revoked."""
    calls: list[LicenceCall]
    """Every registry call of the licence, oldest first."""

    @property
    def commitment(self) -> bytes:
        """The current commitment: the leaf hash of the latest grant or amend record."""
        return self.grant.commitment

    def status(self, now: int) -> LicenceStatus:
        """The status at unix time `now` (seconds). A registry call the chain refused for
        good comes first: ``grant_failed`` (the registry does not hold the current
        commitment, so no licensee check finds it active) or ``revoke_failed`` (the log
        revoked it, the registry still holds it as granted); `failure` says why."""
        assert self.grant.valid_from is not None and self.grant.valid_until is not None
        if self.grant.status is CallStatus.FAILED:
            return "grant_failed"
        if self.revocation is not None and self.revocation.status is CallStatus.FAILED:
            return "revoke_failed"
        if self.revocation is not None:
            return "revoked"
        if now < self.grant.valid_from:
            return "not_yet_valid"
        if now >= self.grant.valid_until:
            return "expired"
        return "active"

    @property
    def failure(self) -> str | None:
        """Why the current grant's or revocation's registry call failed (None: neither did)."""
        for call in (self.grant, self.revocation):
            if call is not None and call.status is CallStatus.FAILED:
                return call.last_error or "refused by the registry (no reason kept)"
        return None


def _licence(licence_id: str, calls: list[LicenceCall]) -> Licence | None:
    grants = [call for call in calls if call.action is CallAction.GRANT]
    if not grants:
        return None
    current = grants[-1]
    revocation = next(
        (c for c in calls if c.action is CallAction.REVOKE and c.commitment == current.commitment),
        None,
    )
    return Licence(licence_id, current.licensee, current, revocation, calls)


def read_licence(repo: LicenceRepository, licence_id: str) -> Licence:
    """The licence `licence_id`; NotFoundError if none was granted."""
    found = _licence(licence_id, repo.calls(licence_id))
    if found is None:
        raise NotFoundError(f"no licence has id {licence_id!r}")
    return found


def _licence_entry(document: Any, ts: str | None) -> tuple[Entry, dict[str, Any]]:
    """A licence record from an envelope or a bare body; the entry and its body."""
    if not isinstance(document, dict):
        raise RecordError(
            "", "a licence must be a JSON object: a licence record, or the body of one"
        )
    envelope = document if "body" in document else {"v": 1, "kind": "licence", "body": document}
    if envelope.get("kind", "licence") != "licence":
        raise RecordError("kind", f"must be 'licence', not {envelope.get('kind')!r}")
    if envelope.get("v") == 2 and envelope.get("v") is not True:
        # The registry holds the commitment of the whole record, which a licensee
        # proves by showing it whole: a licence has nothing to withhold from its holder.
        raise RecordError("v", "licence records are v1: their commitment is registered whole")
    entry = parse_object(envelope, ts=ts)
    body: dict[str, Any] = json.loads(entry.canonical)["body"]
    return entry, body


def grant(repo: LicenceRepository, document: Any, *, ts: str | None = None, now: str) -> Appended:
    """Store a grant or amend record (an envelope or its body) and queue its registry
    calls: grant of its commitment, and for an amendment, revoke of the one it supersedes.

    Raises RecordError for an invalid record (a validity window the registry cannot
    hold included), NotFoundError for an amendment of an unknown licence,
    LicenceConflictError when the licence's state refuses it; then nothing is stored.
    """
    entry, body = _licence_entry(document, ts)
    action = body["action"]
    if action == "revoke":
        raise RecordError("body.action", "a revocation is not granted: revoke the licence instead")
    valid_from, valid_until = unix_seconds(body["valid_from"]), unix_seconds(body["valid_until"])
    problem = window_problem(valid_from, valid_until)
    if problem is not None:
        field, message = problem
        raise RecordError(f"body.{field}", message)
    licence_id, licensee = body["licence_id"], body["licensee"]
    new_grant = NewCall(CallAction.GRANT, entry.leaf_hash, valid_from, valid_until)

    def plan(calls: list[LicenceCall]) -> list[NewCall]:
        current = _licence(licence_id, calls)
        if action == "grant":
            if current is not None:
                raise LicenceConflictError(
                    f"licence {licence_id!r} exists already: send action 'amend' to change it"
                )
            return [new_grant]
        if current is None:
            raise NotFoundError(
                f"no licence has id {licence_id!r}: grant it first (action 'grant')"
            )
        if current.revocation is not None:
            raise LicenceConflictError(f"licence {licence_id!r} was revoked: it cannot be amended")
        if current.licensee != licensee:
            raise LicenceConflictError(
                f"licence {licence_id!r} belongs to licensee {current.licensee!r},"
                f" not {licensee!r}: an amendment keeps the licensee"
            )
        return [new_grant, NewCall(CallAction.REVOKE, current.commitment)]

    return Appended(entry, repo.append(entry, licence_id, licensee, plan, now))


def revoke(
    repo: LicenceRepository,
    licence_id: str,
    reason: str | None = None,
    *,
    ts: str | None = None,
    now: str,
) -> Appended:
    """Store a revoke record for licence `licence_id` and queue the revocation of its
    current commitment. NotFoundError for an unknown licence, LicenceConflictError for
    one revoked already."""
    licensee = read_licence(repo, licence_id).licensee
    body: dict[str, Any] = {"action": "revoke", "licence_id": licence_id, "licensee": licensee}
    if reason is not None:
        body["reason"] = reason
    entry = parse_object({"v": 1, "kind": "licence", "body": body}, ts=ts)

    def plan(calls: list[LicenceCall]) -> list[NewCall]:
        current = _licence(licence_id, calls)
        assert current is not None  # licences are never deleted
        if current.revocation is not None:
            raise LicenceConflictError(f"licence {licence_id!r} was revoked already")
        return [NewCall(CallAction.REVOKE, current.commitment)]

    return Appended(entry, repo.append(entry, licence_id, licensee, plan, now))


# -- how a licence is shown ----------------------------------------------------------------


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _record(store: Store, leaf_hash: bytes) -> dict[str, Any]:
    with store.read() as conn:
        entry = store.find_entry(conn, leaf_hash)
    if entry is None:  # the record and its calls are stored in one transaction
        raise LedgerError(
            f"licence record {_hex(leaf_hash)} is missing from the log: the store is damaged"
        )
    record: dict[str, Any] = json.loads(entry.record)
    return record


def _call_view(call: LicenceCall | None) -> dict[str, Any] | None:
    if call is None:
        return None
    return {
        "status": call.status.value,
        "tx_hash": None if call.tx_hash is None else _hex(call.tx_hash),
        "block_number": call.block_number,
        "last_error": call.last_error,
    }


def registry_view(deployment: Deployment | None) -> dict[str, Any] | None:
    """Where the licence's commitment lives on chain: {chain_id, contract}, if deployed."""
    if deployment is None or deployment.registry is None:
        return None
    return {"chain_id": deployment.chain_id, "contract": _hex(deployment.registry)}


def licence_view(
    store: Store, deployment: Deployment | None, licence: Licence, now: int
) -> dict[str, Any]:
    """A licence as the API and the CLI show it. `record` is the current grant or amend
    record, the document the licensee keeps; `registry` tells where to check it;
    `status_reason` why the status is ``grant_failed`` or ``revoke_failed``."""
    record = _record(store, licence.commitment)
    revocation = licence.revocation
    revoked = None
    if revocation is not None:
        revoke_record = _record(store, revocation.record_hash)
        revoked = {
            "leaf_hash": _hex(revocation.record_hash),
            "ts": revoke_record["ts"],
            "reason": revoke_record["body"].get("reason"),
        }
    return {
        "licence_id": licence.licence_id,
        "licensee": licence.licensee,
        "status": licence.status(now),
        "status_reason": licence.failure,
        "valid_from": record["body"]["valid_from"],
        "valid_until": record["body"]["valid_until"],
        "commitment": _hex(licence.commitment),
        "record": record,
        "registry": registry_view(deployment),
        "on_chain": {"grant": _call_view(licence.grant), "revoke": _call_view(revocation)},
        "revoked": revoked,
        "history": [
            {
                "action": call.action.value,
                "commitment": _hex(call.commitment),
                "record_hash": _hex(call.record_hash),
                "status": call.status.value,
            }
            for call in licence.calls
        ],
    }
