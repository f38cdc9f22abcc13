"""The /verify page in headless Chromium, against a real service and a real Anvil.

The service ingests, seals and anchors; the test fetches a real evidence bundle, opens
/verify, pastes the bundle and reads the page's answer: verified for the bundle as
served; failed, naming the check, when a record field, a proof node or the root was
changed; no verdict when the chain cannot be read. A licence record is checked against
a LicenceRegistry on the same chain: active, then revoked."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from ledger.chain.anvil import Anvil, free_port
from ledger.chain.artifacts import load_artifact
from ledger.chain.client import ChainClient
from ledger.chain.keys import dev_key
from ledger.chain.reverts import RevertDecoder
from ledger.merkle import root_from_inclusion_proof
from ledger.records import parse_object
from tests.api.chained import anchored_server
from tests.api.conftest import ADMIN_KEY, Server
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture: fails clearly without Anvil
from tests.factories import interaction
from tests.web.chromium import Chromium, Page, require_chromium

READ_RESULT = """(() => {
  const verdict = document.getElementById('verdict');
  const proven = {};
  for (const dd of document.querySelectorAll('#proven dd')) proven[dd.dataset.field] = dd.textContent;
  const checks = [...document.querySelectorAll('#checks li')].map((li) => [li.dataset.check, li.dataset.passed === 'true']);
  const title = document.getElementById('proven-title').textContent;
  return {state: verdict.dataset.state, check: verdict.dataset.check, text: verdict.textContent, proven, checks, title};
})()"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, anvil_binary: Path) -> Iterator[tuple[Server, Anvil]]:  # noqa: F811
    with anchored_server(tmp_path_factory.mktemp("web"), anvil_binary) as running:
        yield running


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


@pytest.fixture(scope="module")
def bundle(service: tuple[Server, Anvil]) -> dict[str, Any]:
    """The evidence bundle of leaf 2 of 5 anchored interaction records, as the service serves it."""
    server, _ = service
    with server.client(ADMIN_KEY) as admin:
        receipts = admin.post("/v1/entries/batch", json={"entries": [interaction(i, seed=51) for i in range(5)]}).json()["receipts"]
        anchored = admin.post("/v1/admin/anchor")
        assert anchored.status_code == 200, anchored.text
        served = admin.get(f"/v1/evidence/{receipts[2]['leaf_hash']}")
    assert served.status_code == 200, served.text
    document: dict[str, Any] = served.json()
    return document


def check(page: Page, url: str, document: Any, **fields: str) -> dict[str, Any]:
    """Open `url`, paste `document` (JSON), then set `fields` (element id: value), press Verify."""
    page.goto(url)
    page.evaluate("document.getElementById('document').focus()")
    page.insert_text(document if isinstance(document, str) else json.dumps(document, indent=2))
    for element, value in fields.items():
        page.evaluate(f"document.getElementById({json.dumps(element)}).value = {json.dumps(value)}")
    page.evaluate("document.getElementById('verify').click()")
    page.wait_for("!['', 'running'].includes(document.getElementById('verdict').dataset.state)")
    result: dict[str, Any] = page.evaluate(READ_RESULT)
    return result


def test_page_is_public_static_and_locked_down(service: tuple[Server, Anvil]) -> None:
    server, _ = service
    with server.client() as anonymous:
        html = anonymous.get("/verify")
        script = anonymous.get("/verify/assets/verify-core.js")
        missing = anonymous.get("/verify/assets/secrets.txt")
    assert html.status_code == 200 and html.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in html.headers["content-security-policy"] and "<textarea" in html.text
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_bundle_verified_and_tampering_named(
    service: tuple[Server, Anvil], page: Page, bundle: dict[str, Any], tmp_path: Path
) -> None:
    server, anvil = service
    page.events.clear()
    started = time.monotonic()
    url = f"{server.url}/verify?{urlencode({'rpc': anvil.url})}"
    anchor = bundle["checkpoint"]["anchor"]
    when = datetime.fromtimestamp(anchor["block_timestamp"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    verified = check(page, url, bundle)
    assert verified["state"] == "verified", verified
    assert verified["text"] == f"VALID: existed no later than {when} (block {anchor['block_number']})"
    assert [name for name, passed in verified["checks"] if passed] == [
        "bundle", "record", "leaf hash", "inclusion", "chain id", "contract", "anchor", "root on chain", "anchor block"
    ]
    assert verified["proven"] == {
        "entry": "interaction: request req-51-2",
        "ts in the record": bundle["entries"][0]["record"]["ts"],
        "leaf index": "2",
        "leaf hash": bundle["entries"][0]["leaf_hash"],
        "log id": bundle["log_id"],
        "contract": bundle["contract"],
        "chain id": "31337",
        "tree size": "5",
        "root": bundle["checkpoint"]["root"],
        "block number": str(anchor["block_number"]),
        "existed no later than": when,
    }
    assert verified["title"] == "What was proven"
    assert page.evaluate("document.getElementById('rpc-url').value") == anvil.url  # from ?rpc=

    # Uploaded rather than pasted: the page checks the file as soon as it is chosen.
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    page.goto(url)
    file_input = page.send("DOM.querySelector", nodeId=page.send("DOM.getDocument")["root"]["nodeId"], selector="#file")
    page.send("DOM.setFileInputFiles", files=[str(tmp_path / "bundle.json")], nodeId=file_input["nodeId"])
    page.wait_for("!['', 'running'].includes(document.getElementById('verdict').dataset.state)")
    assert page.evaluate(READ_RESULT)["text"] == verified["text"]

    changed_field = copy.deepcopy(bundle)
    changed_field["entries"][0]["record"]["body"]["input_tokens"] += 1
    changed_node = copy.deepcopy(bundle)
    node = changed_node["entries"][0]["proof"][1]
    changed_node["entries"][0]["proof"][1] = node[:-1] + ("0" if node[-1] != "0" else "1")
    # A bundle whose mathematics hold, for a root the chain never anchored.
    forged = copy.deepcopy(bundle)
    record = forged["entries"][0]["record"] | {"salt": "0" * 32}
    leaf = parse_object(record).leaf_hash
    proof = [bytes.fromhex(p[2:]) for p in forged["entries"][0]["proof"]]
    forged["entries"][0] |= {"record": record, "leaf_hash": "0x" + leaf.hex()}
    forged["checkpoint"]["root"] = "0x" + root_from_inclusion_proof(2, 5, leaf, proof).hex()
    duplicate_key = json.dumps(bundle).replace('"v": 1', '"v": 1, "v": 1')

    for document, failed_check, words in (
        (changed_field, "leaf hash", "the record hashes to 0x"),
        (changed_node, "inclusion", "the proof of leaf 2 in the tree of size 5 leads to root"),
        (forged, "root on chain", "root on chain differs"),
        (duplicate_key, "bundle", "key 'v' appears twice in one object"),
    ):
        failed = check(page, url, document)
        assert (failed["state"], failed["check"]) == ("failed", failed_check), failed
        assert failed["text"].startswith(f"INVALID: {failed_check} check failed:") and words in failed["text"], failed
        assert failed["checks"][-1] == [failed_check, False]
        assert failed["title"] == "What the document claims (NOT proven: a check failed)"

    unreachable = check(page, url, bundle, **{"rpc-url": f"http://127.0.0.1:{free_port()}"})
    assert (unreachable["state"], unreachable["check"]) == ("unverified", "chain"), unreachable
    assert unreachable["text"].startswith("NOT VERIFIED: the chain could not be read: eth_chainId:")

    # A bundle of the local chain id prefills the local Anvil's URL; cleared, only the
    # mathematics is checked, and the page says so.
    page.goto(f"{server.url}/verify")
    page.evaluate("document.getElementById('document').focus()")
    page.insert_text(json.dumps(bundle))
    assert page.evaluate("document.getElementById('rpc-url').value") == "http://127.0.0.1:8545"
    offline = check(page, f"{server.url}/verify", bundle, **{"rpc-url": ""})
    assert offline["state"] == "unverified" and "the chain was NOT consulted (offline)" in offline["text"]
    assert offline["proven"]["existed no later than"] == "not established: the chain was not consulted"
    assert [error for error in page.errors() if "ERR_CONNECTION_REFUSED" not in error] == []  # the closed port
    assert time.monotonic() - started < 30


class Registry:
    """A LicenceRegistry deployed on the test chain from the shipped artifact (dev key: issuer)."""

    def __init__(self, rpc_url: str) -> None:
        self.artifact = load_artifact("LicenceRegistry")
        self.client = ChainClient(rpc_url, dev_key())
        self.decoder = RevertDecoder(self.artifact)
        deployed = self.client.transact(None, self.artifact.bytecode, self.decoder, "deploying LicenceRegistry")
        assert deployed.contract_address is not None
        self.address = deployed.contract_address.lower()
        self.contract = self.client.w3.eth.contract(abi=self.artifact.abi)

    def call(self, function: str, *args: Any) -> int:
        data = self.contract.encode_abi(function, args=list(args))
        receipt = self.client.transact(self.address, bytes.fromhex(data.removeprefix("0x")), self.decoder, function)
        return receipt.block_number


def licence(now: int) -> dict[str, Any]:
    def ts(seconds: int) -> str:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    return {
        "v": 1, "kind": "licence", "ts": ts(now), "salt": "5a" * 16,
        "body": {"action": "grant", "licence_id": "lic-7", "licensee": "acme", "models": ["frontier-*"],
                 "scope": ["inference"], "terms_sha256": "ab" * 32, "valid_from": ts(now - 86_400),
                 "valid_until": ts(now + 86_400)},
    }


def test_licence_record_active_then_revoked(service: tuple[Server, Anvil], page: Page) -> None:
    server, anvil = service
    page.events.clear()
    registry = Registry(anvil.url)
    now = registry.client.head().timestamp
    record = licence(now)
    commitment = parse_object(record).leaf_hash
    granted = registry.call("grant", commitment, now - 86_400, now + 86_400)
    url = f"{server.url}/verify?{urlencode({'rpc': anvil.url, 'registry': registry.address})}"

    active = check(page, url, record)
    assert active["state"] == "verified", active
    assert active["text"].startswith(f"ACTIVE: licence 'lic-7' of 'acme' is active until {record['body']['valid_until']} at block")
    assert active["text"].endswith("of chain 31337")
    assert [name for name, passed in active["checks"] if passed] == ["record", "commitment", "chain id", "contract", "status"]
    assert (active["proven"]["commitment"], active["proven"]["status on chain"]) == ("0x" + commitment.hex(), "active")
    assert active["proven"]["granted in block"] == str(granted)

    # What GET /v1/licences/{id} answers names the registry itself.
    served = {"licence_id": "lic-7", "record": record, "registry": {"chain_id": 31337, "contract": registry.address}}
    assert check(page, f"{server.url}/verify?{urlencode({'rpc': anvil.url})}", served)["state"] == "verified"

    stranger = check(page, url, record | {"salt": "00" * 16})
    assert (stranger["state"], stranger["check"]) == ("failed", "status")
    assert stranger["text"].startswith(f"UNKNOWN: licence 'lic-7' of 'acme' was never granted on registry {registry.address}")

    other_chain = served | {"registry": {"chain_id": 1, "contract": registry.address}}
    unreadable = check(page, url, other_chain)
    assert (unreadable["state"], unreadable["check"]) == ("unverified", "chain"), unreadable
    assert "the licence's registry is on chain id 1, but" in unreadable["text"]

    revoked_in = registry.call("revoke", commitment)
    revoked = check(page, url, record)
    assert (revoked["state"], revoked["check"]) == ("failed", "status"), revoked
    assert revoked["text"].startswith(f"REVOKED: licence 'lic-7' of 'acme' was revoked (or superseded by an amendment) in block {revoked_in};")
    assert (revoked["proven"]["revoked in block"], revoked["proven"]["granted in block"]) == (str(revoked_in), str(granted))
    assert revoked["title"] == "What the chain says"
    assert page.errors() == []
