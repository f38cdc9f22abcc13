"""What the Python verifiers conclude, in the words the shared corpus (tests/vectors/) and
the verification page use, so the two can be compared verdict for verdict.

Evidence: `ledger verify` (ledger.verify.pack.verify_evidence) gives "valid" (the chain
was consulted and every check passed), "mathematics only" (no chain), "invalid" naming
the failed check, or "not verified" (check "chain": the node could not be read); with
the verdict line `ledger verify` prints and its checks, which the page must match word
for word.

Licences: `ledger licence check` (ledger.verify.licence) has no list of checks; its
errors name a field. They map onto the page's checks: an unreadable file is the
"licence" check; a file naming another registry or chain (found before any chain read)
is "log identity", with that field; the node's chain id is "chain id"; the code at the
registry is "contract"; a grant signed by another key than the pinned log key is
"issuer"; revocation evidence that fails or is not the registry's revocation is
"revocation"; a licence the chain holds with the record's window but revoked, expired or not
yet valid is "not active" with no failed check (a proven state); one never granted, or held
with another window, is "not active" failing check "status". Without a chain the Python
side is read_document and the part of check_licence that runs before its first chain
read: `OfflineReader` stops it there.
"""

from __future__ import annotations

from typing import Any

from ledger.formats.identity import IdentityError, LogIdentity, parse_identity
from ledger.formats.strict_json import StrictJsonError, load_strict
from ledger.verify.chain import ChainReader
from ledger.verify.evidence import verify_evidence
from ledger.verify.licence import (
    LicenceChainError,
    LicenceFileError,
    LicenceMismatchError,
    check_licence,
    read_document,
)
from ledger.verify.result import ChainReadError, VerificationError
from ledger.verify.rpc import JsonRpcReader

Outcome = dict[str, Any]


def evidence_outcome(
    data: bytes, identity: LogIdentity | None, chain: ChainReader | None = None
) -> Outcome:
    """`ledger verify`'s conclusion on `data`, with the line it prints last (`statement`)
    and its checks as [name, passed, detail]."""
    try:
        result = verify_evidence(data, chain, identity)
    except VerificationError as error:
        assert error.result is not None
        checks = [[c.name, c.passed, c.detail] for c in error.result.checks]
        if isinstance(error, ChainReadError):
            statement = f"NOT VERIFIED: the chain could not be read ({error.message})"
            return {
                "verdict": "not verified",
                "check": error.check,
                "statement": statement,
                "checks": checks,
            }
        found = {"verdict": "invalid", "check": error.check}
        if error.check == "log identity":  # the message names the field that differs
            found["field"] = error.message.split("not about the pinned log: ", 1)[1].split(":", 1)[
                0
            ]
        return found | {
            "statement": f"INVALID: {error.check} check failed: {error.message}",
            "checks": checks,
        }
    checks = [[c.name, c.passed, c.detail] for c in result.checks]
    if result.chain_consulted:
        return {"verdict": "valid", "statement": f"VALID: {result.statement()}", "checks": checks}
    return {
        "verdict": "mathematics only",
        "statement": f"MATHEMATICS ONLY: {result.statement()}",
        "checks": checks,
    }


class _ReachedChain(Exception):
    """check_licence asked the chain: everything before its first read passed."""


class OfflineReader:
    """A JSON-RPC reader that stops check_licence at its first chain read."""

    where = "(offline)"

    def __getattr__(self, name: str) -> Any:
        def stop(*_args: Any, **_kwargs: Any) -> Any:
            raise _ReachedChain(name)

        return stop


def licence_outcome(
    data: bytes, identity: LogIdentity | None, rpc: JsonRpcReader | None = None
) -> Outcome:
    """`ledger licence check`'s conclusion on `data` (offline: how far it gets before
    the chain), with the commitment when the file was read."""
    try:
        document = read_document(data)
    except LicenceFileError:
        return {"verdict": "invalid", "check": "licence"}
    commitment = "0x" + document.commitment.hex()
    if identity is None:
        return {"verdict": "mathematics only", "commitment": commitment}
    reader: Any = rpc if rpc is not None else OfflineReader()
    try:
        checked = check_licence(document, reader, identity)
    except _ReachedChain:
        return {"verdict": "mathematics only", "commitment": commitment}
    except LicenceMismatchError as error:
        before_chain = error.field == "licence_registry" or error.message.startswith(
            f"{error.field}: the licence is not the pinned log's"
        )
        check = (
            "log identity"
            if before_chain
            else {
                "chain_id": "chain id",
                "contract": "contract",
                "issuer": "issuer",
                "revocation": "revocation",
            }[error.field]
        )
        return {
            "verdict": "invalid",
            "check": check,
            "field": error.field,
            "commitment": commitment,
        }
    except LicenceChainError:
        return {"verdict": "not verified", "check": "chain", "commitment": commitment}
    if checked.active:
        return {"verdict": "active", "commitment": commitment, "statement": checked.sentence()}
    if checked.problem is None and checked.state != "unknown":  # a proven state, no failure
        return {
            "verdict": "not active",
            "status": checked.state,
            "commitment": commitment,
            "statement": checked.sentence(),
        }
    return {
        "verdict": "not active",
        "check": "status",
        "status": checked.state,
        "commitment": commitment,
        "statement": checked.sentence(),
    }


def identity_outcome(data: bytes) -> Outcome:
    """parse_identity's conclusion on `data`."""
    try:
        parse_identity(data)
    except IdentityError as error:
        return {"verdict": "refused", "field": error.field}
    return {"verdict": "accepted"}


def tagged(value: Any) -> Any:
    """A decoded JSON value with integers tagged and object members sorted, comparable
    with what the page's reader returns (see tests/web/test_vectors.py)."""
    if value is True or value is False or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {"$int": str(value)}
    if isinstance(value, list):
        return [tagged(item) for item in value]
    assert isinstance(value, dict)
    return {"$obj": sorted([key, tagged(item)] for key, item in value.items())}


def json_outcome(data: bytes) -> Outcome:
    """The JSON reading rule's conclusion on `data`, with the value read."""
    try:
        value = load_strict(data, 64 * 1024 * 1024)
    except StrictJsonError:
        return {"verdict": "refused"}
    return {"verdict": "accepted", "value": tagged(value)}
