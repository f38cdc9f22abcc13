"""Statements: the documents an erasure, a legal hold and a hold's lift commit to.

The log records each as a `digest` record whose ``sha256`` is SHA-256 of the
statement's canonical bytes (RFC 8785). The statement itself names what was done and
why, never the personal data: an erasure gives the criterion's kind (an account's
value is not repeated), how many entries and a digest of their leaf hashes; a hold
gives its id, its scope and the index key hash of the account or licence it holds (so
an audit can tell that no later erasure took a held entry), not the value itself.
docs/privacy.md describes them field by field.

    {"count": 3, "criterion": "account", "leaves_root": "<64 hex>",
     "leaves_sha256": "<64 hex>", "reason": "GDPR art. 17 request 2026-118",
     "ts": "2026-...Z", "type": "model-ledger/erasure/v1"}

``leaves_sha256`` is SHA-256 of the erased entries' 32-byte leaf hashes concatenated in
leaf index order: an auditor recomputes it from the export's erasure markers (each
names the digest record that erased it). ``leaves_root`` (statements logged before it
was added lack it) is the RFC 9162 Merkle root of the erased entries in leaf index
order, each leaf's data the entry's leaf index as 8 bytes big-endian then its 32-byte leaf hash
(`erasure_member`): a completeness document proves one entry erased by this statement
with its position and audit path, without the whole list. Erasures by time also give
``before``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Literal

import rfc8785

from ledger.core.merkle import hash_leaf, root_hash
from ledger.core.statements import STATEMENT_SALT_DOMAIN, statement_record, statement_salt

ERASURE_TYPE = "model-ledger/erasure/v1"
HOLD_TYPE = "model-ledger/legal-hold/v1"
LIFT_TYPE = "model-ledger/legal-hold-lift/v1"

Criterion = Literal["account", "leaves", "before", "retention"]
"""How the erased entries were chosen: an account's entries, listed leaf hashes, entries
older than a time (asked for), or older than the retention period (the schedule)."""

CRITERIA: tuple[Criterion, ...] = ("account", "leaves", "before", "retention")

HoldScope = Literal["account", "licence"]
HOLD_SCOPES: tuple[HoldScope, ...] = ("account", "licence")


def leaves_digest(leaf_hashes: Iterable[bytes]) -> bytes:
    """SHA-256 of the leaf hashes concatenated, in the order given (leaf index order)."""
    digest = hashlib.sha256()
    for leaf in leaf_hashes:
        digest.update(leaf)
    return digest.digest()


def erasure_member(leaf_index: int, leaf_hash: bytes) -> bytes:
    """The leaf hash, in the tree of an erasure's ``leaves_root``, of the erased entry at
    `leaf_index` with `leaf_hash`: RFC 9162's SHA-256(0x00 || u64be(index) || hash)."""
    return hash_leaf(leaf_index.to_bytes(8, "big") + leaf_hash)


def leaves_root(members: Iterable[tuple[int, bytes]]) -> bytes:
    """The ``leaves_root`` of the erased entries (leaf index, leaf hash), in leaf order."""
    return root_hash([erasure_member(index, leaf) for index, leaf in members])


def erasure_statement(
    criterion: Criterion,
    reason: str,
    count: int,
    leaves_sha256: bytes,
    ts: str,
    before: str | None = None,
    root: bytes | None = None,
) -> dict[str, Any]:
    """The statement of one erasure (``before`` only for the time criteria; `root`, its
    ``leaves_root``, None only to make a statement as versions before it did)."""
    statement: dict[str, Any] = {
        "count": count,
        "criterion": criterion,
        **({} if root is None else {"leaves_root": root.hex()}),
        "leaves_sha256": leaves_sha256.hex(),
        "reason": reason,
        "ts": ts,
        "type": ERASURE_TYPE,
    }
    if before is not None:
        statement["before"] = before
    return statement


def hold_statement(
    hold_id: str, scope: HoldScope, key_sha256: bytes, reason: str, ts: str
) -> dict[str, Any]:
    """The statement of a legal hold placed: its scope and the index key hash of what it
    holds (`ledger.core.index.key_hash` of ``account:<id>`` or ``licence:<id>``, the hash
    the index and an erased entry's export line carry), not the held value itself."""
    return {
        "hold": hold_id,
        "key_sha256": key_sha256.hex(),
        "reason": reason,
        "scope": scope,
        "ts": ts,
        "type": HOLD_TYPE,
    }


def lift_statement(hold_id: str, reason: str, ts: str) -> dict[str, Any]:
    """The statement of a legal hold lifted."""
    return {"hold": hold_id, "reason": reason, "ts": ts, "type": LIFT_TYPE}


def statement_bytes(statement: dict[str, Any]) -> bytes:
    """The canonical bytes (RFC 8785) a digest record's sha256 is taken over."""
    return bytes(rfc8785.dumps(statement))


RESERVED_SALT = (
    "the salt is the one the log gives its own statement records (erasures, legal holds,"
    " lifts), derived from the sha256: only the log logs those; send another salt or none"
)
"""Why a record with `statement_salt` is refused at ingest (the API, `mledger ingest`)."""


def statement_sha256(statement: dict[str, Any]) -> str:
    """The ``sha256`` of the digest record that logs `statement` (64 lowercase hex)."""
    return hashlib.sha256(statement_bytes(statement)).hexdigest()


__all__ = [
    "CRITERIA",
    "ERASURE_TYPE",
    "HOLD_SCOPES",
    "HOLD_TYPE",
    "LIFT_TYPE",
    "RESERVED_SALT",
    "STATEMENT_SALT_DOMAIN",
    "Criterion",
    "HoldScope",
    "erasure_member",
    "erasure_statement",
    "hold_statement",
    "leaves_digest",
    "leaves_root",
    "lift_statement",
    "statement_bytes",
    "statement_record",
    "statement_salt",
    "statement_sha256",
]
