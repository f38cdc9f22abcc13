"""The review's attack on the "pin this link's log?" question, reproduced in headless
Chromium, and refused.

The attack: a page on another origin opens /verify with window.open(...#log=A), A the
genuine log identity; while the user compares A with what the operator published, it
changes the popup's fragment to #log=B. The page used to redraw its question with B
(nothing marked, since nothing is pinned) and "Pin the link's log" stored B.

Now:
- the service sends Cross-Origin-Opener-Policy: same-origin with /verify, so the opener
  loses its handle on the popup (`closed`), and the swap reaches nothing: A is shown and
  A is pinned;
- served without that header (a copy of the page on a plain web server, or saved to a
  file), the swap does reach the page, which reads the link's log only when it loads:
  the question is closed, the page says the link changed and nothing was pinned;
- the button pins the identity whose fingerprint is on the screen (the first 8 bytes of
  SHA-256 of its RFC 8785 form, also in the pinned status), and ignores clicks for a
  moment after the question is drawn.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from eth_account import Account

from ledger.api.main import create_app
from ledger.api.routes.web import ASSETS
from ledger.formats.eip712 import Domain
from ledger.formats.identity import parse_identity
from ledger.service.signer import LogSigner
from ledger.store.repository import Store
from tests.web.chromium import Chromium, Page, require_chromium
from tests.web.corpus import VECTORS
from tests.web.form import QUESTION, click, js, open_link, open_page, pin, pin_link, reload
from tests.web.sites import AppServer, StaticSite

WEB = Path(__file__).parents[2] / "ledger" / "web"
GENUINE = json.loads((VECTORS / "identity" / "log.json").read_text(encoding="utf-8"))
"""A: the log's identity, as its operator published it."""
SWAPPED = GENUINE | {
    "log_anchor": "0x" + "9f" * 20,
    "log_signer": "0x" + "66" * 20,
    "rpc_url": "http://127.0.0.1:9/",
}
"""B: the attacker's: their copy of the contract, their key, their node."""

ATTACKER_PAGE = """<!doctype html>
<meta charset="utf-8">
<title>Check your licence</title>
<button id="check">Check your licence</button>
<script>
  let victim = null;
  // "Check your licence": opens the operator's real verification page with the real log.
  window.openVictim = (url) => { victim = window.open(url); return victim !== null; };
  // While the user compares, swap the log in the popup's link.
  window.swap = (url) => {
    try {
      victim.location.href = url;
      return 'sent';
    } catch (error) {
      return String(error);
    }
  };
  window.victimClosed = () => victim === null || victim.closed;
</script>
"""

STATUS = "document.getElementById('log-status')"
STORED = "localStorage.getItem('model-ledger:pinned-log')"


def link_to(identity: dict[str, Any]) -> str:
    text = json.dumps(identity, indent=2)
    return "#log=" + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def fingerprint(identity: dict[str, Any]) -> str:
    """The fingerprint the page shows: the first 8 bytes of SHA-256 of the identity's
    RFC 8785 form, in groups of 4 hex digits."""
    parsed = parse_identity(json.dumps(identity))
    digest = hashlib.sha256(rfc8785.dumps(parsed.as_json())).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, 16, 4))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page saved as its links lay it out (verify.html, verify/assets/...)."""
    saved = tmp_path_factory.mktemp("saved-page")
    (saved / "verify" / "assets").mkdir(parents=True)
    shutil.copy(WEB / "verify.html", saved / "verify.html")
    for name in ASSETS:
        shutil.copy(WEB / name, saved / "verify" / "assets" / name)
    return saved


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    chromium = Chromium(require_chromium(), tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield chromium
    finally:
        chromium.stop()


@pytest.fixture(scope="module")
def page(browser: Chromium) -> Iterator[Page]:
    tab = browser.page()
    try:
        yield tab
    finally:
        tab.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service's app on a port of its own: /verify with the service's headers."""
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('service') / 'web.db'}")
    server = AppServer(create_app(store, LogSigner(Account.create(), Domain(b"\x07" * 32))))
    try:
        yield server.url
    finally:
        server.stop()
        store.close()


@pytest.fixture(scope="module")
def mirror(folder: Path) -> Iterator[str]:
    """The saved page on a plain web server: no Cross-Origin-Opener-Policy, no CSP header."""
    site = StaticSite(folder)
    try:
        yield site.url
    finally:
        site.stop()


@pytest.fixture(scope="module")
def attacker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The attacker's page, on another origin (another local port)."""
    where = tmp_path_factory.mktemp("attacker")
    (where / "index.html").write_text(ATTACKER_PAGE, encoding="utf-8")
    site = StaticSite(where)
    try:
        yield site.url + "/index.html"
    finally:
        site.stop()


def open_popup(page: Page, browser: Chromium, attacker: str, verify: str) -> Page:
    """The attacker's page opens `verify` with the genuine log in its link, on a click
    (a user gesture: no popup blocker stops it); the popup's tab, asking about the log."""
    page.goto(attacker)
    opened = page.send(
        "Runtime.evaluate",
        expression=f"openVictim({js(verify + link_to(GENUINE))})",
        userGesture=True,
        returnByValue=True,
    )
    assert opened["result"]["value"] is True
    victim = browser.tab_at(verify)
    victim.wait_for(f"document.readyState === 'complete' && !{QUESTION}.hidden")
    return victim


def shown_fingerprints(tab: Page) -> dict[str, str]:
    found: dict[str, str] = tab.evaluate(f"""({{
      question: {QUESTION}.dataset.fingerprint,
      row: document.querySelector('#conflict-link dd[data-field=fingerprint]').textContent,
      words: document.getElementById('link-fingerprint').textContent,
    }})""")
    return found


def close(tab: Page) -> None:
    try:
        tab.send("Page.close")
    finally:
        tab.close()


def test_an_opener_on_another_origin_cannot_swap_the_link_of_the_served_page(
    page: Page, browser: Chromium, service: str, attacker: str
) -> None:
    victim = open_popup(page, browser, attacker, f"{service}/verify")
    try:
        assert victim.evaluate(f"{QUESTION}.dataset.mode") == "new"
        shown = shown_fingerprints(victim)
        assert shown["question"] == shown["row"] == fingerprint(GENUINE)
        assert fingerprint(GENUINE) in shown["words"]
        # Cross-Origin-Opener-Policy: same-origin: the attacker's handle on the popup is dead.
        page.wait_for("victimClosed()")
        page.evaluate(f"swap({js(f'{service}/verify' + link_to(SWAPPED))})")
        time.sleep(0.5)
        assert victim.evaluate("location.hash") == link_to(GENUINE)
        assert victim.evaluate(f"!{QUESTION}.hidden") is True
        assert shown_fingerprints(victim) == shown
        assert SWAPPED["log_anchor"] not in victim.evaluate(
            "document.getElementById('conflict-link').textContent"
        )
        pin_link(victim)  # the user compared A and pins it: A is pinned
        status = victim.evaluate(f"{STATUS}.textContent")
        assert status.startswith("Pinned (from the link you opened, after you chose to pin it)")
        assert f"fingerprint {fingerprint(GENUINE)}" in status
        assert json.loads(victim.evaluate(STORED)) == GENUINE
        assert victim.errors() == []
    finally:
        close(victim)


def test_a_swap_that_reaches_the_page_closes_the_question_and_pins_nothing(
    page: Page, browser: Chromium, mirror: str, attacker: str
) -> None:
    """Without the header (a copy of the page on a plain server, here), the opener keeps
    its handle and the swap reaches the page: the page does not read the new fragment."""
    victim = open_popup(page, browser, attacker, f"{mirror}/verify.html")
    try:
        assert shown_fingerprints(victim)["question"] == fingerprint(GENUINE)
        assert page.evaluate("victimClosed()") is False  # what the header prevents
        assert page.evaluate(f"swap({js(f'{mirror}/verify.html' + link_to(SWAPPED))})") == "sent"
        victim.wait_for(f"{QUESTION}.hidden")
        message = victim.wait_for(
            "!document.getElementById('link-error').hidden"
            " && document.getElementById('link-error').textContent"
        )
        assert victim.evaluate("document.getElementById('link-error').dataset.reason") == (
            "changed"
        )
        assert message.startswith("The link changed") and "nothing was pinned" in message
        assert SWAPPED["log_anchor"] not in victim.evaluate(
            "document.getElementById('conflict-link').textContent"
        ) or victim.evaluate(f"{QUESTION}.hidden")
        click(victim, "use-link")  # the button of the closed question does nothing
        time.sleep(0.7)
        click(victim, "use-link")
        assert victim.evaluate(f"{STATUS}.dataset.state") == "none"
        assert victim.evaluate(STORED) is None
        assert victim.errors() == []
    finally:
        close(victim)


def test_the_page_pins_only_what_it_showed_and_not_at_once(page: Page, folder: Path) -> None:
    """Saved to a file (no headers at all): a click in the moment after the question is
    drawn is ignored; a fragment changed after loading is never read as the link's log;
    a pinned log shows its fingerprint."""
    saved = (folder / "verify.html").as_uri()
    page.events.clear()
    open_page(page, saved)
    open_link(page, saved + link_to(GENUINE))
    early = page.wait_for(f"""(() => {{
      if ({QUESTION}.hidden) return false;
      const armed = {QUESTION}.dataset.armed === 'true';
      document.getElementById('use-link').click();
      return armed ? 'late' : 'early';
    }})()""")
    assert early == "early", "the question was armed before the test could click"
    assert page.evaluate(f"{STATUS}.dataset.state") == "none"
    assert page.evaluate(f"!{QUESTION}.hidden") is True
    pin_link(page)
    status = page.evaluate(f"{STATUS}.textContent")
    assert f"fingerprint {fingerprint(GENUINE)}" in status
    assert page.evaluate(
        "document.querySelector('#pinned-log dd[data-field=fingerprint]').textContent"
    ) == fingerprint(GENUINE)

    # The page's own share link (the pinned log) changes the fragment: nothing to say.
    click(page, "share-link")
    page.wait_for("location.hash === ''")
    assert page.evaluate("document.getElementById('link-error').hidden") is True

    # Another log in the fragment after loading, no question open: not read, and said so.
    page.evaluate(f"location.hash = {js(link_to(SWAPPED))}")
    message = page.wait_for(
        "!document.getElementById('link-error').hidden"
        " && document.getElementById('link-error').textContent"
    )
    assert message.startswith("The link changed after this page was opened: nothing was pinned")
    assert page.evaluate(f"{QUESTION}.hidden") is True
    assert f"fingerprint {fingerprint(GENUINE)}" in page.evaluate(f"{STATUS}.textContent")
    reload(page)  # loaded with it: now it is the link's log, and the page asks
    page.wait_for(f"!{QUESTION}.hidden")
    assert page.evaluate(f"{QUESTION}.dataset.mode") == "differs"
    assert shown_fingerprints(page)["question"] == fingerprint(SWAPPED)
    assert page.evaluate(
        "document.querySelector('#conflict-pinned dd[data-field=fingerprint]').textContent"
    ) == fingerprint(GENUINE)

    # The question open, the fragment changes (as an opener without the header can do).
    page.evaluate(f"location.hash = {js(link_to(GENUINE | {'name': 'x'}))}")
    page.wait_for(f"{QUESTION}.hidden")
    assert page.evaluate("document.getElementById('link-error').textContent").startswith(
        "The link changed while its log identity was shown: nothing was pinned"
    )
    assert json.loads(page.evaluate(STORED)) == GENUINE
    assert pin(page, json.dumps(GENUINE)).startswith("Pinned (by you)")
    assert page.evaluate("document.getElementById('link-error').hidden") is True
    assert page.errors() == []


FINGERPRINTED = [
    GENUINE,
    {k: v for k, v in GENUINE.items() if k not in ("rpc_url", "explorer")},
    GENUINE | {"licence_registry": None, "name": '日本語 🙂 "quoted" \\ é'},
    GENUINE | {"chain_id": 2**53 - 1, "deployment_block": 2**53 - 1},
    GENUINE | {"chain_id": 2**256 - 1, "deployment_block": 2**64 - 1},
]
"""Identities whose fingerprints are compared; the last has integers beyond RFC 8785's
2^53 - 1, written whole."""


def canonical(identity: dict[str, Any]) -> bytes:
    """RFC 8785 of the identity document, integers written whole (what the page hashes)."""
    document = parse_identity(json.dumps(identity)).as_json()
    whole = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if max(document["chain_id"], document["deployment_block"]) < 2**53:
        assert rfc8785.dumps(document) == whole.encode()
    return whole.encode()


FINGERPRINT_DRIVER = """
const core = require(process.argv[1]);
const json = require(process.argv[2]);
const crypto = require('crypto');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const prints = input.identities.map((text) => core.parseIdentity(text).fingerprint());
const hashes = input.lengths.map((n) => {
  const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff);
  return [
    json.toHex(json.sha256Now(bytes)).slice(2),
    crypto.createHash('sha256').update(bytes).digest('hex'),
  ];
});
process.stdout.write(JSON.stringify({ prints, hashes }));
"""


def test_the_fingerprint_is_sha256_of_the_rfc8785_identity() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the project needs Node 20 for Hardhat and Anvil)")
    lengths = [*range(130), 1000, 65_536, 1 << 20]
    done = subprocess.run(
        [node, "-e", FINGERPRINT_DRIVER, str(WEB / "verify-core.js"), str(WEB / "verify-json.js")],
        input=json.dumps(
            {"identities": [json.dumps(i) for i in FINGERPRINTED], "lengths": lengths}
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    expected = ["0x" + hashlib.sha256(canonical(i)).hexdigest() for i in FINGERPRINTED]
    assert found["prints"] == expected
    assert all(mine == reference for mine, reference in found["hashes"]), [
        lengths[i] for i, (a, b) in enumerate(found["hashes"]) if a != b
    ]
