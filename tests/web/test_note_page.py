"""Bundles and packs carrying a cosigned checkpoint note (`checkpoint_note`), dropped on the
verification page in headless Chromium with the witnesses typed in its fields (or none:
the pinned identity's): the page's verdict line and every check's detail are exactly
`mledger verify`'s (ledger.verify.evidence.verify_evidence with the same witness policy),
and the page says in plain words what the witnesses' cosignatures add and what not."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from ledger.formats.cosignature import Cosigner, WitnessPolicy, witness_policy
from ledger.formats.identity import LogIdentity, parse_identity
from ledger.verify.evidence import verify_evidence
from ledger.verify.result import VerificationError
from tests.web.chromium import Page
from tests.web.corpus import VECTORS
from tests.web.form import open_page, pin, type_into, verify_text

WITNESSED = (VECTORS / "identity" / "log-witnessed.json").read_text()
W1, W2 = json.loads(WITNESSED)["witnesses"]
STRANGER = Cosigner("stranger.example/w", bytes([9]) * 32).vkey()


def python(document: bytes, identity: LogIdentity | None, policy: WitnessPolicy | None) -> Any:
    """What `mledger verify FILE --log L --offline --witness ... --quorum M` concludes: its
    verdict line and the checks, as the page shows them."""
    try:
        result = verify_evidence(document, None, identity, policy, int(time.time()) + 600)
    except VerificationError as error:
        assert error.result is not None
        checks = [[c.name, c.passed, c.detail] for c in error.result.checks]
        return f"INVALID: {error.check} check failed: {error.message}", checks
    checks = [[c.name, c.passed, c.detail] for c in result.checks]
    return f"MATHEMATICS ONLY: {result.statement()}", checks


def shown_checks(shown: dict[str, Any]) -> list[list[Any]]:
    return [[c["check"], c["passed"], c["detail"]] for c in shown["checks"]]


def give(page: Page, witnesses: list[str], quorum: str) -> None:
    page.evaluate("document.getElementById('tlog').open = true")
    type_into(page, "witnesses", "\n".join(witnesses))
    type_into(page, "quorum", quorum)


CASES = [
    # (vector, witnesses typed, quorum typed, verdict, failed check)
    ("bundle-note", [], "", "mathematics only", None),
    ("pack-note", [], "", "mathematics only", None),
    ("bundle-note", [W1], "", "mathematics only", None),
    ("bundle-note-untrusted-witness", [W1], "", "mathematics only", None),
    ("bundle-note-quorum-unmet", [W1, W2], "2", "invalid", "witnesses"),
    ("bundle-note", [STRANGER], "1", "invalid", "witnesses"),
    ("bundle-note", [W1, W2], "1", "mathematics only", None),
    ("bundle-note-forged-cosignature", [], "", "invalid", "witnesses"),
    ("bundle-note-forged", [], "", "invalid", "checkpoint note"),
    ("bundle-note-other-size", [W1], "1", "invalid", "checkpoint note"),
    ("bundle", [W1], "1", "invalid", "witnesses"),
]


@pytest.mark.parametrize(("name", "witnesses", "quorum", "verdict", "check"), CASES)
def test_the_page_checks_notes_as_mledger_verify_does(
    page: Page,
    saved: str,
    name: str,
    witnesses: list[str],
    quorum: str,
    verdict: str,
    check: str | None,
) -> None:
    document = (VECTORS / "evidence" / f"{name}.json").read_bytes()
    identity = parse_identity(WITNESSED)
    policy = (
        witness_policy(witnesses, len(witnesses) if quorum == "" else int(quorum))
        if witnesses
        else None
    )
    open_page(page, saved)
    pin(page, WITNESSED)
    give(page, witnesses, quorum)
    shown = verify_text(page, document.decode())
    line, checks = python(document, identity, policy)
    assert (shown["verdict"], shown["check"] or None) == (verdict, check), shown
    assert shown["text"] == line
    assert shown_checks(shown) == checks
    names = [c[0] for c in checks]
    if "checkpoint note" in names:
        assert names.index("checkpoint note") == names.index("inclusion") + 1
    assert not page.errors(), page.errors()


def test_the_page_says_what_the_cosignatures_add(page: Page, saved: str) -> None:
    open_page(page, saved)
    pin(page, WITNESSED)
    give(page, [], "")
    shown = verify_text(page, (VECTORS / "evidence" / "bundle-note.json").read_text())
    assert shown["verdict"] == "mathematics only", shown
    assert shown["facts"]["witnesses"].startswith(
        "2 of 2 trusted (quorum 2): witness.example/w1 at"
    )
    meaning = page.evaluate("document.getElementById('meaning').textContent")
    assert (
        "Witnesses: 2 of the 2 witnesses trusted (witness.example/w1, witness.example/w2)"
        in meaning
    )
    assert "split view" in meaning
    assert "What the witnesses do not add" in meaning
    assert "do not prove when the records were logged" in meaning
    explain = {c["check"]: c["explain"] for c in shown["checks"]}
    assert "cosigned the checkpoint" in explain["witnesses"]
    assert "note key" in explain["checkpoint note"]

    # No witness trusted (an identity without witnesses): the lines were not checked.
    bare = {k: v for k, v in json.loads(WITNESSED).items() if not k.startswith("witness")}
    pin(page, json.dumps(bare))
    shown = verify_text(page, (VECTORS / "evidence" / "bundle-note.json").read_text())
    assert shown["checks"][6]["detail"] == (
        "2 cosignature line(s), none checked: no trusted witness (no --witness, none in the"
        " pinned identity)"
    )
    meaning = page.evaluate("document.getElementById('meaning').textContent")
    assert "That others were shown the same history" in meaning

    # Witness keys that cannot be used decide nothing (mledger verify exits 2 on them).
    pin(page, WITNESSED)
    give(page, [W1, W1], "")
    shown = verify_text(page, (VECTORS / "evidence" / "bundle-note.json").read_text())
    assert shown["verdict"] == "not verified", shown
    assert shown["text"] == "NOT VERIFIED: the witnesses you gave: a witness is listed twice"
    assert not page.errors(), page.errors()
