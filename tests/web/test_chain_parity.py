"""The Python verifiers and the verification page, against one real chain: the same
verdict, naming the same check, on the same evidence.

A real `ledger serve` on a real Anvil (as `ledger deploy` set it up) logs, anchors and
grants; its log identity (GET /v1/log) is pinned in both. Its bundle, its pack and its
licence verify VALID / ACTIVE in `ledger verify` / `ledger licence check` (in process)
and in the page served by the service (headless Chromium, through the page's own
fields). Then forgeries, each failing the same check in both:

- a stranger deploys their own copy of LogAnchor, creates the log with the real log id,
  and anchors back-dated records: a bundle naming that copy fails "log identity"; the
  same bundle claiming the real contract fails "root on chain"; a link carrying the
  stranger's identity is shown beside the pinned one and not used unless chosen;
- an identity naming a contract that is not LogAnchor fails "contract"; one naming
  another log key fails "log"; one naming another chain fails "chain id";
- a licence granted on a stranger's LicenceRegistry fails "log identity" (the registry it
  names), and is unknown to the real registry;
- a changed block time, another transaction, a revoked licence and an unreachable node
  give the same verdict in both.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from ledger.chain.anvil import Anvil, free_port
from ledger.chain.client import ChainClient
from ledger.chain.deployment import deploy_log
from ledger.chain.keys import key_from_hex
from ledger.chain.licence_registry import GrantCall, deploy_registry
from ledger.formats.identity import parse_identity
from ledger.merkle import inclusion_proof, root_hash
from ledger.receipts import Domain, LogSigner
from ledger.records import parse_object
from ledger.rpc import JsonRpcReader
from ledger.verify_pack import verify_evidence
from tests.api.conftest import ADMIN_KEY, Server, ledger
from tests.chain.conftest import OTHER_KEY, anvil_binary  # noqa: F401 - fixture: fails clearly without Anvil
from tests.factories import interaction
from tests.web.chromium import Chromium, Page, require_chromium
from tests.web.form import click, open_page, outcome, pin, set_node, verify_text
from tests.web.outcomes import evidence_outcome, licence_outcome

STRANGER_LOG_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
"""The stranger's log key (Anvil's third default account; it needs no funds)."""

EXPLORER = "https://explorer.example"
CONFIRM_TIMEOUT = 60.0


@dataclass
class Log:
    """The running service, its chain and what it served."""

    server: Server
    anvil: Anvil
    identity: dict[str, Any]
    bundle: dict[str, Any]
    pack: bytes
    licence: dict[str, Any]
    revoked: dict[str, Any]


def ts(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def licence_body(licence_id: str) -> dict[str, Any]:
    return {
        "action": "grant", "licence_id": licence_id, "licensee": "acct-acme", "models": ["frontier-*"],
        "scope": ["inference"], "terms_sha256": "ab" * 32, "valid_from": ts(time.time() - 86_400),
        "valid_until": ts(time.time() + 365 * 86_400),
    }


def confirmed(admin: Any, licence_id: str, action: str) -> dict[str, Any]:
    """GET /v1/licences/{id} once its `action` is confirmed on chain."""
    deadline = time.monotonic() + CONFIRM_TIMEOUT
    while True:
        view: dict[str, Any] = admin.get(f"/v1/licences/{licence_id}").json()
        call = view["on_chain"][action]
        if call is not None and call["status"] == "confirmed":
            return view
        assert time.monotonic() < deadline, f"{action} of {licence_id} never confirmed: {view['on_chain']}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory, anvil_binary: Path) -> Iterator[Log]:  # noqa: F811
    workdir = tmp_path_factory.mktemp("parity")
    node = Anvil(0, workdir / "anvil-state.json", workdir / "anvil.log", binary=anvil_binary).start()
    try:
        data = workdir / "data"
        ledger("deploy", "--data-dir", str(data), "--rpc-url", node.url)
        server = Server(data, "--rpc-url", node.url, "--seal-interval", "0.2", "--anchor-interval", "0.3",
                        "--public-rpc-url", node.url, "--explorer", EXPLORER)
        try:
            with server.client(ADMIN_KEY) as admin:
                identity = admin.get("/v1/log").json()
                assert admin.post("/v1/licences", json=licence_body("lic-real")).status_code == 201
                assert admin.post("/v1/licences", json=licence_body("lic-gone")).status_code == 201
                entries = [interaction(i, seed=71, account=f"acct-{i % 3}") for i in range(7)]
                receipts = admin.post("/v1/entries/batch", json={"entries": entries}).json()["receipts"]
                anchored = admin.post("/v1/admin/anchor")
                assert anchored.status_code == 200, anchored.text
                bundle = admin.get(f"/v1/evidence/{receipts[4]['leaf_hash']}").json()
                pack = admin.post("/v1/evidence", json={"account_ids": ["acct-1", "acct-2"], "kind": "interaction"})
                assert pack.status_code == 200, pack.text
                licence = confirmed(admin, "lic-real", "grant")
                confirmed(admin, "lic-gone", "grant")
                assert admin.post("/v1/licences/lic-gone/revoke", json={"reason": "breach"}).status_code == 201
                revoked = confirmed(admin, "lic-gone", "revoke")
            yield Log(server, node, identity, bundle, pack.content, licence, revoked)
        finally:
            assert server.stop() == 0
    finally:
        node.stop()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    browser = Chromium(require_chromium(), tmp_path_factory.mktemp("chromium-profile"))
    try:
        tab = browser.page()
        try:
            yield tab
        finally:
            tab.close()
    finally:
        browser.stop()


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
    log_key = Account.from_key(STRANGER_LOG_KEY)
    deployed, anchor = deploy_log(client, log_key.address, log_name=log.identity["name"])
    assert "0x" + deployed.log_id.hex() == log.identity["log_id"]
    records = [interaction(i, seed=666, ts=f"2025-01-0{1 + i}T09:00:00.000Z") for i in range(3)]
    leaves = [parse_object(record).leaf_hash for record in records]
    root = root_hash(leaves)
    signer = LogSigner(log_key, Domain(deployed.log_id, deployed.chain_id, deployed.contract))
    receipt = anchor.anchor(deployed.log_id, len(leaves), root, [], signer.anchor_signature(len(leaves), root))
    block = client.block(receipt.block_number)
    assert block is not None
    bundle = {
        "format": "model-ledger/evidence/v1", "chain_id": deployed.chain_id, "contract": "0x" + deployed.contract.hex(),
        "log_id": "0x" + deployed.log_id.hex(),
        "checkpoint": {"tree_size": len(leaves), "root": "0x" + root.hex(), "anchor": {
            "tx_hash": "0x" + receipt.tx_hash.hex(), "block_number": receipt.block_number,
            "block_hash": "0x" + receipt.block_hash.hex(), "block_timestamp": block.timestamp}},
        "entries": [{"leaf_index": 1, "leaf_hash": "0x" + leaves[1].hex(), "record": records[1],
                     "proof": ["0x" + node.hex() for node in inclusion_proof(1, leaves)]}],
    }
    _, registry = deploy_registry(client)
    record = {"v": 1, "kind": "licence", "ts": ts(time.time()), "salt": "66" * 16, "body": licence_body("lic-forged")}
    now = int(time.time())
    registry.grant([GrantCall(parse_object(record).leaf_hash, now - 86_400, now + 365 * 86_400)])
    identity = log.identity | {"log_anchor": bundle["contract"], "log_signer": log_key.address.lower(),
                               "licence_registry": "0x" + registry.address_bytes.hex()}
    licence = {"licence_id": "lic-forged", "record": record,
               "registry": {"chain_id": deployed.chain_id, "contract": identity["licence_registry"]}}
    return Forged(identity, bundle, licence)


def as_bytes(document: Any) -> bytes:
    return document if isinstance(document, bytes) else json.dumps(document, indent=2).encode()


def python(kind: str, document: Any, identity: dict[str, Any], rpc_url: str) -> dict[str, Any]:
    """`ledger verify` / `ledger licence check` in process, as the corpus words it (for
    evidence also the verdict line and the checks `ledger verify` prints)."""
    pinned = parse_identity(json.dumps(identity))
    with JsonRpcReader(rpc_url) as reader:
        return (licence_outcome if kind == "licence" else evidence_outcome)(as_bytes(document), pinned, reader)


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
    keep = ("verdict", "check", "field") if found.get("check") == "log identity" else ("verdict", "check")
    return {k: v for k, v in found.items() if k in keep}


def same(page: Page, kind: str, document: Any, identity: dict[str, Any], rpc_url: str, expected: dict[str, Any]) -> None:
    """Both verifiers give `expected` on `document`, with `identity` pinned (already
    pinned on the page) and the node at `rpc_url`; for evidence, in the same words: the
    verdict line and every check's detail (but for why a node could not be reached, which
    is the HTTP client's to say); for a licence the chain answered, its sentence."""
    in_python = python(kind, document, identity, rpc_url)
    in_page = on_page(page, document)
    assert (words(in_python), words(in_page)) == (expected, expected)
    if kind == "evidence" and expected["verdict"] != "not verified":
        assert (in_page["statement"], in_page["checks"]) == (in_python["statement"], in_python["checks"])
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
    assert page.evaluate("document.getElementById('rpc-url').value") == log.anvil.url  # the identity's own suggestion

    with JsonRpcReader(log.anvil.url) as reader:
        result = verify_evidence(as_bytes(log.bundle), reader, pinned)
    shown = verify_text(page, json.dumps(log.bundle, indent=2))
    assert shown["verdict"] == "valid" and shown["state"] == "verified", shown
    assert shown["text"] == f"VALID: {result.statement()}"
    assert [c["check"] for c in shown["checks"]] == [c.name for c in result.checks] == [
        "bundle", "log identity", "record", "leaf hash", "inclusion", "chain id", "contract", "log", "root on chain",
        "anchor transaction", "anchor block",
    ]
    anchor = log.bundle["checkpoint"]["anchor"]
    assert shown["links"] == [f"{EXPLORER}/tx/{anchor['tx_hash']}", f"{EXPLORER}/block/{anchor['block_number']}"]
    assert shown["facts"]["existed no later than"].startswith(f"{result.statement().split()[4]} (block {anchor['block_number']}")
    assert f"reading the chain from the node at {log.anvil.url}" in shown["against"]
    assert shown["title"] == "What was proven"
    record = log.bundle["entries"][0]["record"]
    assert shown["records"][0]["account"] == record["body"]["account_id"] == "acct-1"

    with JsonRpcReader(log.anvil.url) as reader:
        packed = verify_evidence(log.pack, reader, pinned)
    shown = verify_text(page, log.pack.decode())
    assert shown["verdict"] == "valid" and shown["text"] == f"VALID: {packed.statement()}", shown
    assert [c["check"] for c in shown["checks"]] == [c.name for c in packed.checks]
    assert [c["check"] for c in shown["checks"]][:5] == ["pack", "log identity", "records", "query", "inclusion"]

    same(page, "licence", log.licence, identity, log.anvil.url, {"verdict": "active"})
    shown = verify_text(page, json.dumps(log.licence))
    assert shown["text"].startswith("ACTIVE: licence 'lic-real' of 'acct-acme' is active until")
    assert [c["check"] for c in shown["checks"]] == ["licence", "commitment", "log identity", "chain id", "contract", "status"]
    assert shown["facts"]["granted in block"].startswith(str(log.licence["on_chain"]["grant"]["block_number"]))
    same(page, "licence", log.revoked, identity, log.anvil.url, {"verdict": "not active", "check": "status"})
    assert verify_text(page, json.dumps(log.revoked))["text"].startswith("REVOKED: licence 'lic-gone'")
    assert page.errors() == []
    assert time.monotonic() - started < 20


def test_forgeries_fail_the_same_check_in_both(log: Log, forged: Forged, page: Page) -> None:
    page.events.clear()
    url = log.anvil.url
    real = log.identity
    open_page(page, f"{log.server.url}/verify")
    pin_log(page, real)

    # Sanity: against the stranger's own identity their evidence is flawless; only the pin stops it.
    assert python("evidence", forged.bundle, forged.identity, url)["verdict"] == "valid"
    assert python("licence", forged.licence, forged.identity, url)["verdict"] == "active"

    same(page, "evidence", forged.bundle, real, url, {"verdict": "invalid", "check": "log identity", "field": "log_anchor"})
    claiming_real = forged.bundle | {"contract": real["log_anchor"]}
    same(page, "evidence", claiming_real, real, url, {"verdict": "invalid", "check": "root on chain"})
    same(page, "licence", forged.licence, real, url, {"verdict": "invalid", "check": "log identity", "field": "licence_registry"})
    bare = forged.licence["record"]
    same(page, "licence", bare, real, url, {"verdict": "not active", "check": "status"})
    assert verify_text(page, json.dumps(bare))["text"].startswith("UNKNOWN: licence 'lic-forged' of 'acct-acme' was never granted")

    later = copy.deepcopy(log.bundle)
    later["checkpoint"]["anchor"]["block_timestamp"] += 1
    same(page, "evidence", later, real, url, {"verdict": "invalid", "check": "anchor block"})
    other_tx = copy.deepcopy(log.bundle)
    other_tx["checkpoint"]["anchor"]["tx_hash"] = forged.bundle["checkpoint"]["anchor"]["tx_hash"]
    same(page, "evidence", other_tx, real, url, {"verdict": "invalid", "check": "anchor transaction"})
    closed = f"http://127.0.0.1:{free_port()}"
    set_node(page, closed)
    same(page, "evidence", log.bundle, real, closed, {"verdict": "not verified", "check": "chain"})
    same(page, "licence", log.licence, real, closed, {"verdict": "not verified", "check": "chain"})

    # The stranger's identity arrives in a link: shown beside the pinned one, not used.
    link = base64.urlsafe_b64encode(json.dumps(forged.identity).encode()).decode().rstrip("=")
    page.goto(f"{log.server.url}/verify#log={link}")
    page.wait_for("!document.getElementById('log-conflict').hidden")
    assert forged.identity["log_anchor"] in page.evaluate("document.getElementById('conflict-link').textContent")
    click(page, "keep-pinned")
    set_node(page, url)
    assert words(on_page(page, forged.bundle)) == {"verdict": "invalid", "check": "log identity", "field": "log_anchor"}
    assert page.errors() == [] or all("ERR_CONNECTION_REFUSED" in e for e in page.errors())


def test_identities_naming_the_wrong_contract_or_key_fail_in_both(log: Log, page: Page) -> None:
    page.events.clear()
    url = log.anvil.url
    open_page(page, f"{log.server.url}/verify")
    # The log's LicenceRegistry in the LogAnchor's place: code, but not LogAnchor's.
    not_anchor = log.identity | {"log_anchor": log.identity["licence_registry"]}
    pin_log(page, not_anchor, url)
    same(page, "evidence", log.bundle | {"contract": not_anchor["log_anchor"]}, not_anchor, url, {"verdict": "invalid", "check": "contract"})
    # No code at all there.
    empty = log.identity | {"log_anchor": "0x" + hashlib.sha256(b"nobody").hexdigest()[:40]}
    pin_log(page, empty, url)
    same(page, "evidence", log.bundle | {"contract": empty["log_anchor"]}, empty, url, {"verdict": "invalid", "check": "contract"})
    # Another log key: the contract's log is not this identity's.
    other_key = log.identity | {"log_signer": "0x" + "12" * 20}
    pin_log(page, other_key, url)
    same(page, "evidence", log.bundle, other_key, url, {"verdict": "invalid", "check": "log"})
    # Another chain named by both the identity and the evidence: the node serves 31337.
    mainnet = log.identity | {"chain_id": 1}
    pin_log(page, mainnet, url)
    same(page, "evidence", log.bundle | {"chain_id": 1}, mainnet, url, {"verdict": "invalid", "check": "chain id"})
    on_mainnet = log.licence | {"registry": {"chain_id": 1, "contract": log.identity["licence_registry"]}}
    same(page, "licence", on_mainnet, mainnet, url, {"verdict": "invalid", "check": "chain id"})
    # The LogAnchor in the LicenceRegistry's place.
    not_registry = log.identity | {"licence_registry": log.identity["log_anchor"]}
    pin_log(page, not_registry, url)
    served = log.licence | {"registry": {"chain_id": log.identity["chain_id"], "contract": not_registry["licence_registry"]}}
    same(page, "licence", served, not_registry, url, {"verdict": "invalid", "check": "contract"})
    assert page.errors() == []
