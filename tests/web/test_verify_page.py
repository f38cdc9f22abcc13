"""The verification page as a person meets it, without a chain: saved to a file and
opened from disk (file://) in headless Chromium, driven through its own fields and
buttons. It checks the mathematics only, and says so, until a log is pinned; it
remembers the log pinned; a link never pins or replaces a log by itself (the user
confirms); the pinned identity's node is used only when the user chooses it, on a
button saying it is the operator's; no part of the URL sets the chain node; a document
that made the old depth check quadratic is answered at once. Its verdicts on the shared
corpus are the manifest's (through the form for a sample, through its core for all). The
service serves it as static, locked-down files (tests/web/test_chain_parity.py uses
them)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account

from ledger.api.main import create_app
from ledger.api.routes.web import ASSETS, PAGE_POLICY
from ledger.chain.anvil import free_port
from ledger.formats.eip712 import Domain
from ledger.formats.export_line import Erased, export_advice, export_line, is_export
from ledger.service.signer import LogSigner
from ledger.store.repository import Store
from tests.web.chromium import Page
from tests.web.corpus import RUN_VECTORS, VECTORS, comparable, differences, payload, vectors
from tests.web.form import (
    click,
    open_link,
    open_page,
    outcome,
    pin,
    pin_link,
    reload,
    set_node,
    verify_file,
    verify_text,
)

WEB = Path(__file__).parents[2] / "ledger" / "web"
LOG = (VECTORS / "identity" / "log.json").read_text(encoding="utf-8")
BUNDLE = (VECTORS / "evidence" / "bundle.json").read_text(encoding="utf-8")


def identity_text(**changes: Any) -> str:
    """The corpus's log identity with `changes` (None drops a field)."""
    document = json.loads(LOG) | changes
    return json.dumps({k: v for k, v in document.items() if v is not None}, indent=2)


def link_to(identity: str) -> str:
    return "#log=" + base64.urlsafe_b64encode(identity.encode()).decode().rstrip("=")


def test_a_failed_bundle_marks_its_fields_unproven_and_an_export_is_sent_to_audit(
    page: Page, saved: str
) -> None:
    """Issue 17: a tampered bundle's record fields are marked unproven where they are shown,
    with no "upper bound above" (F6); an export is neither a licence nor INVALID: the page
    says, in `mledger verify`'s words, to audit it (F5)."""
    page.events.clear()
    open_page(page, saved)
    tampered = json.loads(BUNDLE)
    tampered["entries"][0]["record"]["body"]["output_tokens"] = 99
    result = verify_text(page, json.dumps(tampered))
    assert (result["verdict"], result["check"]) == ("invalid", "leaf hash"), result
    record = result["records"][0]
    assert (record["NOT proven"], record["output tokens"]) == ('the "leaf hash" check failed', "99")
    heading = page.evaluate("document.querySelector('#records h4').textContent")
    assert heading.endswith(
        '(NOT proven: the "leaf hash" check failed; these fields may have been altered)'
    )
    not_proven = page.evaluate("document.getElementById('not-proven').textContent")
    assert "upper bound above" not in not_proven and "No bound from the chain" in not_proven
    assert "NOT proven" not in verify_text(page, BUNDLE)["records"][0]

    record_bytes = json.dumps(json.loads(BUNDLE)["entries"][0]["record"], separators=(",", ":"))
    export = "".join(f'{{"leaf_index":{i},"record":{record_bytes}}}\n' for i in range(3))
    advice = export_advice("this page")
    # Retention erases the oldest entries first: an export may open with an erased line.
    erased = export_line(0, Erased(b"\x01" * 32, "2026-12-02T00:41:21.354Z", b"\x02" * 32))
    for text in (
        export,
        "  " + export.splitlines()[0],
        '{ "leaf_index" : 0 }',
        erased.decode() + export,
    ):
        assert is_export(text.encode())  # mledger verify's rule, the same
        result = verify_text(page, text)
        assert (result["verdict"], result["state"]) == ("not checked", "unverified"), result
        assert result["text"] == f"NOT CHECKED: {advice}"
        assert result["checks"] == [] and result["records"] == [] and result["facts"] == {}
    assert advice.replace("this page", "mledger verify") == export_advice("mledger verify")
    assert verify_text(page, BUNDLE)["verdict"] == "mathematics only"  # a bundle still is one
    assert page.errors() == []


def test_served_page_is_static_and_locked_down(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'web.db'}")
    app = create_app(store, LogSigner(Account.create(), Domain(b"\x07" * 32)))

    async def fetch(path: str) -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ledger"
        ) as client:
            return await client.get(path)

    try:
        html = asyncio.run(fetch("/verify"))
        assets = {name: asyncio.run(fetch(f"/verify/assets/{name}")) for name in ASSETS}
        missing = asyncio.run(fetch("/verify/assets/secrets.txt"))
    finally:
        store.close()
    assert html.status_code == 200 and html.headers["content-type"] == "text/html; charset=utf-8"
    policy = html.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy
        and "default-src 'none'" in policy
        and "'unsafe-inline'" not in policy
        and "*" not in policy
    )
    assert policy == PAGE_POLICY + "; frame-ancestors 'none'"
    # The saved page keeps the policy (but framing, which only a header can forbid).
    (meta,) = re.findall(
        r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html.text
    )
    assert meta == PAGE_POLICY
    for served in (html, *assets.values()):
        # A page on another origin that opens this one gets no handle on it.
        assert served.headers["cross-origin-opener-policy"] == "same-origin"
        assert served.headers["cross-origin-resource-policy"] == "same-origin"
        assert served.headers["content-security-policy"] == policy
    referenced = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    assert sorted(r for r in referenced if r.startswith("verify/")) == sorted(
        f"verify/assets/{name}" for name in ASSETS
    )
    assert all(r.startswith(("verify/assets/", "data:", "#")) for r in referenced), referenced
    for name, served in assets.items():
        assert served.status_code == 200 and served.headers["content-type"] == ASSETS[name], name
        assert served.content == (WEB / name).read_bytes()
        assert not re.search(r"\b(?:import|fetch)\s*\(\s*['\"]https?:", served.text), (
            f"{name} loads something from the network"
        )
    assert (
        missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    )


def test_without_a_pinned_log_only_the_mathematics_is_checked(page: Page, saved: str) -> None:
    page.events.clear()
    # The old ?rpc= and ?registry= overrides are gone: nothing in the URL sets the node.
    open_page(page, f"{saved}?rpc=http%3A%2F%2F127.0.0.1%3A8545&registry=0x{'11' * 20}")
    assert page.evaluate("document.getElementById('rpc-url').value") == ""
    assert page.evaluate("document.getElementById('log-status').dataset.state") == "none"

    result = verify_text(page, BUNDLE)
    assert (result["verdict"], result["state"]) == ("mathematics only", "unverified"), result
    assert (
        result["text"].startswith("MATHEMATICS ONLY: the chain was NOT consulted")
        and "VALID" not in result["text"]
    )
    assert (
        "no log identity was pinned" in result["text"] and "No log is pinned" in result["against"]
    )
    assert [(c["check"], c["passed"]) for c in result["checks"]] == [
        ("bundle", True),
        ("record", True),
        ("leaf hash", True),
        ("inclusion", True),
    ]
    assert all(c["explain"] for c in result["checks"]), result["checks"]
    assert "nobody can rewrite" in result["checks"][3]["explain"]
    assert (
        result["facts"]["existed no later than"] == "not established: the chain was not consulted"
    )
    assert result["title"] == "What the document claims (its anchoring on the chain NOT checked)"
    record = result["records"][0]
    assert (
        record["account"],
        record["model"],
        record["input tokens"],
        record["output tokens"],
    ) == ("acct-alice", "frontier-large", "102", "5")
    assert (record["time"], record["request id"]) == ("2026-06-02T11:00:00.000Z", "req-2")
    assert (
        record["endpoint"].startswith("[[[[") and "🙂" in record["endpoint"]
    )  # shown as text, never as HTML

    # A node given without a pinned log is not asked: which contract counts is the log's to say.
    set_node(page, f"http://127.0.0.1:{free_port()}")
    result = verify_text(page, BUNDLE)
    assert (
        result["verdict"] == "mathematics only"
        and "the node you gave was not asked" in result["against"]
    )

    licence = verify_text(page, (VECTORS / "licence" / "served.json").read_text())
    assert licence["verdict"] == "mathematics only" and licence["text"].startswith(
        "MATHEMATICS ONLY: licence 'lic-1' of 'acct-acme'"
    )
    assert "ACTIVE" not in licence["text"]
    assert [c["check"] for c in licence["checks"]] == ["licence", "commitment"]
    assert (licence["records"][0]["licence id"], licence["records"][0]["scope"]) == (
        "lic-1",
        "inference, fine-tune",
    )
    assert licence["facts"]["status on chain"] == "not read: the chain was not consulted"
    assert page.errors() == []


def test_the_pinned_log_is_remembered_and_its_node_used_only_when_chosen(
    page: Page, saved: str
) -> None:
    page.events.clear()
    open_page(page, saved)
    closed = f"http://127.0.0.1:{free_port()}"
    status = pin(page, identity_text(rpc_url=closed))
    assert (
        status.startswith("Pinned (by you): log 'model-ledger' (0x8bac24dd")
        and "chain id 31337" in status
    )
    # The identity's rpc_url is the operator's node: offered on a button that names it, never
    # filled in.
    assert page.evaluate("document.getElementById('rpc-url').value") == ""
    assert page.evaluate("document.getElementById('suggested').hidden") is False
    assert (
        page.evaluate("document.getElementById('use-suggested').textContent")
        == f"Use the operator's node {closed}"
    )
    warning = page.evaluate("document.getElementById('suggested-warning').textContent")
    assert (
        "the operator's node" in warning
        and "can lie about the chain" in warning
        and "your own node" in warning
    )

    reload(page)  # remembered by this browser; the node is still the user's to choose
    assert page.evaluate("document.getElementById('log-status').textContent").startswith(
        "Pinned (in this browser)"
    )
    assert page.evaluate("document.getElementById('share-link').getAttribute('href')").startswith(
        "#log="
    )
    assert page.evaluate("document.getElementById('rpc-url').value") == ""

    offline = verify_text(page, BUNDLE)
    assert (
        offline["verdict"] == "mathematics only"
        and "it names the pinned log 'model-ledger'" in offline["text"]
    )
    assert "the chain was not consulted (no node given)" in offline["against"]
    assert [c["check"] for c in offline["checks"]] == [
        "bundle",
        "log identity",
        "record",
        "leaf hash",
        "inclusion",
    ]
    anchor = json.loads(BUNDLE)["checkpoint"]["anchor"]
    assert offline["links"] == [
        f"https://explorer.example/tx/{anchor['tx_hash']}",
        "https://explorer.example/block/7",
    ]

    click(page, "use-suggested")  # the user chooses the operator's node, knowingly
    assert page.evaluate("document.getElementById('rpc-url').value") == closed
    assert page.evaluate("document.getElementById('suggested').hidden") is True
    assert "can lie about the chain" in page.evaluate(
        "document.getElementById('rpc-hint').textContent"
    )
    unreachable = verify_text(page, BUNDLE)
    assert (unreachable["verdict"], unreachable["check"], unreachable["state"]) == (
        "not verified",
        "chain",
        "unverified",
    ), unreachable
    assert unreachable["text"].startswith(
        "NOT VERIFIED: the chain could not be read (eth_chainId: the chain at http://127.0.0.1:"
    )
    assert (
        f"reading the chain from the node at {closed}, the operator's node"
        in unreachable["against"]
    )
    assert "can lie about the chain" in unreachable["against"]
    assert "Checked against the pinned log 'model-ledger'" in unreachable["against"]

    other = f"http://127.0.0.1:{free_port()}"
    set_node(page, other)  # the user's own node
    mine = verify_text(page, BUNDLE)
    assert f"reading the chain from the node at {other}, which you gave" in mine["against"]
    assert "operator" not in mine["against"]
    set_node(page, "")

    stranger = verify_text(page, (VECTORS / "evidence" / "other-contract.json").read_text())
    assert (stranger["verdict"], stranger["check"], stranger["field"]) == (
        "invalid",
        "log identity",
        "log_anchor",
    )
    assert stranger["text"].startswith(
        "INVALID: log identity check failed: the bundle is not about the pinned log: log_anchor:"
    )
    assert stranger["title"] == "What the document claims (NOT proven: a check failed)"
    assert "proves nothing about the pinned log" in stranger["checks"][-1]["explain"]

    # A document that is not a log identity is refused, naming the field; the pinned log stays.
    pin(page, identity_text(log_anchor="0x" + "AB" * 20))
    assert page.evaluate("document.getElementById('identity-error').textContent").startswith(
        "Not pinned: log identity: log_anchor:"
    )
    assert page.evaluate("document.getElementById('log-status').textContent").startswith(
        "Pinned (in this browser)"
    )
    click(page, "use-suggested")
    click(page, "forget")  # the forgotten identity's node goes with it
    assert page.evaluate("document.getElementById('log-status').dataset.state") == "none"
    assert page.evaluate("document.getElementById('rpc-url').value") == ""
    assert page.evaluate("document.getElementById('suggested').hidden") is True
    assert [e for e in page.errors() if "ERR_CONNECTION_REFUSED" not in e] == []


def conflict_fields(page: Page) -> list[str]:
    """The fields the link's side of the comparison marks as differing."""
    found: list[str] = page.evaluate(
        "[...document.querySelectorAll('#conflict-link"
        " dd[data-differs=true]')].map((dd) => dd.dataset.field)"
    )
    return found


def test_a_link_never_pins_a_log_by_itself(page: Page, saved: str) -> None:
    """The attack: a link carrying the real identity with only its rpc_url changed to a
    lying node. With nothing pinned it used to be pinned silently, and its node used at
    once. Now it is shown and pinned only on the user's word, and its node still waits
    for the user's choice."""
    page.events.clear()
    liar = f"http://127.0.0.1:{free_port()}"
    lying = identity_text(rpc_url=liar)
    open_page(page, saved + link_to(lying))
    page.wait_for("!document.getElementById('log-conflict').hidden")
    assert page.evaluate("document.getElementById('log-status').dataset.state") == "none"
    assert page.evaluate("document.getElementById('log-conflict').dataset.mode") == "new"
    assert page.evaluate("document.getElementById('conflict-pinned-side').hidden") is True
    shown = page.evaluate("document.getElementById('conflict-link').textContent")
    assert liar in shown and "0x5fbdb2315678afecb367f032d93f642f64180aa3" in shown
    assert "Nothing was pinned" in page.evaluate(
        "document.getElementById('conflict-title').textContent"
    )
    assert page.evaluate("document.getElementById('use-link').textContent") == "Pin the link's log"
    assert page.evaluate("document.getElementById('rpc-url').value") == ""
    result = verify_text(page, BUNDLE)
    assert result["verdict"] == "mathematics only" and "No log is pinned" in result["against"]

    reload(page)  # still nothing pinned, still asking
    page.wait_for("!document.getElementById('log-conflict').hidden")
    assert page.evaluate("document.getElementById('log-status').dataset.state") == "none"
    click(page, "keep-pinned")  # "Do not pin it"
    assert (
        page.evaluate("document.getElementById('log-conflict').hidden") is True
        and page.evaluate("location.hash") == ""
    )
    assert page.evaluate("document.getElementById('log-status').dataset.state") == "none"

    open_link(page, saved + link_to(lying))
    page.wait_for("!document.getElementById('log-conflict').hidden")
    pin_link(page)  # the user compared it and pins it
    status = page.evaluate("document.getElementById('log-status').textContent")
    assert status.startswith("Pinned (from the link you opened, after you chose to pin it)")
    assert (
        page.evaluate("document.getElementById('rpc-url').value") == ""
    )  # its node is not used by itself
    assert (
        page.evaluate("document.getElementById('use-suggested').textContent")
        == f"Use the operator's node {liar}"
    )
    result = verify_text(page, BUNDLE)
    assert result["verdict"] == "mathematics only" and "no node given" in result["against"]

    # With a log pinned, a link differing in any field, the suggested node or the explorer
    # alone included, asks.
    real = identity_text(rpc_url="http://127.0.0.1:8545")
    pin(page, real)
    open_link(page, saved + link_to(lying))
    page.wait_for("!document.getElementById('log-conflict').hidden")
    assert page.evaluate("document.getElementById('log-conflict').dataset.mode") == "differs"
    assert conflict_fields(page) == ["fingerprint", "suggested node"]
    click(page, "keep-pinned")
    assert "8545" in page.evaluate("document.getElementById('use-suggested').textContent")
    open_link(
        page,
        saved
        + link_to(
            identity_text(
                rpc_url="http://127.0.0.1:8545", explorer="https://lying-explorer.example/"
            )
        ),
    )
    page.wait_for("!document.getElementById('log-conflict').hidden")
    assert conflict_fields(page) == [
        "fingerprint",
        "deployed in block",
        "block explorer",
    ]  # the block link goes to the explorer
    click(page, "keep-pinned")
    open_link(page, saved + link_to(identity_text(rpc_url=None)))
    page.wait_for("!document.getElementById('log-conflict').hidden")
    assert conflict_fields(page) == ["fingerprint", "suggested node"]
    click(page, "keep-pinned")
    page.goto("about:blank")
    page.send("Page.navigate", url=saved + link_to(real))
    page.wait_for(  # the very log pinned: nothing to ask, the fragment dropped
        "document.readyState === 'complete' && location.href.endsWith('verify.html')"
        " && document.getElementById('log-status').textContent !== ''"
    )
    time.sleep(0.3)
    assert page.evaluate("document.getElementById('log-conflict').hidden") is True
    assert page.errors() == []


def test_a_differing_link_is_shown_beside_the_pinned_log(page: Page, saved: str) -> None:
    page.events.clear()
    real = identity_text(rpc_url=None)
    other = identity_text(rpc_url=None, log_anchor="0x" + "9f" * 20, name="model-ledger (copy)")
    open_page(page, saved)
    pin(page, real)

    # Another log in a link: both shown, the pinned one kept in use until the user chooses.
    open_link(page, saved + link_to(other))
    page.wait_for("!document.getElementById('log-conflict').hidden")
    pinned_side = page.evaluate("document.getElementById('conflict-pinned').textContent")
    link_side = page.evaluate("document.getElementById('conflict-link').textContent")
    assert (
        "0x5fbdb2315678afecb367f032d93f642f64180aa3" in pinned_side
        and "0x" + "9f" * 20 in link_side
    )
    assert conflict_fields(page) == ["fingerprint", "name", "LogAnchor contract"]
    result = verify_text(page, BUNDLE)
    assert (
        result["verdict"] == "mathematics only"
        and "LogAnchor 0x5fbdb2315678afecb367f032d93f642f64180aa3" in result["against"]
    )
    click(page, "keep-pinned")
    assert page.evaluate("document.getElementById('log-conflict').hidden") is True
    assert page.evaluate("location.hash") == ""
    assert "model-ledger (copy)" not in page.evaluate(
        "document.getElementById('log-status').textContent"
    )

    open_link(page, saved + link_to(other))
    page.wait_for("!document.getElementById('log-conflict').hidden")
    pin_link(page)
    reload(page)
    assert "model-ledger (copy)" in page.evaluate(
        "document.getElementById('log-status').textContent"
    )
    assert verify_text(page, BUNDLE)["check"] == "log identity"  # the bundle is about the other log

    open_link(page, saved + "#log=not-an-identity")
    page.wait_for("!document.getElementById('link-error').hidden")
    assert "cannot be read" in page.evaluate("document.getElementById('link-error').textContent")
    assert "model-ledger (copy)" in page.evaluate(
        "document.getElementById('log-status').textContent"
    )
    assert page.errors() == []


def test_a_string_of_escaped_quotes_is_answered_at_once(page: Page, saved: str) -> None:
    """An unterminated string full of \\" made the page's depth check quadratic (128 KiB
    took 10 s, so a few MiB hung the tab); it is linear now, as strict_json.py's."""
    page.events.clear()
    open_page(page, saved)
    pasted = (VECTORS / "evidence" / "escaped-quotes-unterminated.json").read_text()
    started = time.monotonic()
    result = verify_text(page, pasted)
    assert time.monotonic() - started < 3.0
    assert (result["verdict"], result["check"]) == ("invalid", "bundle"), result
    assert result["text"] == (
        "INVALID: bundle check failed: document is not valid JSON:"
        " Unterminated string starting at: line 1 column 6 (char 5)"
    )
    started = time.monotonic()
    large = verify_file(page, VECTORS / "json" / "escaped-quotes-unterminated-2mib.json")
    assert time.monotonic() - started < 5.0
    assert (large["verdict"], large["check"]) == (
        "invalid",
        "bundle",
    ) and "Unterminated string" in large["text"], large
    took = page.evaluate("""(() => {
      const text = '{"a":"' + '\\\\"'.repeat(4 << 20);
      const started = performance.now();
      try {
        window.LedgerJson.loadStrict(text, 64 << 20);
      } catch (error) {
        /* refused: unterminated */
      }
      return performance.now() - started;
    })()""")
    assert took < 5000, f"8 MiB of escaped quotes took {took:.0f} ms"
    assert page.errors() == []


SAMPLE = [
    "evidence/bundle.json",
    "evidence/pack.json",
    "evidence/bundle-bom.json",
    "evidence/not-utf8.json",
    "evidence/duplicate-key.json",
    "evidence/surrogate-escaped-key.json",
    "evidence/null-field.json",
    "evidence/record-changed.json",
    "evidence/proof-node-changed.json",
    "evidence/other-log-id.json",
    "evidence/pack-same-index-twice.json",
    "evidence/pack-same-record-twice.json",
    "evidence/pack-query-fullwidth.json",
    "evidence/pack-query-mismatch.json",
    "licence/served.json",
    "licence/served-other-registry.json",
    "licence/salt-null.json",
    "licence/bom.json",
]
"""Vectors run through the form: every check, a byte order mark and a byte that is not
UTF-8 (chosen as files: text fields cannot hold them), the rest pasted."""


def test_sample_of_the_corpus_through_the_form(page: Page, saved: str) -> None:
    page.events.clear()
    chosen = {v["file"]: v for v in vectors()}
    wrong = []
    for mode in ("offline", "pinned"):
        open_page(page, saved)
        if mode == "pinned":
            pin(page, identity_text(rpc_url=None))
        for name in SAMPLE:
            raw = (VECTORS / name).read_bytes()
            try:
                text = raw.decode("utf-8")
                as_file = text.startswith("\ufeff")
            except UnicodeDecodeError:
                as_file = True
            result = verify_file(page, VECTORS / name) if as_file else verify_text(page, text)
            if outcome(result) != chosen[name][mode]:
                wrong.append(
                    f"{mode} {name}: expected {chosen[name][mode]},"
                    f" got {outcome(result)}: {result['text']}"
                )
            if not all(check["explain"] for check in result["checks"]):
                wrong.append(f"{mode} {name}: a check without plain words: {result['checks']}")
    assert not wrong, "\n".join(wrong)
    assert page.errors() == []


def test_core_in_chromium_reads_the_whole_corpus_as_the_manifest_says(
    page: Page, saved: str
) -> None:
    open_page(page, saved)
    found = page.evaluate(
        f"({RUN_VECTORS})(window.LedgerVerify, window.LedgerJson, {json.dumps(payload())})"
    )
    wrong = differences(comparable(found))
    assert not wrong, "\n".join(wrong)
