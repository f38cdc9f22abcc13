"""The trust root under attack, on a real Anvil, through the interfaces an attacker and a
verifier use (`ledger verify`, `audit`, `licence check`, `verify-receipt`, `up`; the
contracts through the bindings anyone can use):

1. forged evidence from a stranger's own LogAnchor holding a log of the real log's id;
2. a look-alike contract at the address an identity document pins;
3. a revoked licence granted again on a stranger's LicenceRegistry;
4. a receipt signed by a stranger's key;
5. a leaked anchor (gas) key, including the 2^64-1 freeze: it anchors, grants, revokes
   and retires nothing; anyone relays what the log key signed (checkpoints, grants),
   and the operator's anchorer adopts it;
6. a leaked log key: the admin retires the log with its own key (`ledger retire`),
   verifiers refuse what lies above the trusted size, and the service refuses to run
   on it;
7. an existence time that is not the anchor block header's.

Each is refused, naming the check or the field. The verifier pins the real log's
identity document, as `ledger identity` writes it.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from typer.testing import CliRunner

from ledger.api.main import create_app
from ledger.chain.client import ChainClient, Receipt
from ledger.chain.deployment import DeploymentMismatchError, attach, deploy_log
from ledger.chain.errors import ContractRevertError
from ledger.chain.keys import DEV_ANCHOR_KEY, AnchorKey
from ledger.chain.licence_registry import (
    GrantCall,
    LicenceRegistry,
    OnChainState,
    SignedGrant,
    deploy_registry,
)
from ledger.chain.log_anchor import LogAnchor
from ledger.cli.common import app
from ledger.core.merkle import (
    ProofLengthError,
    hash_children,
    hash_leaf,
    inclusion_proof,
    root_from_consistency_proof,
    root_from_inclusion_proof,
    root_hash,
)
from ledger.core.merkle.multiproof import multi_inclusion_ranges
from ledger.core.records import now_ts, parse_object
from ledger.formats.eip712 import Domain
from ledger.formats.export_line import export_line
from ledger.formats.identity import LogIdentity
from ledger.service.anchorer import AnchorConflictError
from ledger.service.evidence import build_evidence
from ledger.service.licences import grant
from ledger.service.proofs import consistency
from ledger.service.runtime import start_api
from ledger.service.signer import LogSigner, compact_signature
from ledger.store.exports import export_records
from ledger.store.licences import LicenceRepository
from ledger.verify.audit import AuditResult, audit_export, read_anchors
from ledger.verify.bundle import verify_bundle
from ledger.verify.licence import unix_seconds
from ledger.verify.rpc import JsonRpcReader
from ledger.workload import interaction, ndjson_lines
from tests.chain.conftest import ADMIN_KEY, LOG_KEY, Setup, log_signer_for, sign_retirement_as

MAX_SIZE = 2**64 - 1
"""The largest tree size the contract counts: an anchor there blocks every later one."""


def h(data: bytes) -> str:
    return "0x" + data.hex()


def signed_grant(
    signer: LogSigner,
    registry: LicenceRegistry,
    commitment: bytes,
    valid_from: int,
    valid_until: int,
) -> SignedGrant:
    """`signer`'s grant of `commitment` on `registry` (any key may sign one: the registry
    takes it from its issuer key only)."""
    signature = signer.sign_grant(registry.address_bytes, commitment, valid_from, valid_until)
    return SignedGrant(GrantCall(commitment, valid_from, valid_until), compact_signature(signature))


def cli(*args: str, env: dict[str, str] | None = None) -> Any:
    """`ledger ARGS` in this process: exit_code, stdout, stderr."""
    return CliRunner().invoke(app, list(args), env=env)


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def anchor_fields(chain: ChainClient, receipt: Receipt) -> dict[str, Any]:
    """A bundle's `checkpoint.anchor` for the transaction of `receipt`, as its block has it."""
    block = chain.block(receipt.block_number)
    assert block is not None
    return {
        "tx_hash": h(receipt.tx_hash),
        "block_number": block.number,
        "block_hash": h(block.hash),
        "block_timestamp": block.timestamp,
    }


@dataclass
class Log:
    """The real log: anchored at sizes 5 and 8 by the operator's anchorer; its identity
    document as `ledger identity` writes it, pinned by every verifier here."""

    setup: Setup
    identity: LogIdentity
    identity_file: Path
    bundle: dict[str, Any]
    """Evidence of leaf 3 against the anchor of size 8."""
    first_bundle: dict[str, Any]
    """Evidence of leaf 1 against the anchor of size 5."""

    @property
    def first(self) -> dict[str, Any]:
        """The anchor of size 5: tx_hash, block_number, block_hash, block_timestamp."""
        return dict(self.first_bundle["checkpoint"]["anchor"])

    @property
    def rpc(self) -> str:
        return self.setup.anvil.url

    def verify(self, document: dict[str, Any], tmp_path: Path, name: str = "evidence.json") -> Any:
        """`ledger verify FILE --log REAL --rpc-url URL --json`."""
        path = write(tmp_path / name, document)
        return cli(
            "verify", str(path), "--log", str(self.identity_file), "--rpc-url", self.rpc, "--json"
        )


def refused(result: Any, check: str, *words: str) -> dict[str, Any]:
    """`ledger verify --json` exited 1 with `check` failed, its message holding `words`."""
    assert result.exit_code == 1, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert not report["valid"] and report["error"]["check"] == check, report["error"]
    for word in words:
        assert word in report["error"]["message"], report["error"]
    assert report["checks"][-1] == {
        "check": check,
        "passed": False,
        "detail": report["error"]["message"],
    }
    return report


@pytest.fixture
def log(setup: Setup, tmp_path: Path) -> Log:
    setup.grow(5)
    setup.anchorer().anchor_latest(timeout=20)
    first_bundle = build_evidence(setup.store, setup.repo, leaf_of(1))
    setup.grow(3)
    setup.anchorer().anchor_latest(timeout=20)
    bundle = build_evidence(setup.store, setup.repo, leaf_of(3), "latest")
    assert (first_bundle["checkpoint"]["tree_size"], bundle["checkpoint"]["tree_size"]) == (5, 8)
    identity_file = tmp_path / "log.json"
    written = cli(
        "identity",
        "--database-url",
        f"sqlite:///{tmp_path / 'ledger.db'}",
        "--data-dir",
        str(tmp_path),
        "--out",
        str(identity_file),
        env={"LEDGER_LOG_KEY": LOG_KEY},
    )
    assert written.exit_code == 0, written.stderr
    identity = setup.identity
    published = json.loads(identity_file.read_text())
    assert published.pop("note_vkey").startswith("localhost/")  # the log's C2SP note key
    assert published == identity.as_json()
    return Log(setup, identity, identity_file, bundle, first_bundle)


def leaf_of(index: int) -> bytes:
    """The leaf hash of the record `Setup.grow` ingested at `index`."""
    return parse_object(json.loads(ndjson_lines(1, seed=7, start=index)[0])).leaf_hash


@pytest.fixture
def stranger(setup: Setup, other_key: AnchorKey) -> ChainClient:
    """A funded account with no role on the real log: the attacker's."""
    return ChainClient(setup.anvil.url, other_key)


# -- 1. forged evidence from a stranger's LogAnchor ---------------------------------------


def test_forged_evidence_from_a_strangers_log_anchor_is_refused(
    log: Log, stranger: ChainClient, tmp_path: Path
) -> None:
    """The stranger deploys LogAnchor, creates a log with the real log's id and its own
    log key, anchors a tree of 8 records one of which is fabricated, and writes a bundle
    and a pack: all mathematics hold, and on its own contract the chain agrees."""
    fake_key = Account.create()
    fake_log, fake = deploy_log(
        stranger, fake_key.address, admin=Account.create().address
    )  # "model-ledger": the real log's id
    assert fake_log.log_id == log.identity.log_id and fake.address_bytes != log.identity.log_anchor
    fake_signer = log_signer_for(fake_key, fake_log)
    records = [interaction(i, seed=7) for i in range(8)]
    records[3] = interaction(3, seed=7) | {
        "body": interaction(3, seed=7)["body"] | {"output_tokens": 1}
    }  # fabricated
    leaves = [parse_object(record).leaf_hash for record in records]
    root = root_hash(leaves)
    receipt = fake.anchor(fake_log.log_id, 8, root, [], fake_signer.anchor_signature(8, root))
    canonical = [json.loads(parse_object(record).canonical) for record in records]
    forged = {
        "format": "model-ledger/evidence/v1",
        "chain_id": 31337,
        "contract": h(fake.address_bytes),
        "log_id": h(fake_log.log_id),
        "checkpoint": {
            "tree_size": 8,
            "root": h(root),
            "anchor": anchor_fields(log.setup.chain, receipt),
        },
        "entries": [
            {
                "leaf_index": 3,
                "leaf_hash": h(leaves[3]),
                "record": canonical[3],
                "proof": [h(n) for n in inclusion_proof(3, leaves)],
            }
        ],
    }
    pack = {
        "format": "model-ledger/evidence-pack/v1",
        "chain_id": 31337,
        "contract": h(fake.address_bytes),
        "log_id": h(fake_log.log_id),
        "checkpoint": forged["checkpoint"],
        "query": {},
        "entries": [{"leaf_index": i, "record": canonical[i]} for i in (2, 3)],
        "proof": [h(root_hash(leaves[a:b])) for a, b in multi_inclusion_ranges([2, 3], 8)],
    }
    # A perfect forgery: against the stranger's own identity the chain confirms it.
    theirs = LogIdentity(
        "model-ledger",
        31337,
        fake.address_bytes,
        fake_log.log_id,
        None,
        bytes.fromhex(fake_key.address[2:]),
        fake_log.block_number,
    )
    with JsonRpcReader(log.rpc) as chain:
        assert verify_bundle(forged, chain, theirs).valid

    # Pinned to the real log: the bundle and the pack name another contract.
    for name, document, noun in (("bundle.json", forged, "bundle"), ("pack.json", pack, "pack")):
        report = refused(
            log.verify(document, tmp_path, name),
            "log identity",
            f"the {noun} is not about the pinned log",
            f"log_anchor: the {noun} names {h(fake.address_bytes)},"
            f" the pinned log has {h(log.identity.log_anchor)}",
        )
        assert [c["check"] for c in report["checks"]][-1] == "log identity"
    # Naming the real contract instead: the real contract never held that root.
    for name, document in (("bundle-real.json", forged), ("pack-real.json", pack)):
        renamed = copy.deepcopy(document) | {"contract": h(log.identity.log_anchor)}
        refused(
            log.verify(renamed, tmp_path, name),
            "root on chain",
            "the contract holds root " + log.bundle["checkpoint"]["root"],
            "checkpoint has " + h(root),
        )
    # ... and with the real root it is not the fabricated record's tree.
    renamed = copy.deepcopy(forged) | {"contract": h(log.identity.log_anchor)}
    renamed["checkpoint"] = log.bundle["checkpoint"]
    refused(
        log.verify(renamed, tmp_path, "bundle-real-root.json"),
        "inclusion",
        "not to the checkpoint root",
    )


# -- 2. a look-alike contract ---------------------------------------------------------------


def test_a_look_alike_contract_at_the_pinned_address_is_refused(
    log: Log, stranger: ChainClient, tmp_path: Path
) -> None:
    """An identity document edited to pin an address holding other code (here a
    LicenceRegistry; any contract could answer rootAt and logInfo as it likes): verify
    and audit fail on the "contract" check before asking it anything."""
    other, _bound = deploy_registry(stranger, Account.create().address)
    edited = write(
        tmp_path / "edited.json", log.identity.as_json() | {"log_anchor": h(other.contract)}
    )
    bundle = log.bundle | {"contract": h(other.contract)}
    path = write(tmp_path / "bundle.json", bundle)
    result = cli("verify", str(path), "--log", str(edited), "--rpc-url", log.rpc, "--json")
    refused(
        result,
        "contract",
        f"the code at {h(other.contract)} is not the LogAnchor model-ledger ships",
    )
    # With the real identity the same bundle names another contract.
    refused(log.verify(bundle, tmp_path), "log identity", "log_anchor")

    export = tmp_path / "export.ndjson"
    _end, lines = export_records(log.setup.store, 0, None)
    export.write_bytes(b"".join(export_line(i, r) for i, r in lines))
    audited = cli("audit", str(export), "--log", str(edited), "--rpc-url", log.rpc)
    assert (
        audited.exit_code == 1
        and "audit failed: contract: code that is not the LogAnchor model-ledger ships"
        in audited.stderr
    )
    assert "PASSED" not in audited.stdout
    passed = cli("audit", str(export), "--log", str(log.identity_file), "--rpc-url", log.rpc)
    assert (
        passed.exit_code == 0
        and "PASSED: the export is the complete anchored log (8 entries under 2 anchors)"
        in passed.stdout
    )


# -- 3. a licence re-granted on a stranger's registry ---------------------------------------


def test_a_revoked_licence_regranted_on_a_strangers_registry_is_not_active(
    log: Log, stranger: ChainClient, tmp_path: Path
) -> None:
    setup = log.setup
    registry_deployed, registry = deploy_registry(setup.chain, setup.signer.address)
    setup.deployment = setup.repo.record_registry(registry_deployed.contract)
    identity = write(tmp_path / "log-with-registry.json", setup.identity.as_json())
    body: dict[str, Any] = {
        "action": "grant",
        "licence_id": "lic-1",
        "licensee": "acme",
        "models": ["frontier-large"],
        "scope": ["inference"],
        "terms_sha256": "ab" * 32,
        "valid_from": "2025-01-01T00:00:00.000Z",
        "valid_until": "2035-01-01T00:00:00.000Z",
    }
    entry = grant(LicenceRepository(setup.store), body, now=now_ts()).entry
    record, commitment = json.loads(entry.canonical), entry.leaf_hash
    window = (commitment, unix_seconds(body["valid_from"]), unix_seconds(body["valid_until"]))
    registry.grant([signed_grant(setup.signer, registry, *window)])
    revoked_by = hash_leaf(b"the revoke record")
    registry.revoke(
        commitment,
        revoked_by,
        compact_signature(setup.signer.sign_revoke(registry.address_bytes, commitment, revoked_by)),
    )
    # The stranger grants the same commitment on its own registry, with its own key: active there.
    thief = log_signer_for(Account.create(), setup.deployment)
    theirs_deployed, theirs = deploy_registry(stranger, thief.address)
    theirs.grant([signed_grant(thief, theirs, *window)])
    assert theirs.status(commitment).state.label == "active"

    document = {
        "record": record,
        "registry": {"chain_id": 31337, "contract": h(registry_deployed.contract)},
    }
    checked = cli(
        "licence",
        "check",
        str(write(tmp_path / "licence.json", document)),
        "--log",
        str(identity),
        "--rpc-url",
        log.rpc,
    )
    assert (
        checked.exit_code == 1
        and "ACTIVE" not in checked.stderr
        and json.loads(checked.stdout)["active"] is False
    )
    assert checked.stderr.startswith("REVOKED: licence 'lic-1' of 'acme' was revoked")
    assert (
        f"LicenceRegistry {h(registry_deployed.contract)} of log 'model-ledger'" in checked.stderr
    )
    assert json.loads(checked.stdout)["contract"] == h(registry_deployed.contract)
    # The bare record: the registry is the pinned one, never the stranger's.
    bare = cli(
        "licence",
        "check",
        str(write(tmp_path / "bare.json", record)),
        "--log",
        str(identity),
        "--rpc-url",
        log.rpc,
    )
    assert bare.exit_code == 1 and bare.stderr.startswith("REVOKED:")

    document["registry"]["contract"] = h(theirs_deployed.contract)
    elsewhere = cli(
        "licence",
        "check",
        str(write(tmp_path / "theirs.json", document)),
        "--log",
        str(identity),
        "--rpc-url",
        log.rpc,
    )
    assert elsewhere.exit_code == 1 and elsewhere.stdout == "" and "ACTIVE" not in elsewhere.stderr
    assert (
        "INVALID: licence_registry: the licence is not the pinned"
        f" log's: the document names {h(theirs_deployed.contract)}" in elsewhere.stderr
    )
    # An identity edited to pin the stranger's registry is the verifier's own mistake: but
    # a look-alike there (here a LogAnchor) is still caught by its code.
    look_alike = write(
        tmp_path / "look-alike.json",
        setup.identity.as_json() | {"licence_registry": h(setup.identity.log_anchor)},
    )
    bare = cli(
        "licence",
        "check",
        str(write(tmp_path / "bare.json", record)),
        "--log",
        str(look_alike),
        "--rpc-url",
        log.rpc,
    )
    assert bare.exit_code == 1 and "contract: another contract's code at" in bare.stderr


# -- 4. a receipt signed by a stranger's key -------------------------------------------------


def test_a_receipt_signed_by_a_strangers_key_is_refused(log: Log, tmp_path: Path) -> None:
    """Well formed and self-consistent, naming the real log, chain and contract, but not
    signed by the log key."""
    domain = Domain(log.identity.log_id, log.identity.chain_id, log.identity.log_anchor)
    forged = LogSigner(Account.create(), domain).receipts(
        [(hash_leaf(b"never sent"), 9)], "2026-06-05T12:00:00.000Z"
    )[0]
    genuine = log.setup.signer.receipts([(hash_leaf(b"sent"), 9)], "2026-06-05T12:00:00.000Z")[0]
    forged_path, genuine_path = (
        write(tmp_path / "forged.json", forged),
        write(tmp_path / "genuine.json", genuine),
    )
    pinned = ["--log", str(log.identity_file)]

    assert cli("verify-receipt", str(genuine_path), *pinned).exit_code == 0
    result = cli("verify-receipt", str(forged_path), *pinned)
    assert result.exit_code == 1 and result.stdout == ""
    assert (
        "not a receipt of the pinned log: log_signer: the receipt"
        f" names 0x{forged['signer'][2:].lower()}" in result.stderr
    )
    unpinned = cli("verify-receipt", str(forged_path))
    assert (
        unpinned.exit_code == 2
        and "no log identity pinned" in unpinned.stderr
        and unpinned.stdout == ""
    )
    offline = cli("verify-receipt", str(forged_path), "--offline")
    assert offline.exit_code == 0 and json.loads(offline.stdout)["valid"] is False
    assert (
        offline.stderr.startswith("MATHEMATICS ONLY")
        and "any key can sign a receipt" in offline.stderr
    )


# -- 5. a leaked anchor key -------------------------------------------------------------------


def freeze_proof(
    size: int, root: bytes, fabricated: bytes
) -> tuple[list[bytes], bytes, list[bytes]]:
    """A synthetic RFC 9162 consistency proof from the anchored tree (`size` a power of
    two, root `root`) to a tree of MAX_SIZE leaves that holds `fabricated` at leaf index
    `size`: (proof, the new root, the inclusion proof of that leaf). Every node but the
    old root is made up; the mathematics hold."""
    siblings = [
        hash_leaf(f"made up {i}".encode()) for i in range(3)
    ]  # leaves size+1, size+2..3, size+4..7
    subtree = hash_children(
        hash_children(hash_children(fabricated, siblings[0]), siblings[1]), siblings[2]
    )
    try:
        root_from_consistency_proof(size, MAX_SIZE, [], root)
    except ProofLengthError as error:
        length = error.expected
    rest = [hash_leaf(f"made up level {i}".encode()) for i in range(length - 1)]
    proof = [subtree, *rest]
    new_root = root_from_consistency_proof(size, MAX_SIZE, proof, root)
    inclusion = [*siblings, root, *rest]
    assert root_from_inclusion_proof(size, MAX_SIZE, fabricated, inclusion) == new_root
    return proof, new_root, inclusion


def test_a_leaked_anchor_key_anchors_nothing_the_log_key_did_not_sign(
    log: Log, stranger: ChainClient, tmp_path: Path
) -> None:
    setup = log.setup
    log_id, contract = (
        setup.deployment.log_id,
        setup.contract,
    )  # the operator's anchor key: owner and admin
    before = contract.latest(log_id)
    assert before.size == 8
    anchor_key_signer = log_signer_for(
        Account.create(), setup.deployment
    )  # the thief has no log key: signs with another
    state = setup.grow(5)
    proof = consistency(setup.store, 8, 13).proof
    attempts = [
        (
            "its own signature",
            13,
            state.root,
            proof,
            anchor_key_signer.anchor_signature(13, state.root),
        ),
        ("another checkpoint's signature", 13, state.root, proof, setup.sign(8, before.root)),
    ]
    fabricated = hash_leaf(b"a record nobody logged")
    frozen_proof, frozen_root, _inclusion = freeze_proof(8, before.root, fabricated)
    attempts.append(
        (
            "a synthetic proof to 2^64-1",
            MAX_SIZE,
            frozen_root,
            frozen_proof,
            anchor_key_signer.anchor_signature(MAX_SIZE, frozen_root),
        )
    )
    for what, size, root, nodes, signature in attempts:
        with pytest.raises(ContractRevertError) as caught:  # refused in the estimate ...
            contract.build_anchor(log_id, size, root, nodes, signature)
        assert caught.value.name == "LogAnchorBadSignature", what
        sent = contract.build_anchor(
            log_id, size, root, nodes, signature, gas=300_000
        )  # ... and in a block
        setup.chain.send(sent)
        assert setup.chain.wait_for_receipt(sent.tx_hash).status == 0, what
        assert contract.latest(log_id) == before, what

    # Nor grant, revoke or retire: the registry takes grants and revocations from its one
    # issuer key (the log key), the log its retirement from its admin, whoever sends them.
    thief = (
        setup.chain.require_key()
    )  # the leaked key: LogAnchor's owner, payer of every transaction
    registry_deployed, registry = deploy_registry(setup.chain, setup.signer.address)
    setup.deployment = setup.repo.record_registry(registry_deployed.contract)
    thief_signer = log_signer_for(Account.from_key(DEV_ANCHOR_KEY), setup.deployment)
    assert thief_signer.address == thief.address and registry.issuer_key() == setup.signer.address
    forged = hash_leaf(b"a licence nobody granted")
    with pytest.raises(ContractRevertError) as not_issuer:
        registry.grant([signed_grant(thief_signer, registry, forged, 0, 2**40 - 1)])
    assert (
        not_issuer.value.name == "LicenceRegistryNotIssuer"
        and not_issuer.value.args_by_name["recovered"] == thief.address
    )
    genuine = hash_leaf(b"a licence the log granted")
    relayed_grant = LicenceRegistry(
        stranger, registry.address
    ).grant(  # a stranger relays the log key's signed grant
        [signed_grant(setup.signer, registry, genuine, 0, 2**40 - 1)]
    )
    assert (
        registry.status(genuine).state is OnChainState.ACTIVE
        and registry.status(genuine).issuer == setup.signer.address
    )
    assert setup.chain.transaction(relayed_grant.tx_hash)["from"] == stranger.require_key().address  # type: ignore[index]
    with pytest.raises(ContractRevertError) as not_granting:
        registry.revoke(
            genuine,
            forged,
            compact_signature(thief_signer.sign_revoke(registry.address_bytes, genuine, forged)),
        )
    assert not_granting.value.name == "LicenceRegistryNotIssuer"
    assert registry.status(genuine).state is OnChainState.ACTIVE
    with pytest.raises(ContractRevertError) as not_admin:
        contract.retire_log(
            log_id, 0, sign_retirement_as(Account.from_key(DEV_ANCHOR_KEY), setup.deployment)
        )
    assert not_admin.value.name == "LogAnchorNotAdminSignature"
    # Having deployed the registry makes it no owner: it cannot add an issuer key of its own.
    add_issuer = (
        keccak(text="addIssuer(address)")[:4] + bytes(12) + bytes.fromhex(thief.address[2:])
    )
    with pytest.raises(ContractRevertError):
        setup.chain.transact(registry.address, add_issuer, registry.decoder, "addIssuer")
    with pytest.raises(ContractRevertError, match="LicenceRegistryNotIssuer"):
        registry.grant([signed_grant(thief_signer, registry, forged, 0, 2**40 - 1)])
    assert registry.status(forged).state is OnChainState.UNKNOWN
    assert log.identity.log_signer == bytes.fromhex(setup.signer.address[2:])

    # A stranger (no role at all) relays a checkpoint the log key did sign, as published
    # by GET /v1/checkpoints/latest: accepted.
    api = start_api(create_app(setup.store, setup.signer), "127.0.0.1", 0)
    try:
        checkpoint = httpx.get(api.url + "/v1/checkpoints/latest", timeout=30).json()
    finally:
        api.stop()
    assert checkpoint["tree_size"] == 13 and checkpoint["signer"] == setup.signer.address
    relayer = LogAnchor(stranger, contract.address)
    relayed = relayer.anchor(
        log_id,
        13,
        bytes.fromhex(checkpoint["root"][2:]),
        proof,
        compact_signature(checkpoint["signature"]),
        index_root=bytes.fromhex(checkpoint["index_root"][2:]),  # signed with the root
    )
    assert relayed.status == 1 and contract.latest(log_id).size == 13
    # The operator's anchorer adopts it: settled from the chain, nothing sent.
    nonce = setup.chain.nonce()
    done = setup.anchorer().anchor_latest(timeout=20)
    assert (done.tree_size, done.tx_hash, done.block_number, done.prev_size, done.attempts) == (
        13,
        relayed.tx_hash,
        relayed.block_number,
        8,
        0,
    )
    assert setup.chain.nonce() == nonce
    bundle = build_evidence(setup.store, setup.repo, leaf_of(10))
    assert bundle["checkpoint"]["anchor"]["tx_hash"] == h(relayed.tx_hash)
    result = log.verify(bundle, tmp_path)
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["block_number"] == relayed.block_number


# -- 6. a leaked log key: the log is retired ---------------------------------------------------


def test_a_retired_log_is_trusted_up_to_its_trusted_size_only(log: Log, tmp_path: Path) -> None:
    """The log key leaks; its thief anchors a fabricated record at tree size 2^64-1 (the
    contract cannot tell: it is signed, and consistent), which also blocks every honest
    anchor. The admin retires the log trusting size 8: evidence up to 8 still verifies;
    the thief's fails the "log" check; the service refuses to run on the log."""
    setup = log.setup
    log_id = setup.deployment.log_id
    fabricated_record = interaction(8, seed=99)
    fabricated = parse_object(fabricated_record).leaf_hash
    latest = setup.contract.latest(log_id)
    proof, frozen_root, inclusion = freeze_proof(8, latest.root, fabricated)
    theft = setup.contract.anchor(
        log_id, MAX_SIZE, frozen_root, proof, setup.sign(MAX_SIZE, frozen_root)
    )
    assert setup.contract.latest(log_id).size == MAX_SIZE
    stolen = {
        "format": "model-ledger/evidence/v1",
        "chain_id": 31337,
        "contract": h(setup.deployment.contract),
        "log_id": h(log_id),
        "checkpoint": {
            "tree_size": MAX_SIZE,
            "root": h(frozen_root),
            "anchor": anchor_fields(setup.chain, theft),
        },
        "entries": [
            {
                "leaf_index": 8,
                "leaf_hash": h(fabricated),
                "record": json.loads(parse_object(fabricated_record).canonical),
                "proof": [h(n) for n in inclusion],
            }
        ],
    }
    assert (
        log.verify(stolen, tmp_path).exit_code == 0
    )  # before the retirement, it verifies: the key is the trust root
    # A receipt the thief signs with the leaked key: valid while the log stands.
    receipt = write(
        tmp_path / "receipt.json",
        log.setup.signer.receipts([(fabricated, 8)], "2026-06-05T12:00:00.000Z")[0],
    )
    receipt_check = ["verify-receipt", str(receipt), "--log", str(log.identity_file)]
    assert cli(*receipt_check, "--rpc-url", log.rpc).exit_code == 0

    # The admin retires it: `ledger retire` signs with the admin key, the anchor key
    # sends. Signed by the anchor key (or the leaked log key) it is refused.
    where = [
        "--data-dir",
        str(tmp_path),
        "--database-url",
        f"sqlite:///{tmp_path / 'ledger.db'}",
        "--rpc-url",
        log.rpc,
    ]
    for wrong in (DEV_ANCHOR_KEY, LOG_KEY):
        refused_retire = cli(
            "retire", "--trusted-size", "8", "--yes", *where, env={"LEDGER_ADMIN_KEY": wrong}
        )
        assert refused_retire.exit_code == 1 and "is not the admin of log" in refused_retire.stderr
    assert not setup.contract.log_info(log_id).retired  # type: ignore[union-attr]
    retired = cli(
        "retire", "--trusted-size", "8", "--yes", *where, env={"LEDGER_ADMIN_KEY": ADMIN_KEY}
    )
    assert retired.exit_code == 0, retired.stderr
    assert json.loads(retired.stdout)["admin"] == Account.from_key(ADMIN_KEY).address
    info = setup.contract.log_info(log_id)
    assert info is not None and (info.retired, info.trusted_size, info.latest_size) == (
        True,
        8,
        MAX_SIZE,
    )
    for document in (log.bundle, log.first_bundle):
        result = log.verify(document, tmp_path)
        assert result.exit_code == 0, result.stdout
        assert "retired, trusted up to size 8" in json.dumps(json.loads(result.stdout)["checks"])
    refused(
        log.verify(stolen, tmp_path),
        "log",
        "was retired (its log key leaked)",
        "up to tree size 8 only",
        f"this checkpoint is of size {MAX_SIZE}",
    )
    # Its receipts are refused once the chain is asked; without a node the verdict says
    # the retirement was not checked.
    late = cli(*receipt_check, "--rpc-url", log.rpc)
    assert late.exit_code == 1 and late.stdout == "", late.stdout
    assert f"log {h(log_id)} was retired by its admin (its log key may have leaked)" in late.stderr
    unchecked = cli(*receipt_check)
    assert (
        unchecked.exit_code == 0 and "was not checked: run with --rpc-url URL" in unchecked.stderr
    )

    # The audit reads the whole history and audits up to the trusted size only.
    export = tmp_path / "export.ndjson"
    _end, lines = export_records(setup.store, 0, None)
    export.write_bytes(b"".join(export_line(i, r) for i, r in lines))
    with JsonRpcReader(log.rpc) as chain:
        found = read_anchors(chain, log.identity)
    assert [a.size for a in found.anchors] == [5, 8] and found.ignored == 1
    result = AuditResult(log.identity, log.rpc, str(export))
    result.anchors = found.anchors
    assert audit_export(export, result, workers=0).passed

    # Nothing anchors any more (the thief's size is beyond the log: the anchorer stops for
    # an operator), and the service refuses to run on the log.
    setup.grow(2)
    with pytest.raises(
        AnchorConflictError,
        match=f"the chain anchors size {MAX_SIZE} .* but this log has only 10 entries",
    ):
        setup.anchorer().anchor_latest(timeout=10)
    with pytest.raises(
        DeploymentMismatchError,
        match="was retired \\(trusted up to tree size 8\\): it takes no more anchors;"
        " continue in a successor log",
    ):
        attach(setup.chain, 31337, setup.deployment.contract, log_id)
    up = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger",
            "up",
            "--port",
            "0",
            "--rpc-url",
            log.rpc,
            "--data-dir",
            str(tmp_path),
            "--database-url",
            f"sqlite:///{tmp_path / 'ledger.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "LEDGER_LOG_KEY": LOG_KEY},
    )
    assert (
        up.returncode == 1
        and "was retired (trusted up to tree size 8)" in up.stderr
        and "successor log" in up.stderr
    )


# -- 7. the existence time is the block header's -----------------------------------------------


def test_the_existence_time_is_the_anchor_block_headers(log: Log, tmp_path: Path) -> None:
    good = log.verify(log.bundle, tmp_path)
    assert good.exit_code == 0
    when = log.bundle["checkpoint"]["anchor"]["block_timestamp"]
    assert json.loads(good.stdout)["existed_no_later_than"] == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)
    )

    earlier = copy.deepcopy(log.bundle)
    earlier["checkpoint"]["anchor"]["block_timestamp"] = when - 86400  # "it existed a day earlier"
    refused(
        log.verify(earlier, tmp_path),
        "anchor block",
        f"header says time {when}",
        f"the bundle says {when - 86400}",
    )
    # Another transaction, with its own block and time: the earlier anchor of size 5.
    other = copy.deepcopy(log.bundle)
    other["checkpoint"]["anchor"] = log.first
    refused(
        log.verify(other, tmp_path),
        "anchor transaction",
        f"transaction {log.first['tx_hash']} did not anchor tree size 8",
    )
    # A transaction that is no anchor at all (the LogAnchor's deployment), block and all.
    deployment_receipt = log.setup.chain.receipt(anchor_tx_of_deployment(log))
    assert deployment_receipt is not None
    other["checkpoint"]["anchor"] = anchor_fields(log.setup.chain, deployment_receipt)
    refused(
        log.verify(other, tmp_path),
        "anchor transaction",
        "did not anchor tree size 8",
        "no such Anchored event",
    )


def anchor_tx_of_deployment(log: Log) -> bytes:
    """The transaction that deployed the real LogAnchor (the first of its block)."""
    (first, *_rest) = log.setup.chain.w3.eth.get_block(log.setup.deployment.block_number)[
        "transactions"
    ]
    assert isinstance(first, bytes)  # hashes only (full_transactions=False)
    return first
