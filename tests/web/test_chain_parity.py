"""The Python verifiers and the verification page, against one real chain: the same
verdict, naming the same check, on the same evidence.

A real `ledger serve` on a real Anvil logs and anchors; its log identity (GET /v1/log)
is pinned in both. The contracts are deployed here as `ledger deploy` lays them out (a
LogAnchor whose log is signed by the data dir's log key; a LicenceRegistry whose first
issuer is that key), and licences are granted and revoked here with the log key's EIP-712
signatures (tests/web/chain_fixtures.py), not through the service's licence routes: these
tests pin down what the verifiers read on chain, whoever wrote it. The log's bundle, its
pack and its licence verify VALID / ACTIVE in `ledger verify` / `ledger licence check`
(in process) and in the page served by the service (headless Chromium, through the
page's own fields). Then attacks, each failing the same check in both, or refused by the
page before any check:

- a stranger deploys their own copy of LogAnchor, creates the log with the real log id,
  and anchors back-dated records: a bundle naming that copy fails "log identity"; the
  same bundle claiming the real contract fails "root on chain"; a link carrying the
  stranger's identity is shown beside the pinned one and not used unless chosen;
- a link carrying the real identity with only its rpc_url changed to a lying node (which
  makes that forged bundle VALID to whoever reads through it) pins nothing by itself, and
  the page never reads through the link's node unless the user chooses it, on a button
  saying it is the operator's node, which can lie;
- a stranger relays the log's signed checkpoint through a forwarder contract of their own
  (anyone may relay): the anchor transaction calls the forwarder, and the log's evidence
  of that anchor is VALID in both, as `ledger audit` has it;
- a licence granted on a registry whose one issuer is another key (one a leaked gas key
  deployed), under an identity naming that registry, fails "issuer" in both, and is
  never ACTIVE, though the registry says active;
- an identity naming a contract that is not LogAnchor fails "contract"; one naming
  another log key fails "log"; one naming another chain fails "chain id";
- a licence granted on a stranger's LicenceRegistry fails "log identity" (the registry it
  names), and is unknown to the real registry;
- a changed block time, another transaction, a revoked licence and an unreachable node
  give the same verdict in both;
- a node whose answers are odd JSON-RPC (data with spaces in its hex, an answer with its
  "result" twice, a float, a nesting deeper than 32) is read by one rule in both: the
  chain could not be read, in the same words.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from ledger.chain.anvil import Anvil, free_port
from ledger.chain.client import ChainClient
from ledger.chain.deployment import deploy_log
from ledger.chain.keys import DEV_ANCHOR_KEY, dev_key, key_from_hex
from ledger.core.merkle import inclusion_proof, root_hash
from ledger.core.records import now_ts, parse_object
from ledger.formats.abi import contract as shipped_contract
from ledger.formats.eip712 import Domain
from ledger.formats.identity import parse_identity
from ledger.service.signer import LogSigner, compact_signature, load_log_key
from ledger.store.anchors import AnchorRepository, Deployment
from ledger.store.db import sqlite_url
from ledger.store.repository import Store
from ledger.verify.evidence import verify_evidence
from ledger.verify.licence import LicenceMismatchError, check_licence, read_document
from ledger.verify.rpc import JsonRpcReader
from ledger.workload import interaction
from tests.api.conftest import ADMIN_KEY, Server
from tests.chain.conftest import OTHER_KEY, anvil_binary  # noqa: F401 - fixture: fails clearly without Anvil
from tests.web.chain_fixtures import Registry, account, deploy_forwarder, deploy_registry, forward
from tests.web.chromium import Page
from tests.web.form import (
    click,
    open_link,
    open_page,
    outcome,
    pin,
    pin_link,
    set_node,
    verify_text,
)
from tests.web.lying_node import LyingNode, Raw
from tests.web.outcomes import evidence_outcome, licence_outcome

STRANGER_LOG_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
"""The stranger's log key (Anvil's third default account; it needs no funds)."""

RELAYER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
"""Anvil's fourth default account: sends the signed grants and revocations (anyone may)."""

EXPLORER = "https://explorer.example"


@dataclass
class Log:
    """The running service, its chain and what it served; licences granted on chain."""

    server: Server
    anvil: Anvil
    identity: dict[str, Any]
    bundle: dict[str, Any]
    pack: bytes
    licence: dict[str, Any]
    granted_block: int
    revoked: dict[str, Any]
    leaked: dict[str, Any]
    """A licence granted with the gas key, on a registry whose issuer is the gas key."""
    leaked_identity: dict[str, Any]
    """The log's identity, but naming that registry."""
    proven_revoked: dict[str, Any]
    """GET /v1/licences/lic-proof after its revocation: the revoke record is in the log,
    anchored, and is the revocation the registry holds; `revoked.evidence` proves it."""
    log_only_revoked: dict[str, Any]
    """GET /v1/licences/lic-unsent: its revoke record is in the log and anchored, but the
    registry's revoke was never sent (the grant was)."""
    amended: dict[str, Any]
    """GET /v1/licences/lic-amended: granted, amended (v1 superseded on chain by the amend
    record's commitment), then revoked."""
    superseded: dict[str, Any]
    """lic-amended's v1 grant record, as its licensee kept it."""


def ts(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def licence_body(licence_id: str) -> dict[str, Any]:
    return {
        "action": "grant",
        "licence_id": licence_id,
        "licensee": "acct-acme",
        "models": ["frontier-*"],
        "scope": ["inference"],
        "terms_sha256": "ab" * 32,
        "valid_from": ts(time.time() - 86_400),
        "valid_until": ts(time.time() + 365 * 86_400),
    }


def licence_record(licence_id: str, salt: str) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "licence",
        "ts": ts(time.time()),
        "salt": salt,
        "body": licence_body(licence_id),
    }


def unix(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC).timestamp())


def grant(registry: Registry, issuer: Any, record: dict[str, Any]) -> tuple[bytes, int]:
    """Grant `record`'s commitment signed by `issuer`: (commitment, block)."""
    commitment = parse_object(record).leaf_hash
    body = record["body"]
    receipt = registry.grant(
        issuer, commitment, unix(body["valid_from"]), unix(body["valid_until"])
    )
    return commitment, receipt.block_number


def licence_file(record: dict[str, Any], chain_id: int, registry: bytes) -> dict[str, Any]:
    """What a licensee keeps: GET /v1/licences/{id}'s record and registry."""
    return {
        "licence_id": record["body"]["licence_id"],
        "record": record,
        "registry": {"chain_id": chain_id, "contract": "0x" + registry.hex()},
    }


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory, anvil_binary: Path) -> Iterator[Log]:  # noqa: F811
    workdir = tmp_path_factory.mktemp("parity")
    node = Anvil(
        0, workdir / "anvil-state.json", workdir / "anvil.log", binary=anvil_binary
    ).start()
    try:
        data = workdir / "data"
        log_key = load_log_key(data)  # the data dir's log key, made as `ledger serve` makes it
        gas = ChainClient(node.url, dev_key())  # the service's anchor key on chain id 31337
        deployed, _anchor = deploy_log(gas, log_key.address, admin=Account.create().address)
        registry = deploy_registry(gas, log_key.address)
        # A registry whose one issuer is the gas key: what a leaked gas key can deploy.
        rogue = deploy_registry(gas, gas.require_key().address)
        store = Store.open(sqlite_url(data))
        try:
            AnchorRepository(store).record_deployment(
                Deployment(
                    deployed.chain_id,
                    deployed.contract,
                    deployed.log_id,
                    deployed.log_name,
                    deployed.deployer,
                    deployed.block_number,
                    now_ts(),
                    registry.address,
                )
            )
        finally:
            store.close()
        relayed = Registry(
            ChainClient(node.url, key_from_hex(RELAYER_KEY, "relayer")), registry.address
        )
        real = licence_record("lic-real", "11" * 16)
        _, granted_block = grant(relayed, log_key, real)
        gone = licence_record("lic-gone", "22" * 16)
        commitment, _ = grant(relayed, log_key, gone)
        relayed.revoke(
            log_key, commitment, hashlib.sha256(b"the revoke record of lic-gone").digest()
        )
        leaked = licence_record("lic-leaked", "33" * 16)
        grant(Registry(relayed.client, rogue.address), account(DEV_ANCHOR_KEY), leaked)
        files = [licence_file(r, deployed.chain_id, registry.address) for r in (real, gone)]
        files.append(licence_file(leaked, deployed.chain_id, rogue.address))

        server = Server(
            data,
            "--rpc-url",
            node.url,
            "--seal-interval",
            "0.2",
            "--anchor-interval",
            "600",
            "--public-rpc-url",
            node.url,
            "--explorer",
            EXPLORER,
        )
        try:
            with server.client(ADMIN_KEY) as admin:
                identity = admin.get("/v1/log").json()
                assert identity["licence_registry"] == "0x" + registry.address.hex()
                assert identity["log_signer"] == log_key.address.lower()
                # A licence granted and revoked through the service (its records in the log),
                # whose registry calls are made here (the service's issuer waits 600 s).
                made = admin.post("/v1/licences", json=licence_body("lic-proof"))
                assert made.status_code == 201, made.text
                ended = admin.post(
                    "/v1/licences/lic-proof/revoke", json={"reason": "breach of clause 4"}
                )
                assert ended.status_code == 201, ended.text
                proof_commitment, _ = grant(relayed, log_key, made.json()["record"])
                relayed.revoke(
                    log_key, proof_commitment, bytes.fromhex(ended.json()["leaf_hash"][2:])
                )
                # Revoked in the log, granted on chain, the registry's revoke never sent.
                unsent = admin.post("/v1/licences", json=licence_body("lic-unsent")).json()
                cut = admin.post(
                    "/v1/licences/lic-unsent/revoke", json={"reason": "fraud\u202e fdp.exe"}
                )
                assert cut.status_code == 201, cut.text
                grant(relayed, log_key, unsent["record"])
                # Granted, amended, revoked; the registry calls as the service makes them.
                v1 = admin.post("/v1/licences", json=licence_body("lic-amended")).json()
                amend = licence_body("lic-amended") | {"action": "amend", "scope": ["eval"]}
                v2 = admin.post("/v1/licences", json=amend)
                assert v2.status_code == 201, v2.text
                last = admin.post("/v1/licences/lic-amended/revoke", json={"reason": "unpaid"})
                assert last.status_code == 201, last.text
                c1, _ = grant(relayed, log_key, v1["record"])
                c2, _ = grant(relayed, log_key, v2.json()["record"])
                relayed.revoke(log_key, c1, parse_object(v2.json()["record"]).leaf_hash)
                relayed.revoke(log_key, c2, bytes.fromhex(last.json()["leaf_hash"][2:]))
                entries = [interaction(i, seed=71, account=f"acct-{i % 3}") for i in range(7)]
                receipts = admin.post("/v1/entries/batch", json={"entries": entries}).json()[
                    "receipts"
                ]
                anchored = admin.post("/v1/admin/anchor")
                assert anchored.status_code == 200, anchored.text
                bundle = admin.get(f"/v1/evidence/{receipts[4]['leaf_hash']}").json()
                pack = admin.post(
                    "/v1/evidence",
                    json={"account_ids": ["acct-1", "acct-2"], "kind": "interaction"},
                )
                assert pack.status_code == 200, pack.text
                proven_revoked = admin.get("/v1/licences/lic-proof").json()
                assert proven_revoked["revoked"]["evidence"] is not None, proven_revoked
                assert "checkpoint_note" in proven_revoked["revoked"]["evidence"]
                log_only = admin.get("/v1/licences/lic-unsent").json()
                assert log_only["revoked"]["evidence"] is not None, log_only
                amended = admin.get("/v1/licences/lic-amended").json()
                assert amended["revoked"]["evidence"] is not None, amended
            yield Log(
                server,
                node,
                identity,
                bundle,
                pack.content,
                files[0],
                granted_block,
                files[1],
                files[2],
                identity | {"licence_registry": "0x" + rogue.address.hex()},
                proven_revoked,
                log_only,
                amended,
                {"record": v1["record"], "registry": amended["registry"]},
            )
        finally:
            assert server.stop() == 0
    finally:
        node.stop()


@dataclass
class Forged:
    """What a stranger made on the same chain: a LogAnchor copy holding the real log id
    with back-dated records anchored, and a LicenceRegistry granting a made-up licence."""

    identity: dict[str, Any]
    """The stranger's own identity document for their copy."""
    bundle: dict[str, Any]
    licence: dict[str, Any]


@pytest.fixture(scope="module")
def forged(log: Log) -> Forged:
    client = ChainClient(log.anvil.url, key_from_hex(OTHER_KEY, "stranger"))
    log_key = account(STRANGER_LOG_KEY)
    deployed, anchor = deploy_log(
        client, log_key.address, log_name=log.identity["name"], admin=Account.create().address
    )
    assert "0x" + deployed.log_id.hex() == log.identity["log_id"]
    records = [interaction(i, seed=666, ts=f"2025-01-0{1 + i}T09:00:00.000Z") for i in range(3)]
    leaves = [parse_object(record).leaf_hash for record in records]
    root = root_hash(leaves)
    signer = LogSigner(log_key, Domain(deployed.log_id, deployed.chain_id, deployed.contract))
    receipt = anchor.anchor(
        deployed.log_id, len(leaves), root, [], signer.anchor_signature(len(leaves), root)
    )
    block = client.block(receipt.block_number)
    assert block is not None
    bundle = {
        "format": "model-ledger/evidence/v1",
        "chain_id": deployed.chain_id,
        "contract": "0x" + deployed.contract.hex(),
        "log_id": "0x" + deployed.log_id.hex(),
        "checkpoint": {
            "tree_size": len(leaves),
            "root": "0x" + root.hex(),
            "anchor": {
                "tx_hash": "0x" + receipt.tx_hash.hex(),
                "block_number": receipt.block_number,
                "block_hash": "0x" + receipt.block_hash.hex(),
                "block_timestamp": block.timestamp,
            },
        },
        "entries": [
            {
                "leaf_index": 1,
                "leaf_hash": "0x" + leaves[1].hex(),
                "record": records[1],
                "proof": ["0x" + node.hex() for node in inclusion_proof(1, leaves)],
            }
        ],
    }
    registry = deploy_registry(client, log_key.address)
    record = licence_record("lic-forged", "66" * 16)
    grant(registry.registry, log_key, record)
    identity = log.identity | {
        "log_anchor": bundle["contract"],
        "log_signer": log_key.address.lower(),
        "licence_registry": "0x" + registry.address.hex(),
    }
    return Forged(identity, bundle, licence_file(record, deployed.chain_id, registry.address))


def as_bytes(document: Any) -> bytes:
    return document if isinstance(document, bytes) else json.dumps(document, indent=2).encode()


def python(kind: str, document: Any, identity: dict[str, Any], rpc_url: str) -> dict[str, Any]:
    """`ledger verify` / `ledger licence check` in process, as the corpus words it (for
    evidence also the verdict line and the checks `ledger verify` prints)."""
    pinned = parse_identity(json.dumps(identity))
    with JsonRpcReader(rpc_url) as reader:
        return (licence_outcome if kind == "licence" else evidence_outcome)(
            as_bytes(document), pinned, reader
        )


def on_page(page: Page, document: Any) -> dict[str, Any]:
    """The page's answer, in the same words as `python`."""
    shown = verify_text(page, as_bytes(document).decode())
    found: dict[str, Any] = outcome(shown)
    if shown["verdict"] in ("active", "not active"):
        found["statement"] = shown["text"]
    elif shown["checks"][0]["check"] != "licence":
        found["statement"] = shown["text"]
        found["checks"] = [[c["check"], c["passed"], c["detail"]] for c in shown["checks"]]
    return found


def words(found: dict[str, Any]) -> dict[str, Any]:
    """Verdict and check, and the field when the check is "log identity" (elsewhere the
    licence checker names the field after the check: "contract" for "contract")."""
    keep = (
        ("verdict", "check", "field")
        if found.get("check") == "log identity"
        else ("verdict", "check")
    )
    return {k: v for k, v in found.items() if k in keep}


def same(
    page: Page,
    kind: str,
    document: Any,
    identity: dict[str, Any],
    rpc_url: str,
    expected: dict[str, Any],
) -> None:
    """Both verifiers give `expected` on `document`, with `identity` pinned (already
    pinned on the page) and the node at `rpc_url`; for evidence, in the same words: the
    verdict line and every check's detail (but for why a node could not be reached, which
    is the HTTP client's to say); for a licence the chain answered, its sentence."""
    in_python = python(kind, document, identity, rpc_url)
    in_page = on_page(page, document)
    assert (words(in_python), words(in_page)) == (expected, expected)
    if kind == "evidence" and expected["verdict"] != "not verified":
        assert (in_page["statement"], in_page["checks"]) == (
            in_python["statement"],
            in_python["checks"],
        )
    if expected["verdict"] in ("active", "not active"):  # `ledger licence check`'s sentence
        assert in_page["statement"] == in_python["statement"]


def pin_log(page: Page, identity: dict[str, Any], rpc_url: str | None = None) -> None:
    assert pin(page, json.dumps(identity, indent=2)).startswith("Pinned (by you)")
    if rpc_url is not None:
        set_node(page, rpc_url)


def test_real_evidence_and_licence_are_valid_in_both(log: Log, page: Page) -> None:
    page.events.clear()
    started = time.monotonic()
    identity = log.identity
    assert identity["rpc_url"] == log.anvil.url and identity["explorer"] == EXPLORER
    pinned = parse_identity(json.dumps(identity))
    open_page(page, f"{log.server.url}/verify")
    pin_log(page, identity)
    assert (
        page.evaluate("document.getElementById('rpc-url').value") == ""
    )  # never filled in by the page
    assert (
        page.evaluate("document.getElementById('use-suggested').textContent")
        == f"Use the operator's node {log.anvil.url}"
    )
    set_node(page, log.anvil.url)

    with JsonRpcReader(log.anvil.url) as reader:
        result = verify_evidence(as_bytes(log.bundle), reader, pinned)
    shown = verify_text(page, json.dumps(log.bundle, indent=2))
    assert shown["verdict"] == "valid" and shown["state"] == "verified", shown
    assert shown["text"] == f"VALID: {result.statement()}"
    assert (
        [c["check"] for c in shown["checks"]]
        == [c.name for c in result.checks]
        == [
            "bundle",
            "log identity",
            "record",
            "leaf hash",
            "inclusion",
            "checkpoint note",
            "witnesses",
            "chain id",
            "contract",
            "log",
            "root on chain",
            "anchor transaction",
            "anchor block",
        ]
    )
    # the service's cosigned checkpoint note, checked in the same words (no witness here)
    assert [c["detail"] for c in shown["checks"][5:7]] == [c.detail for c in result.checks[5:7]]
    assert "signed by the pinned log's note key" in shown["checks"][5]["detail"]
    anchor = log.bundle["checkpoint"]["anchor"]
    assert shown["links"] == [
        f"{EXPLORER}/tx/{anchor['tx_hash']}",
        f"{EXPLORER}/block/{anchor['block_number']}",
    ]
    assert shown["facts"]["existed no later than"].startswith(
        f"{result.statement().split()[4]} (block {anchor['block_number']}"
    )
    assert f"reading the chain from the node at {log.anvil.url}" in shown["against"]
    assert shown["title"] == "What was proven"
    record = log.bundle["entries"][0]["record"]
    assert shown["records"][0]["account"] == record["body"]["account_id"] == "acct-1"

    with JsonRpcReader(log.anvil.url) as reader:
        packed = verify_evidence(log.pack, reader, pinned)
    shown = verify_text(page, log.pack.decode())
    assert shown["verdict"] == "valid" and shown["text"] == f"VALID: {packed.statement()}", shown
    assert [c["check"] for c in shown["checks"]] == [c.name for c in packed.checks]
    assert [c["check"] for c in shown["checks"]][:5] == [
        "pack",
        "log identity",
        "records",
        "query",
        "inclusion",
    ]

    same(page, "licence", log.licence, identity, log.anvil.url, {"verdict": "active"})
    shown = verify_text(page, json.dumps(log.licence))
    assert shown["text"].startswith("ACTIVE: licence 'lic-real' of 'acct-acme' is active until")
    assert [c["check"] for c in shown["checks"]] == [
        "licence",
        "commitment",
        "log identity",
        "chain id",
        "contract",
        "issuer",
        "status",
    ]
    assert shown["facts"]["granted in block"].startswith(str(log.granted_block))
    assert shown["facts"]["granted with key"] == f"{identity['log_signer']} (the pinned log key)"
    same(
        page,
        "licence",
        log.revoked,
        identity,
        log.anvil.url,
        {"verdict": "not active"},
    )
    shown = verify_text(page, json.dumps(log.revoked))
    assert shown["text"].startswith("REVOKED: licence 'lic-gone'")
    assert shown["state"] == "inactive"  # a proven state, not a failure (issue 17, F9)
    assert [c["passed"] for c in shown["checks"]] == [True] * 7
    assert shown["checks"][-1]["detail"].startswith("not active: revoked in block ")
    assert page.evaluate(
        "document.querySelector('#checks li[data-check=status] .check-name').textContent"
    ) == ("not active: status")
    assert page.errors() == []
    assert time.monotonic() - started < 20


def test_a_revocation_with_its_evidence_proves_its_reason_in_both(log: Log, page: Page) -> None:
    """Issue 17 (F8): the licence answer fetched after a revocation carries the revoke
    record's bundle; both verifiers prove it and tie its reason to the registry's Revoked
    event, in the same words; evidence of another record, or an edited one, fails
    "revocation" in both."""
    page.events.clear()
    url = log.anvil.url
    identity = log.identity
    open_page(page, f"{log.server.url}/verify")
    pin_log(page, identity, url)
    answer = log.proven_revoked
    leaf = answer["revoked"]["leaf_hash"]
    same(page, "licence", answer, identity, url, {"verdict": "not active"})
    in_python = python("licence", answer, identity, url)
    assert (
        f"reason 'breach of clause 4' (revocation record leaf {leaf}, matches the registry)"
        in (in_python["statement"])
    )
    shown = verify_text(page, json.dumps(answer))
    assert shown["state"] == "inactive" and shown["checks"][-1]["check"] == "status"
    assert [c["check"] for c in shown["checks"] if c["passed"]][-2:] == ["revocation", "status"]
    assert shown["facts"]["revocation on chain"].startswith(leaf)
    assert shown["facts"]["revocation record"].endswith("matches the registry")
    assert "reason 'breach of clause 4';" in shown["facts"]["revocation record"]
    # the grant file alone: the chain's revocation hash, and where its proof is
    same(page, "licence", {"record": answer["record"]}, identity, url, {"verdict": "not active"})
    shown = verify_text(page, json.dumps({"record": answer["record"]}))
    assert (
        f"in block {shown['facts']['revoked in block'].split()[0]}, revocation record leaf"
        in (shown["text"])
    )
    assert (
        f"leaf {leaf} (its reason is proven by the GET /v1/licences/{{id}} answer"
        in (shown["text"])
    )
    assert shown["facts"]["revocation on chain"].startswith(leaf)
    assert shown["facts"]["revocation record"].startswith("not in this file")

    swapped = answer | {"revoked": answer["revoked"] | {"evidence": log.bundle}}
    expected = {"verdict": "invalid", "check": "revocation"}
    same(page, "licence", swapped, identity, url, expected)
    assert (
        "which is not a revoke record of licence 'lic-proof'"
        in (verify_text(page, json.dumps(swapped))["text"])
    )
    edited = json.loads(json.dumps(answer))
    edited["revoked"]["evidence"]["entries"][0]["record"]["body"]["reason"] = "none at all"
    same(page, "licence", edited, identity, url, expected)
    assert page.errors() == []


def test_a_revocation_the_log_proves_but_the_registry_lacks_is_not_valid_in_both(
    log: Log, page: Page, tmp_path: Path
) -> None:
    """Hostile review 2, M1: the answer for a licence whose revoke record the log holds,
    anchored, while the registry's revoke was never sent, is NOT VALID in both verifiers,
    naming the record, its reason and the registry's silence (not ACTIVE); evidence of
    another record fails "revocation"."""
    page.events.clear()
    url = log.anvil.url
    identity = log.identity
    open_page(page, f"{log.server.url}/verify")
    pin_log(page, identity, url)
    answer = log.log_only_revoked
    leaf = answer["revoked"]["leaf_hash"]
    same(page, "licence", answer, identity, url, {"verdict": "not active", "check": "status"})
    statement = python("licence", answer, identity, url)["statement"]
    assert statement.startswith(
        f"NOT VALID: licence 'lic-unsent' of 'acct-acme': the log holds revoke record {leaf}"
        " (reason 'fraud\\u202e fdp.exe') of this licence, anchored in block "
    ), statement
    assert "; the registry has not revoked it (at block " in statement
    shown = verify_text(page, json.dumps(answer))
    assert shown["state"] == "failed" and shown["facts"]["status on chain"] == "active"
    assert shown["facts"]["revocation record"].endswith(
        ": the registry has NOT revoked this commitment"
    )
    # L3: the reason's bidi override is shown escaped in the facts, as in the sentence
    assert "reason 'fraud\\u202e fdp.exe';" in shown["facts"]["revocation record"]
    assert "\u202e" not in shown["text"] + json.dumps(shown["facts"], ensure_ascii=False)
    # `mledger licence check` itself: the sentence on stderr, exit 1 (not active)
    folder = tmp_path
    (folder / "answer.json").write_text(json.dumps(answer))
    (folder / "log.json").write_text(json.dumps(identity))
    done = subprocess.run(
        [sys.executable, "-m", "ledger", "licence", "check", str(folder / "answer.json")]
        + ["--log", str(folder / "log.json"), "--rpc-url", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and done.stderr.startswith(statement), done.stderr
    printed = json.loads(done.stdout)
    assert printed["active"] is False and printed["status"] == "active"
    assert printed["revocation_record"]["matches_registry"] is False
    # the grant record alone is active: nothing in the file says otherwise
    alone = {"record": answer["record"], "registry": answer["registry"]}
    same(page, "licence", alone, identity, url, {"verdict": "active"})
    swapped = answer | {"revoked": answer["revoked"] | {"evidence": log.bundle}}
    same(page, "licence", swapped, identity, url, {"verdict": "invalid", "check": "revocation"})
    assert page.errors() == []


def test_a_licence_superseded_by_an_amendment_names_the_amend_record_in_both(
    log: Log, page: Page
) -> None:
    """Hostile review 2, L1: the registry's revocation of an amended licence's v1 is the
    amend record's commitment; both verifiers say "superseded ... by amend record", not
    "revocation record", and the revoke record the answer carries (of the licence id, made
    later) beside v1 is REVOKED, not INVALID."""
    page.events.clear()
    url = log.anvil.url
    identity = log.identity
    open_page(page, f"{log.server.url}/verify")
    pin_log(page, identity, url)
    amend_leaf = log.amended["commitment"]
    revoke_leaf = log.amended["revoked"]["leaf_hash"]
    same(page, "licence", log.superseded, identity, url, {"verdict": "not active"})
    statement = python("licence", log.superseded, identity, url)["statement"]
    assert "was superseded in block " in statement and "revocation record" not in statement
    assert f"by amend record leaf {amend_leaf}, a commitment the registry holds; at " in statement
    with_evidence = log.superseded | {"revoked": log.amended["revoked"]}
    same(page, "licence", with_evidence, identity, url, {"verdict": "not active"})
    statement = python("licence", with_evidence, identity, url)["statement"]
    assert (
        f"; then the log's revoke record {revoke_leaf} (reason 'unpaid'), anchored in block"
        in statement
    ), statement
    shown = verify_text(page, json.dumps(with_evidence))
    assert shown["state"] == "inactive"
    assert shown["facts"]["revocation on chain"].startswith(f"{amend_leaf} (the leaf hash of")
    assert shown["facts"]["revocation record"].endswith(
        "revoked the licence after the amendment that superseded this commitment"
    )
    # v2, the current commitment, is revoked by that record, which matches the registry
    same(page, "licence", log.amended, identity, url, {"verdict": "not active"})
    assert "matches the registry" in python("licence", log.amended, identity, url)["statement"]
    assert page.errors() == []


def test_forgeries_fail_the_same_check_in_both(log: Log, forged: Forged, page: Page) -> None:
    page.events.clear()
    url = log.anvil.url
    real = log.identity
    open_page(page, f"{log.server.url}/verify")
    pin_log(page, real, url)

    # Sanity: against the stranger's own identity their evidence is flawless; only the pin stops it.
    assert python("evidence", forged.bundle, forged.identity, url)["verdict"] == "valid"
    assert python("licence", forged.licence, forged.identity, url)["verdict"] == "active"

    same(
        page,
        "evidence",
        forged.bundle,
        real,
        url,
        {"verdict": "invalid", "check": "log identity", "field": "log_anchor"},
    )
    claiming_real = forged.bundle | {"contract": real["log_anchor"]}
    same(
        page, "evidence", claiming_real, real, url, {"verdict": "invalid", "check": "root on chain"}
    )
    same(
        page,
        "licence",
        forged.licence,
        real,
        url,
        {"verdict": "invalid", "check": "log identity", "field": "licence_registry"},
    )
    bare = forged.licence["record"]
    same(page, "licence", bare, real, url, {"verdict": "not active", "check": "status"})
    assert verify_text(page, json.dumps(bare))["text"].startswith(
        "UNKNOWN: licence 'lic-forged' of 'acct-acme' was never granted"
    )

    later = copy.deepcopy(log.bundle)
    later["checkpoint"]["anchor"]["block_timestamp"] += 1
    same(page, "evidence", later, real, url, {"verdict": "invalid", "check": "anchor block"})
    other_tx = copy.deepcopy(log.bundle)
    other_tx["checkpoint"]["anchor"]["tx_hash"] = forged.bundle["checkpoint"]["anchor"]["tx_hash"]
    same(
        page, "evidence", other_tx, real, url, {"verdict": "invalid", "check": "anchor transaction"}
    )
    closed = f"http://127.0.0.1:{free_port()}"
    set_node(page, closed)
    same(page, "evidence", log.bundle, real, closed, {"verdict": "not verified", "check": "chain"})
    same(page, "licence", log.licence, real, closed, {"verdict": "not verified", "check": "chain"})

    # The stranger's identity arrives in a link: shown beside the pinned one, not used.
    link = base64.urlsafe_b64encode(json.dumps(forged.identity).encode()).decode().rstrip("=")
    open_link(page, f"{log.server.url}/verify#log={link}")
    page.wait_for("!document.getElementById('log-conflict').hidden")
    assert forged.identity["log_anchor"] in page.evaluate(
        "document.getElementById('conflict-link').textContent"
    )
    click(page, "keep-pinned")
    set_node(page, url)
    assert words(on_page(page, forged.bundle)) == {
        "verdict": "invalid",
        "check": "log identity",
        "field": "log_anchor",
    }
    assert page.errors() == [] or all("ERR_CONNECTION_REFUSED" in e for e in page.errors())


def test_identities_naming_the_wrong_contract_or_key_fail_in_both(log: Log, page: Page) -> None:
    page.events.clear()
    url = log.anvil.url
    open_page(page, f"{log.server.url}/verify")
    # The log's LicenceRegistry in the LogAnchor's place: code, but not LogAnchor's.
    not_anchor = log.identity | {"log_anchor": log.identity["licence_registry"]}
    pin_log(page, not_anchor, url)
    same(
        page,
        "evidence",
        log.bundle | {"contract": not_anchor["log_anchor"]},
        not_anchor,
        url,
        {"verdict": "invalid", "check": "contract"},
    )
    # No code at all there.
    empty = log.identity | {"log_anchor": "0x" + hashlib.sha256(b"nobody").hexdigest()[:40]}
    pin_log(page, empty, url)
    same(
        page,
        "evidence",
        log.bundle | {"contract": empty["log_anchor"]},
        empty,
        url,
        {"verdict": "invalid", "check": "contract"},
    )
    # Another log key: the contract's log is not this identity's.
    other_key = log.identity | {"log_signer": "0x" + "12" * 20}
    pin_log(page, other_key, url)
    same(page, "evidence", log.bundle, other_key, url, {"verdict": "invalid", "check": "log"})
    # Another chain named by both the identity and the evidence: the node serves 31337.
    mainnet = log.identity | {"chain_id": 1}
    pin_log(page, mainnet, url)
    same(
        page,
        "evidence",
        log.bundle | {"chain_id": 1},
        mainnet,
        url,
        {"verdict": "invalid", "check": "chain id"},
    )
    on_mainnet = log.licence | {
        "registry": {"chain_id": 1, "contract": log.identity["licence_registry"]}
    }
    same(page, "licence", on_mainnet, mainnet, url, {"verdict": "invalid", "check": "chain id"})
    # The LogAnchor in the LicenceRegistry's place.
    not_registry = log.identity | {"licence_registry": log.identity["log_anchor"]}
    pin_log(page, not_registry, url)
    served = log.licence | {
        "registry": {
            "chain_id": log.identity["chain_id"],
            "contract": not_registry["licence_registry"],
        }
    }
    same(page, "licence", served, not_registry, url, {"verdict": "invalid", "check": "contract"})
    assert page.errors() == []


def test_a_grant_signed_by_another_issuer_key_is_not_the_logs_licence(log: Log, page: Page) -> None:
    """A leaked gas key deploys a registry whose one issuer is itself and grants whatever
    its holder likes. An identity naming that registry (a tampered copy, or an operator's
    mistake) holds that grant as active, but it is not the log's licence: both checkers
    fail "issuer" and never say ACTIVE."""
    page.events.clear()
    url = log.anvil.url
    open_page(page, f"{log.server.url}/verify")
    pin_log(page, log.leaked_identity, url)
    same(
        page,
        "licence",
        log.leaked,
        log.leaked_identity,
        url,
        {"verdict": "invalid", "check": "issuer"},
    )
    shown = verify_text(page, json.dumps(log.leaked))
    assert (shown["state"], shown["field"]) == ("failed", "issuer")
    assert (
        shown["text"].startswith("INVALID: issuer check failed: the registry says issuer key ")
        and "ACTIVE" not in shown["text"]
    )
    assert (
        shown["facts"]["status on chain"] == "active"
    )  # what the registry says; not what the page concludes
    gas = account(DEV_ANCHOR_KEY).address.lower()
    assert shown["facts"]["granted with key"] == f"{gas}, NOT the pinned log key"
    assert "not this log's licence" in shown["checks"][-1]["explain"]

    pinned = parse_identity(json.dumps(log.leaked_identity))
    with JsonRpcReader(url) as reader, pytest.raises(LicenceMismatchError) as caught:
        check_licence(read_document(as_bytes(log.leaked)), reader, pinned)
    assert caught.value.field == "issuer"
    assert caught.value.message == f"issuer: {shown['checks'][-1]['detail']}"  # the same words
    assert (
        f"issuer key {gas} signed this grant, not the pinned log key {log.identity['log_signer']}"
        in caught.value.message
    )
    assert page.errors() == []


def test_an_anchor_relayed_through_a_strangers_forwarder_is_valid_in_both(
    log: Log, page: Page
) -> None:
    """Anyone may relay a checkpoint the log key signed (GET /v1/checkpoints/latest
    publishes the signature). A stranger relays the next one through a forwarder contract
    of their own before the operator does: the transaction calls the forwarder, and
    LogAnchor, called by it, emits Anchored. The service adopts that anchor, its evidence
    names the stranger's transaction, and both verifiers find it VALID: the Anchored event
    of the pinned contract, in a successful transaction in the named block, is the proof."""
    page.events.clear()
    url = log.anvil.url
    stranger = ChainClient(url, key_from_hex(OTHER_KEY, "stranger"))
    forwarder = deploy_forwarder(stranger)
    with log.server.client(ADMIN_KEY) as admin:
        entries = [interaction(i, seed=72, account="acct-relay") for i in range(3)]
        receipts = admin.post("/v1/entries/batch", json={"entries": entries}).json()["receipts"]
        assert admin.post("/v1/admin/seal").status_code == 200
        signed = admin.get("/v1/checkpoints/latest").json()
        anchored = signed["anchor"]
        first = log.bundle["checkpoint"]["tree_size"]
        size = signed["tree_size"]
        assert size == first + 3 and (anchored is None or anchored["status"] != "confirmed")
        proof = admin.get("/v1/proofs/consistency", params={"first": first, "second": size}).json()[
            "proof"
        ]
        # The stranger: the signed checkpoint, relayed through their forwarder.
        log_anchor = log.identity["log_anchor"]
        r, vs = compact_signature(signed["signature"])
        call = shipped_anchor_call(
            stranger,
            log_anchor,
            log.identity["log_id"],
            size,
            signed["root"],
            signed["index_root"],
            proof,
            r,
            vs,
        )
        relay = forward(stranger, forwarder, log_anchor, call)
        # The operator's anchorer finds the size anchored and adopts the stranger's transaction.
        assert admin.post("/v1/admin/anchor").status_code == 200, (
            "the service did not adopt the relayed anchor"
        )
        bundle = admin.get(f"/v1/evidence/{receipts[1]['leaf_hash']}").json()
    anchor = bundle["checkpoint"]["anchor"]
    assert (bundle["checkpoint"]["tree_size"], anchor["tx_hash"]) == (
        size,
        "0x" + relay.tx_hash.hex(),
    )
    with JsonRpcReader(url) as reader:
        receipt = reader.receipt(relay.tx_hash)
    assert (
        receipt is not None
        and receipt.to is not None
        and "0x" + receipt.to.hex() == forwarder.lower() != log_anchor
    )

    open_page(page, f"{log.server.url}/verify")
    pin_log(page, log.identity, url)
    same(page, "evidence", bundle, log.identity, url, {"verdict": "valid"})
    assert page.errors() == []


def shipped_anchor_call(
    client: ChainClient,
    log_anchor: str,
    log_id: str,
    size: int,
    root: str,
    index_root: str,
    proof: list[str],
    r: bytes,
    vs: bytes,
) -> bytes:
    """The calldata of LogAnchor.anchor(...) for a signed checkpoint."""
    from ledger.chain.log_anchor import LogAnchor

    binding = LogAnchor(client, bytes.fromhex(log_anchor[2:]))
    return binding._data(
        "anchor",
        bytes.fromhex(log_id[2:]),
        size,
        bytes.fromhex(root[2:]),
        bytes.fromhex(index_root[2:]),
        [bytes.fromhex(node[2:]) for node in proof],
        r,
        vs,
    )


def test_a_link_naming_a_lying_node_pins_nothing_and_reaches_it_only_when_chosen(
    log: Log, forged: Forged, page: Page
) -> None:
    """The attack: a link carrying the real identity with only rpc_url changed to a lying
    node, which makes the stranger's back-dated bundle (claiming the real contract) VALID
    to whoever reads the chain through it. The page used to pin such a link silently and
    read through its node at once. Now nothing is pinned until the user confirms, the
    node field stays empty until the user types a node or presses the button that names
    the operator's node, and the result names the node it read."""
    page.events.clear()
    url = log.anvil.url
    real_anchor = log.identity["log_anchor"]
    claiming_real = forged.bundle | {"contract": real_anchor}
    size = claiming_real["checkpoint"]["tree_size"]
    root_call = (
        "0x"
        + shipped_contract("LogAnchor")
        .function("rootAt")
        .encode(bytes.fromhex(log.identity["log_id"][2:]), size)
        .hex()
    )
    forged_tx = claiming_real["checkpoint"]["anchor"]["tx_hash"]

    def lie(method: str, params: list[Any], ask: Any) -> Any:
        if (
            method == "eth_call"
            and params[0]["to"].lower() == real_anchor
            and params[0]["data"].lower() == root_call
        ):
            return claiming_real["checkpoint"]["root"]  # "the real contract anchored this root"
        found = ask(method, params)
        if method == "eth_getTransactionReceipt" and params[0] == forged_tx:
            for entry in found["logs"]:  # "the real contract emitted this Anchored event"
                entry["address"] = real_anchor
        return found

    liar = LyingNode(url, lie)
    try:
        # What the lie achieves against a verifier that reads through it (Python's verdict with
        # --rpc-url of the liar).
        assert python("evidence", claiming_real, log.identity, liar.url)["verdict"] == "valid"
        liar.asked.clear()

        lying = log.identity | {"rpc_url": liar.url}
        link = base64.urlsafe_b64encode(json.dumps(lying).encode()).decode().rstrip("=")
        open_page(page, f"{log.server.url}/verify")
        open_link(page, f"{log.server.url}/verify#log={link}")
        page.wait_for("!document.getElementById('log-conflict').hidden")
        assert page.evaluate("document.getElementById('log-status').dataset.state") == "none"
        assert liar.url in page.evaluate("document.getElementById('conflict-link').textContent")
        assert page.evaluate("document.getElementById('rpc-url').value") == ""
        shown = verify_text(page, json.dumps(claiming_real))
        assert shown["verdict"] == "mathematics only" and "No log is pinned" in shown["against"], (
            shown
        )

        pin_link(page)  # the user pins the link's identity (its log fields are the real ones)
        assert page.evaluate("document.getElementById('log-status').dataset.state") == "pinned"
        assert page.evaluate("document.getElementById('rpc-url').value") == ""
        shown = verify_text(page, json.dumps(claiming_real))
        assert shown["verdict"] == "mathematics only" and "no node given" in shown["against"], shown
        assert liar.asked == []  # the lying node was never asked anything

        set_node(page, url)  # the user's own node: the forgery fails
        same(
            page,
            "evidence",
            claiming_real,
            lying,
            url,
            {"verdict": "invalid", "check": "root on chain"},
        )
        assert liar.asked == []

        # Only the user's explicit choice reads through the suggested node; the result says whose
        # node it was.
        set_node(page, "")
        warning = page.evaluate("document.getElementById('suggested-warning').textContent")
        assert "the operator's node" in warning and "can lie about the chain" in warning
        click(page, "use-suggested")
        shown = verify_text(page, json.dumps(claiming_real))
        assert (
            liar.asked and shown["verdict"] == "valid"
        )  # the lie, believed: the node chosen is trusted
        assert (
            f"reading the chain from the node at {liar.url}, the operator's node"
            in shown["against"]
        )
        assert "can lie about the chain" in shown["against"]
        assert (
            page.evaluate("document.getElementById('checked-against').dataset.node") == "suggested"
        )
    finally:
        liar.stop()
    assert page.errors() == []


ODD_ANSWERS: dict[str, tuple[str, Callable[[Any], bytes], str]] = {
    # bytes.fromhex skips whitespace: Python read this code as LogAnchor's, the page refused it.
    "hex-with-spaces": (
        "eth_getCode",
        lambda real: json.dumps(real[:10] + "  " + real[10:]).encode(),
        "eth_getCode: expected 0x hex from the node at ",
    ),
    # response.json() took the last "result": the page believed it, Python refused the answer.
    "result-twice": (
        "eth_call",
        lambda real: b'"0x", "result": ' + json.dumps(real).encode(),
        "eth_call: the node at ",
    ),
    # A float anywhere in the answer, even a member nobody reads.
    "float": (
        "eth_getTransactionReceipt",
        lambda real: json.dumps(real | {"effectiveGasPrice": 1.5e9}).encode(),
        "eth_getTransactionReceipt: the node at ",
    ),
    # Nested 40 deep: strict_json.py refuses more than 32 before parsing; the page did not.
    "deep": (
        "eth_getBlockByNumber",
        lambda real: (
            json.dumps(real | {"extra": "DEEP"}).encode().replace(b'"DEEP"', b"[" * 40 + b"]" * 40)
        ),
        "eth_getBlockByNumber: the node at ",
    ),
}
"""method lied about -> (the answer's result as raw JSON, made from the real one; how the
verdict's reason starts)."""


def test_odd_node_answers_are_read_by_one_rule_in_both(log: Log, page: Page) -> None:
    """A node answering evidence reads with JSON-RPC that one verifier read and the other
    refused: both now refuse it, NOT VERIFIED because the chain could not be read, in the
    same words, each check's detail included. Before, Python took "0x  6080..." for code
    (bytes.fromhex skips spaces) where the page refused it, and the page read answers with
    response.json() (the last of two "result"s wins, floats and any depth are fine) where
    Python refuses them. The licence check reads alike: LicenceRegistry.status answered
    with its "result" twice is refused by both."""
    page.events.clear()
    lying: dict[str, Any] = {}

    def lie(asked: str, params: list[Any], ask: Any) -> Any:
        real = ask(asked, params)
        if asked != lying.get("method") or not lying["when"](params):
            return real
        return Raw(b'{"jsonrpc": "2.0", "id": {id}, "result": ' + lying["odd"](real) + b"}")

    liar = LyingNode(log.anvil.url, lie)
    try:
        open_page(page, f"{log.server.url}/verify")
        pin_log(page, log.identity, liar.url)
        for case, (method, odd, reason) in ODD_ANSWERS.items():
            lying.update(method=method, odd=odd, when=lambda _params: True)
            liar.asked.clear()
            in_python = python("evidence", log.bundle, log.identity, liar.url)
            in_page = on_page(page, log.bundle)
            assert (words(in_python), words(in_page)) == (
                {"verdict": "not verified", "check": "chain"},
                {"verdict": "not verified", "check": "chain"},
            ), (case, in_python, in_page)
            assert in_page["statement"] == in_python["statement"], case
            assert in_page["checks"] == in_python["checks"], case
            assert in_page["statement"].startswith(
                f"NOT VERIFIED: the chain could not be read ({reason}"
            ), (case, in_page["statement"])
            assert method in liar.asked, case

        registry = log.identity["licence_registry"]
        lying.update(
            method="eth_call",
            odd=ODD_ANSWERS["result-twice"][1],
            when=lambda params: params[0]["to"].lower() == registry,
        )
        expected = {"verdict": "not verified", "check": "chain"}
        same(page, "licence", log.licence, log.identity, liar.url, expected)
        assert verify_text(page, json.dumps(log.licence))["text"] == (
            f"NOT VERIFIED: the chain could not be read (eth_call: the node at {liar.url} did"
            " not answer readable JSON: key 'result' appears twice in one object)"
        )
    finally:
        liar.stop()
    assert page.errors() == []


MEANING = """(() => ({
  ask: document.getElementById('ask-node').hidden
    ? null
    : document.getElementById('ask-node').textContent,
  proven: [...document.querySelectorAll('#proven li')].map((li) => li.textContent),
  notProven: [...document.querySelectorAll('#not-proven li')].map((li) => li.textContent),
}))()"""


def requested(page: Page) -> list[str]:
    """The URLs the page asked for since Network.enable (DevTools' requestWillBeSent)."""
    return [
        e["params"]["request"]["url"]
        for e in page.events
        if e.get("method") == "Network.requestWillBeSent"
    ]


def test_a_pack_on_the_page_asks_for_a_node_then_is_proven_shown_and_explained(
    log: Log, page: Page
) -> None:
    page.events.clear()
    page.send("Network.enable")
    try:
        open_page(page, f"{log.server.url}/verify")
        pin_log(page, log.identity)
        pack = json.loads(log.pack)

        # No node given: the page checks the mathematics, asks for a node, and reads no chain
        # (neither the identity's suggested node nor a guessed 127.0.0.1:8545).
        page.events.clear()
        offline = verify_text(page, log.pack.decode())
        assert offline["verdict"] == "mathematics only", offline
        explained = page.evaluate(MEANING)
        assert explained["ask"] is not None and (
            'give a node of chain id 31337 in "Chain node"' in explained["ask"]
            and "never picks a node by itself" in explained["ask"]
        )
        assert page.evaluate("document.activeElement.id") == "rpc-url"
        assert page.evaluate("document.getElementById('rpc-url').value") == ""
        assert requested(page) == [], requested(page)
        assert any("Only the mathematics" in line for line in explained["proven"])

        set_node(page, log.anvil.url)
        page.events.clear()
        shown = verify_text(page, log.pack.decode())
        assert shown["verdict"] == "valid" and shown["state"] == "verified", shown
        assert {u.split("/")[2] for u in requested(page)} == {log.anvil.url.split("/")[2]}
        explained = page.evaluate(MEANING)
        assert explained["ask"] is None
        anchor = pack["checkpoint"]["anchor"]
        when = datetime.fromtimestamp(anchor["block_timestamp"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert any(f'"Existed no later than {when}"' in line for line in explained["proven"])
        assert any(f"in block {anchor['block_number']}" in line for line in explained["proven"])
        assert any("That no other entry matches" in line for line in explained["notProven"])
        assert any('"ts") is the operator\'s word' in line for line in explained["notProven"])
        assert shown["links"] == [
            f"{EXPLORER}/tx/{anchor['tx_hash']}",
            f"{EXPLORER}/block/{anchor['block_number']}",
        ]
        assert shown["facts"]["entries"] == str(len(pack["entries"]))
        assert shown["facts"]["existed no later than"].startswith(
            f"{when} (block {anchor['block_number']}"
        )
        assert [
            (r["account"], r["model"], r["input tokens"], r["output tokens"], r["time"])
            for r in shown["records"]
        ] == [
            (
                b["account_id"],
                b["model"],
                str(b["input_tokens"]),
                str(b["output_tokens"]),
                e["record"]["ts"],
            )
            for e in pack["entries"]
            for b in [e["record"]["body"]]
        ]

        tampered = copy.deepcopy(pack)
        tampered["entries"][0]["record"]["body"]["input_tokens"] += 1
        same(
            page,
            "evidence",
            tampered,
            log.identity,
            log.anvil.url,
            {"verdict": "invalid", "check": "inclusion"},
        )
        explained = page.evaluate(MEANING)
        assert explained["proven"][0].startswith(
            'Nothing in this document can be relied on: the "inclusion" check failed'
        )
        assert page.errors() == []
    finally:
        page.send("Network.disable")
