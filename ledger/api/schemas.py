"""Request and response schemas of the HTTP API (what /docs shows).

Hashes, addresses and tx hashes are 0x-prefixed lowercase hex. Record and request body
schemas come from the pydantic models of `ledger.core.records` (`record_components`),
as OpenAPI components that the request bodies name; docs/records.md shows the same
(scripts/gen_records_doc.py writes it from here).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from ledger.core.errors import LedgerError
from ledger.core.records import AnyRecord, Ident, Text

MAX_BATCH = 10_000
"""Most records in one POST /v1/entries/batch."""


class BatchPath(BaseModel):
    """Where a receipt's entry sits in the tree its request's signature covers."""

    root: str
    size: int
    index: int
    path: list[str]


class Receipt(BaseModel):
    """The log's signed promise (EIP-712) to include an entry within `mmd` seconds."""

    leaf_hash: str
    seq: int
    log_id: str
    received_at: str
    mmd: int
    batch: BatchPath
    signer: str
    signature: str
    domain: dict[str, Any]


class EntryAccepted(BaseModel):
    """A stored entry: its leaf hash, arrival number and receipt."""

    leaf_hash: str
    seq: int
    receipt: Receipt


class BatchCreate(BaseModel):
    """Up to 10,000 records, stored all or nothing."""

    model_config = ConfigDict(extra="forbid")
    entries: list[dict[str, Any]] = Field(max_length=MAX_BATCH)


HASH_PATTERN = r"^0x[0-9a-f]{64}$"
"""A leaf hash as requests give it: 0x and 64 lowercase hex."""


class ErasureRequest(BaseModel):
    """Which entries to erase (exactly one of account, leaves, before) and why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"account": "acct-1", "reason": "GDPR art. 17 request 2026-118"}]
        },
    )
    account: Ident | None = Field(None, description="Erase every interaction of this account.")
    leaves: list[Annotated[str, StringConstraints(pattern=HASH_PATTERN)]] | None = Field(
        None, min_length=1, max_length=10_000, description="Erase the entries of these leaf hashes."
    )
    before: str | None = Field(
        None, description="Erase every entry whose record time is before this RFC 3339 UTC time."
    )
    reason: Text = Field(description="Why: kept in the logged statement (no personal data).")
    vacuum_full: bool = Field(
        False,
        description="PostgreSQL: VACUUM FULL after, so no page keeps the old bytes (locks the"
        " tables while it rewrites them).",
    )


class HoldRequest(BaseModel):
    """A legal hold on an account or a licence (exactly one) and why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"account": "acct-1", "reason": "litigation 2026-7"}]},
    )
    account: Ident | None = Field(None, description="Hold this account's interactions.")
    licence: Ident | None = Field(None, description="Hold this licence's records.")
    reason: Text = Field(description="Why: kept in the logged statement (no personal data).")


class LiftRequest(BaseModel):
    """Why a legal hold is lifted."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "case closed"}]}
    )
    reason: Text = Field(description="Why: kept in the logged statement.")


class ErasureDone(BaseModel):
    """What one erasure did."""

    criterion: Literal["account", "leaves", "before", "retention"]
    erased: int = Field(description="Entries whose record was destroyed.")
    held: int = Field(description="Entries the criterion chose that a legal hold kept.")
    leaves_sha256: str = Field(description="SHA-256 of the erased leaf hashes in leaf order.")
    record: str | None = Field(description="Leaf hash of the digest record that logs it.")
    statement: dict[str, Any] | None = Field(description="The statement that record commits to.")
    scrubbed: str = Field(description="What ran so no copy stays in the database's files.")


class HoldPublic(BaseModel):
    """A legal hold."""

    id: str
    scope: Literal["account", "licence"]
    value: str
    reason: str
    created_at: str
    record: str = Field(description="Leaf hash of the digest record that logged the hold.")
    lifted_at: str | None
    lift_record: str | None


class HoldList(BaseModel):
    """Every legal hold, oldest first."""

    holds: list[HoldPublic]


class RevokeRequest(BaseModel):
    """Why the licence is revoked (kept in the revoke record); the body may be left out."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "terms breached"}]}
    )
    reason: Text | None = Field(
        None, description="Why the licence is revoked: the revoke record's body.reason."
    )


# -- record and request body schemas, as OpenAPI components -------------------------------

REF = "#/components/schemas/{model}"
"""Where the OpenAPI document keeps named schemas."""


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def record_components() -> dict[str, dict[str, Any]]:
    """Named JSON schemas (OpenAPI 3.1 components) of every record kind and request body:
    `Record` (one of the kinds, told apart by `kind`), `<Kind>Record` and `<Kind>Body` per
    kind with `Client` and `Parent`, `LicenceGrant` and `LicenceGrantRecord` (what POST
    /v1/licences takes), `LicenceRequest`, `BatchRequest` and `RevokeRequest`."""
    schema = TypeAdapter(AnyRecord).json_schema(ref_template=REF)
    components: dict[str, dict[str, Any]] = schema.pop("$defs")
    components["Record"] = {
        "title": "Record",
        "description": "A record envelope of any kind: `kind` says which body it holds"
        " (docs/records.md).",
        **schema,
    }
    grant = copy.deepcopy(components["LicenceBody"])
    grant["title"] = "LicenceGrant"
    grant["description"] = (
        "The body of a licence grant or amendment: every term is required. A revocation goes"
        " to POST /v1/licences/{licence_id}/revoke."
    )
    grant["properties"]["action"] = {
        **grant["properties"]["action"],
        "enum": ["grant", "amend"],
        "description": "grant: a new licence; amend: a new grant that supersedes the current"
        " one (same licence_id and licensee).",
    }
    for name in ("models", "scope", "terms_sha256", "valid_from", "valid_until"):
        options = grant["properties"][name].pop("anyOf")
        grant["properties"][name] |= next(o for o in options if o.get("type") != "null")
        grant["properties"][name].pop("default", None)
    grant["required"] = sorted(
        {*grant["required"], "models", "scope", "terms_sha256", "valid_from", "valid_until"}
    )
    grant["examples"] = grant["examples"][:1]
    components["LicenceGrant"] = grant
    record = copy.deepcopy(components["LicenceRecord"])
    record["title"] = "LicenceGrantRecord"
    record["description"] = "A licence record whose body is a grant or an amendment."
    record["properties"]["body"] = {**record["properties"]["body"], **_ref("LicenceGrant")}
    components["LicenceGrantRecord"] = record
    components["LicenceRequest"] = {
        "title": "LicenceRequest",
        "description": "A licence grant or amendment: the whole record, or only its body (the"
        " log adds v, kind, salt and ts). Times in any RFC 3339 UTC form are stored as"
        " YYYY-MM-DDTHH:MM:SS.mmmZ.",
        "oneOf": [_ref("LicenceGrant"), _ref("LicenceGrantRecord")],
    }
    components["BatchRequest"] = {
        "title": "BatchRequest",
        "description": f"Up to {MAX_BATCH:,} records of any kind, stored all or nothing.",
        "type": "object",
        "additionalProperties": False,
        "required": ["entries"],
        "properties": {
            "entries": {
                "type": "array",
                "items": _ref("Record"),
                "minItems": 1,
                "maxItems": MAX_BATCH,
                "description": "The records, in the order their receipts come back.",
            }
        },
    }
    components["RevokeRequest"] = RevokeRequest.model_json_schema(ref_template=REF)
    components["ErasureRequest"] = ErasureRequest.model_json_schema(ref_template=REF)
    components["HoldRequest"] = HoldRequest.model_json_schema(ref_template=REF)
    components["LiftRequest"] = LiftRequest.model_json_schema(ref_template=REF)
    return components


def request_body(component: str, description: str, *, required: bool = True) -> dict[str, Any]:
    """An operation's requestBody (`openapi_extra`) naming one of `record_components`."""
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref(component)}},
        "required": required,
    }


def document_records(app: FastAPI) -> None:
    """Add `record_components` to the app's OpenAPI document (built lazily)."""
    build: Callable[[], dict[str, Any]] = app.openapi
    components = record_components()

    def openapi() -> dict[str, Any]:
        schema = build()
        named = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, value in components.items():
            if named.setdefault(name, value) != value:
                raise LedgerError(f"two OpenAPI schemas are named {name}")
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class BatchAccepted(BaseModel):
    """One receipt per record, in request order."""

    receipts: list[Receipt]


class ErasedPublic(BaseModel):
    """An erased entry's marker: the record is gone, the leaf hash and its proofs stay."""

    at: str = Field(description="When the record was erased.")
    by: str = Field(description="Leaf hash of the digest record that logged the erasure.")


class EntryPublic(BaseModel):
    """A stored entry: its canonical record and where it is in the log."""

    leaf_hash: str
    seq: int
    kind: str
    ts: str
    record: dict[str, Any] | None = Field(description="The record; null once erased.")
    leaf_index: int | None
    status: Literal["pending", "sequenced", "anchored"]
    erased: ErasedPublic | None = Field(
        None, description="When and by which logged record the record was erased (null: not)."
    )


class EntrySummary(BaseModel):
    """A search hit."""

    leaf_hash: str
    seq: int
    kind: str
    ts: str
    external_id: str | None
    account_id: str | None
    model: str | None
    leaf_index: int | None


class EntryPage(BaseModel):
    """One page of search hits; pass `next_cursor` as `cursor` for the next."""

    entries: list[EntrySummary]
    next_cursor: str | None


class AnchorPublic(BaseModel):
    """A checkpoint's transaction on chain."""

    chain_id: int
    contract: str
    log_id: str
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    block_timestamp: int | None
    status: str


class InclusionProofPublic(BaseModel):
    """Leaf `leaf_index` is in the tree of `tree_size` with root `root`."""

    leaf_hash: str
    leaf_index: int
    tree_size: int
    root: str
    proof: list[str]
    anchor: AnchorPublic | None


class ConsistencyProofPublic(BaseModel):
    """The tree of `second` leaves extends the tree of `first` leaves."""

    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]


class LogIdentityPublic(BaseModel):
    """The log identity document (`model-ledger/log/v1`) that verifiers pin."""

    format: str
    name: str
    chain_id: int
    log_anchor: str
    log_id: str
    licence_registry: str | None
    log_signer: str
    deployment_block: int
    rpc_url: str | None = None
    explorer: str | None = None
    note_vkey: str | None = None
    """The verifier key of the log's C2SP checkpoint notes (GET /checkpoint); its key
    name is the log's origin."""
    witnesses: list[str] | None = None
    """The cosigner vkeys (cosignature/v1) of the witnesses the log sends its checkpoints
    to (absent: none)."""
    witness_quorum: int | None = None
    """How many of `witnesses` must cosign a checkpoint for it to count as published."""


class CheckpointPublic(BaseModel):
    """A sealed checkpoint, signed by the log key (EIP-712 `Checkpoint(bytes32 logId,
    uint64 treeSize, bytes32 root, bytes32 indexRoot)`, the signature LogAnchor checks:
    anyone may anchor it), and its anchor. `index_root` is the log's index root at this
    size (all zero: none). `timestamp` is when it was sealed; it is not signed."""

    log_id: str
    tree_size: int
    root: str
    index_root: str
    timestamp: str
    signer: str
    signature: str
    domain: dict[str, Any]
    anchor: AnchorPublic | None


class SealResult(BaseModel):
    """The checkpoint after sealing."""

    tree_size: int
    root: str


class AnchorLag(BaseModel):
    """How far the chain is behind the log."""

    anchored_size: int
    lag_entries: int
    last_anchor_age_seconds: int | None
    last_error: str | None = None
    """Why the oldest open anchor is not on chain yet (the chain unreachable, a refused
    transaction), while it is not."""
    last_gas_used: int | None = None
    """Gas used by the latest confirmed anchor's transaction."""


class WitnessingState(BaseModel):
    """How the latest checkpoint stands with the log's witnesses (c2sp.org/tlog-witness)."""

    witnesses: int
    """Witnesses configured (N)."""
    quorum: int
    """Witnesses that must cosign a checkpoint for it to count as published (M)."""
    cosigned: int
    """Configured witnesses whose cosignature of the latest checkpoint is kept."""
    published: bool
    """Whether the latest checkpoint counts as published: at least M of N cosigned it."""
    published_size: int
    """The largest tree size that counts as published (0: none yet)."""


class LicenceQueue(BaseModel):
    """How the licence issuer's registry calls stand."""

    pending: int
    """Calls waiting to be sent to the LicenceRegistry."""
    submitted: int
    """Calls in a transaction not yet confirmed."""
    failed: int
    """Calls the registry refuses for good (each keeps its reason: GET /v1/licences/{id})."""
    failing: int = 0
    """Failed calls that still matter: all failed calls but grants an amendment replaced
    and revocations of commitments never granted. While any, `status` is "degraded"."""
    last_error: str | None = None
    """The latest error kept on a call not confirmed: why it waits, or why it failed."""


class Health(BaseModel):
    """Liveness and lag."""

    status: Literal["ok", "degraded"]
    """"degraded" while a licence call that still matters failed (`licences.failing`):
    the registry holds a licence otherwise than the log says. The service still serves."""
    tree_size: int
    pending: int
    anchor: AnchorLag | None
    licences: LicenceQueue
    witnessing: WitnessingState | None = None
    """With witnesses configured: how far the checkpoints are witnessed."""


class ModelAccepted(EntryAccepted):
    """A registered model artefact: its leaf hash, seq, receipt and the record as logged."""

    record: dict[str, Any]


class ParentLink(BaseModel):
    """A parent a model record names; `leaf_hash` is its first registration (null: never \
registered)."""

    model_id: str
    version: str
    relation: Literal["fine-tune", "distillation", "quantization", "merge"]
    leaf_hash: str | None


class LineageNode(BaseModel):
    """One registration of a model version; `evidence` is its bundle once anchored."""

    model_id: str
    version: str
    artifact_sha256: str
    depth: int
    leaf_hash: str
    leaf_index: int | None
    ts: str
    parents: list[ParentLink]
    status: Literal["pending", "sequenced", "anchored"]
    record: dict[str, Any]
    evidence: dict[str, Any] | None


class ModelLineage(BaseModel):
    """A model's versions and every registration their parents lead to, breadth first."""

    model_id: str
    versions: list[LineageNode]
    ancestors: list[LineageNode]
    truncated: bool
