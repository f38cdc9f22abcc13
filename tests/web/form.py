"""Driving the verification page as a person does: type or paste into its fields, choose
files, press its buttons, read what it shows. Shared by the page tests and the chain
parity tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.web.chromium import Page

READ_RESULT = """(() => {
  const verdict = document.getElementById('verdict');
  const facts = {};
  for (const dd of document.querySelectorAll('#facts dd')) facts[dd.dataset.field] = dd.textContent;
  const links = [...document.querySelectorAll('#facts a')].map((a) => a.getAttribute('href'));
  const records = [...document.querySelectorAll('#records dl')].map((dl) => {
    const out = {};
    for (const dd of dl.querySelectorAll('dd')) out[dd.dataset.field] = dd.textContent;
    return out;
  });
  const rows = document.querySelectorAll('#records table tr').length;
  const checks = [...document.querySelectorAll('#checks li')].map((li) => ({
    check: li.dataset.check,
    passed: li.dataset.passed === 'true',
    explain: li.querySelector('.explain').textContent,
    detail: li.querySelector('.detail').textContent,
  }));
  const complete = document.getElementById('complete');
  return {
    complete: complete.hidden ? [] : [...complete.querySelectorAll('li')].map((l) => l.textContent),
    proven: document.getElementById('proven').textContent,
    notProven: document.getElementById('not-proven').textContent,
    state: verdict.dataset.state, verdict: verdict.dataset.verdict,
    check: verdict.dataset.check, field: verdict.dataset.field,
    text: verdict.textContent, against: document.getElementById('checked-against').textContent,
    title: document.getElementById('facts-title').textContent, facts, links, records, rows, checks,
  };
})()"""

DONE = "!['', 'running'].includes(document.getElementById('verdict').dataset.state)"


def js(value: Any) -> str:
    return json.dumps(value)


def type_into(page: Page, element: str, text: str) -> None:
    """Empty the field `element` (an id), then type `text` into it at once, as a paste does."""
    page.evaluate(
        f"(() => {{ const e = document.getElementById({js(element)});"
        " e.value = ''; e.focus(); })()"
    )
    if text:
        page.insert_text(text)


def click(page: Page, element: str) -> None:
    page.evaluate(f"document.getElementById({js(element)}).click()")


def choose_file(page: Page, element: str, path: Path) -> None:
    """Choose `path` in the file input `element` (an id), as the file dialog does."""
    root = page.send("DOM.getDocument")["root"]["nodeId"]
    node = page.send("DOM.querySelector", nodeId=root, selector=f"#{element}")["nodeId"]
    page.send("DOM.setFileInputFiles", files=[str(path)], nodeId=node)


def reload(page: Page) -> None:
    """Reload the page and wait until the new document has set itself up."""
    page.evaluate("window.beforeReload = true")
    page.send("Page.reload")
    page.wait_for(
        "!window.beforeReload && document.readyState === 'complete' &&"
        " document.getElementById('log-status').textContent !== ''"
    )


def open_page(page: Page, url: str, *, forget: bool = True) -> None:
    """Open the page; with `forget`, as a browser that never pinned a log."""
    page.goto(url)
    if forget:
        page.evaluate("localStorage.clear()")
        reload(page)


def open_link(page: Page, url: str) -> None:
    """Open `url` as a new document, as following a link from elsewhere does: the page
    reads a link's log (#log=...) only when it loads, and a change of fragment alone
    would not load it."""
    page.goto("about:blank")
    page.goto(url)


QUESTION = "document.getElementById('log-conflict')"


def wait_question(page: Page) -> None:
    """Wait until the page asks about the link's log and its pin button takes clicks (it
    ignores them for a moment after the question is drawn)."""
    page.wait_for(f"!{QUESTION}.hidden && {QUESTION}.dataset.armed === 'true'")


def pin_link(page: Page) -> None:
    """Press the button that pins (or switches to) the link's log, once it takes clicks."""
    wait_question(page)
    click(page, "use-link")


def pin(page: Page, identity: str) -> str:
    """Paste a log identity into its field and press "Pin this log"; the log status line."""
    page.evaluate("document.getElementById('log-edit').open = true")
    type_into(page, "identity", identity)
    click(page, "pin")
    status: str = page.evaluate("document.getElementById('log-status').textContent")
    return status


def set_node(page: Page, url: str) -> None:
    """Type the chain node's URL (empty: none)."""
    type_into(page, "rpc-url", url)
    page.evaluate("document.getElementById('rpc-url').dispatchEvent(new Event('input'))")


def verify_text(page: Page, document: str | dict[str, Any]) -> dict[str, Any]:
    """Paste `document` into the document field, press Verify, read the answer."""
    type_into(
        page, "document", document if isinstance(document, str) else json.dumps(document, indent=2)
    )
    click(page, "verify")
    return read_result(page)


def verify_file(page: Page, path: Path) -> dict[str, Any]:
    """Choose `path` as the document (the page checks it at once), read the answer."""
    page.evaluate("document.getElementById('verdict').dataset.state = ''")
    choose_file(page, "file", path)
    return read_result(page)


def read_result(page: Page) -> dict[str, Any]:
    page.wait_for(DONE, timeout=30)
    result: dict[str, Any] = page.evaluate(READ_RESULT)
    return result


def outcome(result: dict[str, Any]) -> dict[str, str]:
    """The page's verdict in the corpus's words (see tests/web/outcomes.py)."""
    found = {"verdict": result["verdict"]}
    if result["check"]:
        found["check"] = result["check"]
    if result["field"]:
        found["field"] = result["field"]
    return found
