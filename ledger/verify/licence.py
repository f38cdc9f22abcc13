"""Checking a licence with nothing but its record, the chain and the pinned log identity.

A licensee keeps its licence record (the `record` of ``GET /v1/licences/{id}``, or that
whole response, which also names the registry) and the log identity its operator
published (`mledger identity`). `check_licence` recomputes the record's commitment, its
leaf hash ``SHA-256(0x00 || RFC8785(record))``, and reads ``status(commitment)`` from the
pinned LicenceRegistry with one plain JSON-RPC ``eth_call`` at the latest block: the
operator's service is never asked. Before that it checks that the node serves the
pinned chain, that the document names no other registry, and that the code at the
pinned address is the LicenceRegistry runtime code this package ships (a look-alike
contract could answer "active" for anything). The licence is valid only when the chain
says active, names the pinned log key (`log_signer`) as the issuer that signed the
grant, and holds the same validity window as the record. A registry's one issuer key
is fixed when it is deployed; a registry whose issuer is any other key (one deployed
by a leaked gas key, say) holds grants that are not the log's licences, whatever their
status: they fail naming the field "issuer".

A revoked licence's ``GET /v1/licences/{id}`` answer also carries the revoke record's
evidence bundle (`revoked.evidence`). When the chain says revoked, that bundle is verified
like any other (in the log, anchored on the pinned chain) and its record must be the
revoke record of this licence whose leaf hash the registry's Revoked event names: then
the reason in it is the one the log key signed when it revoked the licence ("matches the
registry"). A bundle that fails any of this fails the check naming the field
"revocation".

Imports nothing from the store, the API or web3.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ledger.core.errors import LedgerError
from ledger.core.records import RecordError, parse_object
from ledger.formats.abi import contract as shipped_contract
from ledger.formats.bundle import Bundle
from ledger.formats.identity import LogIdentity
from ledger.formats.producer import producer
from ledger.formats.strict_json import StrictJsonError, load_strict
from ledger.verify.bundle import verify_bundle
from ledger.verify.result import ChainReadError, VerificationError
from ledger.verify.rpc import ChainUnreadableError, ContractCallError, JsonRpcReader

STATES = ("unknown", "not_yet_valid", "active", "expired", "revoked")
"""The contract's `Status` enum, by value."""

MAX_LICENCE_BYTES = 4 * 1024 * 1024
"""Largest licence document read (a GET /v1/licences/{id} response with its evidence)."""


def unix_seconds(ts: str) -> int:
    """A record timestamp (``2026-06-05T12:00:00.123Z``) in whole unix seconds, rounded
    down: how the registry holds a validity window."""
    return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))


class LicenceCheckError(LedgerError):
    """The check could not be made; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LicenceFileError(LicenceCheckError):
    """The licence document is unreadable or not a licence grant."""


class LicenceMismatchError(LicenceCheckError):
    """The licence is not about the pinned log, or the chain's contract is not the
    pinned LicenceRegistry: nothing it says can be trusted. `field` names what differs."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class LicenceChainError(LicenceCheckError):
    """The chain could not be read: the licence is neither confirmed nor refuted."""


@dataclass(frozen=True)
class LicenceDocument:
    """What a licence file holds: the record, its commitment, and the registry it names
    (if it is a ``GET /v1/licences/{id}`` response)."""

    record: dict[str, Any]
    commitment: bytes
    licence_id: str
    licensee: str
    valid_from: str
    valid_until: str
    chain_id: int | None
    contract: bytes | None
    revocation_evidence: dict[str, Any] | None = None
    """The revoke record's evidence bundle the file carries (`revoked.evidence`), if any."""


@dataclass(frozen=True)
class RevocationRecord:
    """The revoke record of a revoked licence, proven by its evidence bundle: in the log,
    anchored on the pinned chain, and the revocation the registry's Revoked event names."""

    leaf_hash: bytes
    ts: str
    reason: str | None
    anchor_block: int
    existed_no_later_than: int
    matches_registry: bool = True
    """Whether it is the revocation the registry's Revoked event names (False: the
    registry has not revoked this commitment, or an amendment superseded it first)."""

    def as_json(self) -> dict[str, Any]:
        """As `mledger licence check` prints it."""
        return {
            "leaf_hash": _hex(self.leaf_hash),
            "ts": self.ts,
            "reason": self.reason,
            "matches_registry": self.matches_registry,
            "anchor_block": self.anchor_block,
            "existed_no_later_than": _time(self.existed_no_later_than),
        }


@dataclass(frozen=True)
class LicenceCheck:
    """The registry's answer for a licence, at one block."""

    document: LicenceDocument
    identity: LogIdentity
    chain_id: int
    contract: bytes
    block_number: int
    block_time: int
    state: str
    valid_from: int
    valid_until: int
    granted_block: int
    revoked_block: int
    issuer: bytes
    """The issuer key that signed the grant: the pinned log key (20 zero bytes: never granted)."""
    problem: str | None
    """Why the licence is not valid although the chain says active (a window that
    differs from the record's), else None."""
    revocation: bytes | None = None
    """For a revoked licence: the leaf hash the issuer key (the pinned log key) named as
    the revoke record when it signed the revocation, from the registry's Revoked event.
    It binds the operator to that record (and its reason); that the record exists and
    revokes this licence is for its evidence to show."""
    revocation_record: RevocationRecord | None = None
    """The revoke record of this licence id the file's evidence proves (None: the file
    has none): the registry's revocation, unless `superseded` or not revoked on chain."""
    superseded: bool = False
    """Whether the registry's revocation is a commitment the log key granted: the amend
    record that superseded this one (then no revoke record names this commitment)."""

    @property
    def active(self) -> bool:
        """Whether the licence is valid now: active on chain, with the record's window."""
        return self.state == "active" and self.problem is None

    def as_json(self) -> dict[str, Any]:
        """The result as printed by `mledger licence check`."""
        return {
            "active": self.active,
            "status": self.state,
            "producer": producer(),
            "licence_id": self.document.licence_id,
            "licensee": self.document.licensee,
            "commitment": _hex(self.document.commitment),
            "valid_from": self.document.valid_from,
            "valid_until": self.document.valid_until,
            "on_chain": {
                "valid_from": self.valid_from,
                "valid_until": self.valid_until,
                "granted_block": self.granted_block or None,
                "revoked_block": self.revoked_block or None,
                "revocation": None if self.revocation is None else _hex(self.revocation),
                "superseded": self.superseded,
                "issuer": None if self.state == "unknown" else _hex(self.issuer),
            },
            "revocation_record": (
                None if self.revocation_record is None else self.revocation_record.as_json()
            ),
            "log": self.identity.as_json(),
            "chain_id": self.chain_id,
            "contract": _hex(self.contract),
            "block_number": self.block_number,
            "block_time": _time(self.block_time),
            "problem": self.problem,
        }

    def sentence(self) -> str:
        """The result in one plain sentence."""
        which = f"licence {self.document.licence_id!r} of {self.document.licensee!r}"
        where = (
            f"at block {self.block_number} ({_time(self.block_time)}) of chain {self.chain_id},"
            f" LicenceRegistry {_hex(self.contract)} of log {self.identity.name!r}"
        )
        if self.problem is not None:
            return f"NOT VALID: {which}: {self.problem} ({where})"
        if self.state == "active":
            return f"ACTIVE: {which} is active until {self.document.valid_until} {where}"
        proven = self.revocation_record
        if self.state == "revoked" and self.superseded:  # the page: the same
            assert self.revocation is not None
            later = (
                ""
                if proven is None
                else f"; then the log's revoke record {_hex(proven.leaf_hash)} (reason"
                f" {_reason(proven)}), anchored in block {proven.anchor_block}, revoked the"
                " licence"
            )
            return (
                f"REVOKED: {which} was superseded in block {self.revoked_block} by amend record"
                f" leaf {_hex(self.revocation)}, a commitment the registry holds{later}; {where}"
            )
        if self.state == "revoked" and proven is not None:
            return (
                f"REVOKED: {which} was revoked at {proven.ts} (block {self.revoked_block}),"
                f" reason {_reason(proven)} (revocation record leaf {_hex(proven.leaf_hash)},"
                f" matches the registry); {where}"
            )
        if self.state == "revoked":  # the page says the same (verify-core.js)
            named = (
                ""
                if self.revocation is None
                else f", revocation record leaf {_hex(self.revocation)} (its reason is proven by"
                " the GET /v1/licences/{id} answer fetched after the revocation)"
            )
            return (
                f"REVOKED: {which} was revoked (or superseded by an amendment) in block"
                f" {self.revoked_block}{named}; {where}"
            )
        if self.state == "expired":
            return f"EXPIRED: {which} expired at {self.document.valid_until} {where}"
        if self.state == "not_yet_valid":
            return f"NOT YET VALID: {which} becomes active at {self.document.valid_from} {where}"
        return f"UNKNOWN: {which} was never granted {where}"


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _address(value: Any, what: str) -> bytes:
    text = value[2:] if isinstance(value, str) and value[:2].lower() == "0x" else value
    try:
        data = bytes.fromhex(text) if isinstance(text, str) else b""
    except ValueError:
        data = b""
    if len(data) != 20:
        raise LicenceFileError(
            f"{what} is not a contract address (0x + 40 hex digits): {value!r:.80}"
        )
    return data


def read_document(data: bytes) -> LicenceDocument:
    """The licence record in `data`: a ``GET /v1/licences/{id}`` response (its `record`
    and `registry`) or a bare record."""
    try:
        document = load_strict(data, MAX_LICENCE_BYTES, "the licence file")
    except StrictJsonError as error:
        raise LicenceFileError(str(error)) from None
    if not isinstance(document, dict):
        raise LicenceFileError(
            "not a JSON object: expected a licence record or a GET /v1/licences/{id} response"
        )
    record = document.get("record", document)
    registry = document.get("registry") if "record" in document else None
    if not isinstance(record, dict) or record.get("kind") != "licence":
        raise LicenceFileError("holds no licence record (kind 'licence')")
    if (
        record.get("salt") is None or record.get("ts") is None
    ):  # else parse_object would make them up
        raise LicenceFileError(
            "the record has no salt or ts: it is not a record as the log stored it"
        )
    try:
        entry = parse_object(record, normalise_times=False)  # exactly as the log stored it
    except RecordError as error:
        raise LicenceFileError(f"the licence record is invalid: {error}") from None
    body = record["body"]
    if body["action"] not in ("grant", "amend"):
        raise LicenceFileError(
            f"the record is a {body['action']!r} record: check the grant or amend record instead"
        )
    chain_id: int | None = None
    address: bytes | None = None
    revoked = document.get("revoked") if "record" in document else None
    evidence = revoked.get("evidence") if isinstance(revoked, dict) else None
    if evidence is not None and not isinstance(evidence, dict):
        raise LicenceFileError("revoked.evidence must be an evidence bundle (a JSON object)")
    if registry is not None:
        if not isinstance(registry, dict):
            raise LicenceFileError("registry must be an object {chain_id, contract}")
        if registry.get("chain_id") is not None:
            if type(registry["chain_id"]) is not int:
                raise LicenceFileError(
                    f"registry.chain_id is not an integer: {registry['chain_id']!r:.80}"
                )
            chain_id = registry["chain_id"]
        if registry.get("contract") is not None:
            address = _address(registry["contract"], "registry.contract")
    return LicenceDocument(
        record,
        entry.leaf_hash,
        body["licence_id"],
        body["licensee"],
        body["valid_from"],
        body["valid_until"],
        chain_id,
        address,
        evidence,
    )


def check_licence(
    document: LicenceDocument, rpc: JsonRpcReader, identity: LogIdentity
) -> LicenceCheck:
    """Read the licence's commitment from the pinned registry at the chain's latest block.

    Raises LicenceMismatchError naming the field when the document, the node or the code
    at the registry's address is not the pinned log's, or when the grant was signed by an
    issuer key other than the pinned log key ("issuer"), or when the revocation evidence
    the file carries is not this revocation's ("revocation"), and LicenceChainError when
    the chain cannot be read.
    """
    registry = identity.licence_registry
    if registry is None:
        raise LicenceMismatchError(
            "licence_registry", f"the pinned log {identity.name!r} names no LicenceRegistry"
        )
    problem = identity.mismatch(chain_id=document.chain_id, licence_registry=document.contract)
    if problem is not None:
        field, _, what = problem.partition(": ")
        raise LicenceMismatchError(field, f"the licence is not the pinned log's: {what}")
    try:
        chain_id = rpc.chain_id()
        if chain_id != identity.chain_id:
            raise LicenceMismatchError(
                "chain_id",
                f"the node at {rpc.where} serves chain id {chain_id};"
                f" the pinned log is on chain id {identity.chain_id}",
            )
        block = rpc.block("latest")
        if block is None:
            raise LicenceChainError(f"the node at {rpc.where} has no latest block")
        code = rpc.code(registry, block.number)
        shipped = shipped_contract("LicenceRegistry")
        if code != shipped.runtime_code:
            found = "no contract" if not code else "another contract's code"
            raise LicenceMismatchError(
                "contract",
                f"{found} at {_hex(registry)} on chain id {chain_id}, not the"
                " LicenceRegistry model-ledger ships (a look-alike could answer anything)",
            )
        status = rpc.licence_status(registry, document.commitment, block.number)
    except ChainUnreadableError as error:
        raise LicenceChainError(str(error)) from None
    except ContractCallError as error:
        raise LicenceMismatchError(
            "contract", f"the LicenceRegistry at {_hex(registry)} answered unexpectedly: {error}"
        ) from None
    if status.state >= len(STATES):
        raise LicenceMismatchError("contract", f"status() answered an unknown state {status.state}")
    if status.state != 0 and status.issuer != identity.log_signer:
        raise LicenceMismatchError("issuer", issuer_problem(status.issuer, identity))
    if status.state != 0:
        _check_not_retired(rpc, identity, block.number)
    revocation = None
    superseded = False
    if status.revoked_block:
        try:
            revocation = _revocation(
                rpc, registry, document.commitment, status.revoked_block, identity.log_signer
            )
            superseded = revocation is not None and _granted_by_log(
                rpc, registry, revocation, block.number, identity
            )
        except ChainUnreadableError as error:
            raise LicenceChainError(str(error)) from None
        except ContractCallError as error:
            raise LicenceMismatchError(
                "contract",
                f"the LicenceRegistry at {_hex(registry)} answered unexpectedly: {error}",
            ) from None
    proven = None
    if document.revocation_evidence is not None:
        proven = _revocation_record(document, rpc, identity)
        if status.revoked_block and not superseded and proven.leaf_hash != revocation:
            held = "none" if revocation is None else _hex(revocation)
            raise LicenceMismatchError(
                "revocation",
                f"revoked.evidence proves revoke record {_hex(proven.leaf_hash)}, but the"
                f" registry names {held} as this licence's revocation",
            )
        proven = replace(proven, matches_registry=bool(status.revoked_block) and not superseded)
    problem = None
    expected = (unix_seconds(document.valid_from), unix_seconds(document.valid_until))
    if proven is not None and not status.revoked_block:
        problem = unregistered_revocation(proven)
    elif status.state != 0 and (status.valid_from, status.valid_until) != expected:
        problem = (
            f"the registry holds the validity window {status.valid_from}..{status.valid_until}"
            f" (unix seconds), but the record says {expected[0]}..{expected[1]}"
        )
    return LicenceCheck(
        document,
        identity,
        chain_id,
        registry,
        block.number,
        block.timestamp,
        STATES[status.state],
        status.valid_from,
        status.valid_until,
        status.granted_block,
        status.revoked_block,
        status.issuer,
        problem,
        revocation,
        proven,
        superseded,
    )


def unregistered_revocation(proven: RevocationRecord) -> str:
    """Why a licence whose revoke record the log holds is not valid, though the registry
    has not revoked it (the page words it the same): a revoke ends the licence id."""
    return (
        f"the log holds revoke record {_hex(proven.leaf_hash)} (reason {_reason(proven)}) of"
        f" this licence, anchored in block {proven.anchor_block}; the registry has not"
        " revoked it"
    )


def _reason(proven: RevocationRecord) -> str:
    return "none given" if proven.reason is None else repr(proven.reason)


def _granted_by_log(
    rpc: JsonRpcReader, registry: bytes, revocation: bytes, block: int, identity: LogIdentity
) -> bool:
    """Whether the registry's `revocation` of a commitment is itself a commitment the log
    key granted: the leaf of the amend record that superseded it, not a revoke record
    (a revoke record is never granted)."""
    status = rpc.licence_status(registry, revocation, block)
    return status.state != 0 and status.issuer == identity.log_signer


def _revocation_record(
    document: LicenceDocument, rpc: JsonRpcReader, identity: LogIdentity
) -> RevocationRecord:
    """The revoke record of `document.revocation_evidence`, verified against the chain;
    LicenceMismatchError ("revocation") if the bundle fails or holds another record than
    a revoke record of this licence id."""
    assert document.revocation_evidence is not None
    try:
        result = verify_bundle(document.revocation_evidence, rpc, identity)
    except ChainReadError as error:
        raise LicenceChainError(error.message) from None
    except VerificationError as error:
        raise LicenceMismatchError(
            "revocation",
            f"the revocation evidence (revoked.evidence) fails its {error.check} check:"
            f" {error.message}",
        ) from None
    bundle = result.bundle
    assert isinstance(bundle, Bundle) and result.anchored is not None
    if len(bundle.entries) != 1:
        raise LicenceMismatchError(
            "revocation", f"revoked.evidence holds {len(bundle.entries)} entries, not the one"
        )
    entry = bundle.entries[0]
    body = entry.record.get("body")
    if (
        entry.record.get("kind") != "licence"
        or not isinstance(body, dict)
        or body.get("action") != "revoke"
        or body.get("licence_id") != document.licence_id
    ):
        raise LicenceMismatchError(
            "revocation",
            f"revoked.evidence proves leaf {_hex(entry.leaf_hash)}, which is not a revoke"
            f" record of licence {document.licence_id!r}",
        )
    reason = body.get("reason")
    return RevocationRecord(
        entry.leaf_hash,
        str(entry.record["ts"]),
        reason if isinstance(reason, str) else None,
        result.anchored.block_number,
        result.anchored.timestamp,
    )


def _revocation(
    rpc: JsonRpcReader, registry: bytes, commitment: bytes, block: int, issuer: bytes
) -> bytes | None:
    """The `revocation` of the registry's Revoked event of `commitment` by `issuer` in
    `block` (the registry revokes a commitment once), None if the node shows none. The
    node's answer is checked, not trusted: address, every topic, the data's size."""
    topic = shipped_contract("LicenceRegistry").event_topic("Revoked")
    wanted = (topic, commitment, bytes(12) + issuer)
    for event in rpc.logs(registry, [topic, commitment], block, block):
        if (
            event.address == registry
            and event.topics == wanted
            and event.block_number == block
            and len(event.data) == 32
        ):
            return event.data
    return None


def _check_not_retired(rpc: JsonRpcReader, identity: LogIdentity, block: int) -> None:
    """A licence signed with the log key is the log's only while that key is trusted: once
    the log's admin retired the log (its key leaked), a grant signed with it may be the
    thief's. LicenceMismatchError ("log") if the pinned log is retired or unreadable."""
    try:
        info = rpc.log_info(identity.log_anchor, identity.log_id, block)
    except ChainUnreadableError as error:
        raise LicenceChainError(str(error)) from None
    except ContractCallError as error:
        raise LicenceMismatchError(
            "log",
            f"the pinned LogAnchor {_hex(identity.log_anchor)} holds"
            f" no log {_hex(identity.log_id)} ({error})",
        ) from None
    if info.retired:
        raise LicenceMismatchError("log", retired_problem(identity))


def retired_problem(identity: LogIdentity) -> str:
    """Why no licence of a retired log is valid (the page says the same)."""
    return (
        f"log {_hex(identity.log_id)} was retired by its admin (its log key"
        " may have leaked): a licence signed with that key cannot be"
        " trusted; ask the operator for the licence under its successor log"
    )


def issuer_problem(issuer: bytes, identity: LogIdentity) -> str:
    """Why a commitment granted by `issuer`, not by the pinned log key, is not the log's
    licence (the page words it the same)."""
    return (
        f"the registry says issuer key {_hex(issuer)} signed this grant, not the pinned log key"
        f" {_hex(identity.log_signer)}: a grant signed by any other key is not this log's licence"
    )
