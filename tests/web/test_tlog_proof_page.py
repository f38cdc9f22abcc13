"""tlog-proofs dropped on the verification page, in headless Chromium, through its own
fields: the proof file, the record, the pinned log identity's note key (or one typed), the
witnesses the user trusts and the quorum. For each case the verdict line(s) the page shows
are exactly what `mledger verify PROOF.tlog-proof --record R --log L --witness ...
--quorum M` prints (the real command, run beside it), and a failure names the same check:
a valid proof, a tampered log signature, a cosignature by a key nobody trusts, a quorum
not met, a wrong inclusion proof."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import rfc8785

from tests.cli.test_verify_tlog_proof import ledger
from tests.web.chromium import Page
from tests.web.form import (
    click,
    open_page,
    pin,
    read_result,
    type_into,
    verify_file,
    verify_text,
)
from tests.web.tlog_proofs import BARE, IDENTITY, LOG, Case, case

IDENTITY_JSON = rfc8785.dumps(IDENTITY.as_json()).decode()
BARE_JSON = rfc8785.dumps(BARE.as_json()).decode()
"""The log identity with its note key, and one without."""

CASES = [
    "valid-two-of-two",
    "valid-no-witness",
    "tampered-log-signature",
    "malleated-log-signature",
    "malleated-cosignature",
    "unknown-witness-only",
    "quorum-not-met",
    "wrong-inclusion-node",
    "emoji-unknown-key-line",
    "emoji-witness-name",
    "small-order-witnesses",
]


def mledger_verify(case: Case, folder: Path) -> subprocess.CompletedProcess[str]:
    """`mledger verify` on the case's files, as a user runs it."""
    proof, record, log = folder / "e.tlog-proof", folder / "e.json", folder / "log.json"
    proof.write_bytes(case.proof)
    record.write_bytes(case.record)
    identity = case.identity_json()
    assert identity is not None
    log.write_bytes(identity)
    args = ["verify", str(proof), "--record", str(record), "--log", str(log)]
    for vkey in case.witnesses:
        args += ["--witness", vkey]
    if case.quorum is not None:
        args += ["--quorum", str(case.quorum)]
    return ledger(*args)


def give(tab: Page, case: Case, folder: Path) -> dict[str, object]:
    """Open the tlog-proof fields (as a click on their summary does), fill them for `case`
    and choose its proof file; the answer."""
    tab.evaluate(
        "(() => { const d = document.getElementById('tlog');"
        " if (!d.open) d.querySelector('summary').click(); })()"
    )
    type_into(tab, "record", case.record.decode())
    type_into(tab, "log-vkey", "")
    type_into(tab, "witnesses", "\n".join(case.witnesses))
    type_into(tab, "quorum", "" if case.quorum is None else str(case.quorum))
    proof = folder / f"{case.name}.tlog-proof"
    proof.write_bytes(case.proof)
    return verify_file(tab, proof)


@pytest.mark.parametrize("name", CASES)
def test_the_page_prints_what_mledger_verify_prints(
    page: Page,
    saved: str,
    tmp_path: Path,
    name: str,
) -> None:
    each = case(name)
    open_page(page, saved)
    pin(page, IDENTITY_JSON)
    shown = give(page, each, tmp_path)
    done = mledger_verify(each, tmp_path)
    assert done.stdout, done.stderr
    assert shown["text"] == done.stdout.rstrip("\n"), (shown["text"], done.stdout)
    assert not page.errors(), page.errors()
    if each.check is None:
        assert done.returncode == 0 and shown["verdict"] == "valid", shown
        assert shown["state"] == "verified"
        assert [c["check"] for c in shown["checks"]] == [
            "identity",
            "witnesses",
            "record",
            "checkpoint",
            "inclusion",
        ]
        assert all(c["passed"] for c in shown["checks"])
        assert shown["facts"]["entry (leaf index)"] == "5"
        assert shown["records"] and shown["records"][0]["kind"] == "interaction"
        meaning = page.evaluate("document.getElementById('meaning').textContent")
        assert "split view" in meaning or "No witness was named" in meaning
        assert "tlog-proof carries no anchor" in meaning
    else:
        assert done.returncode == 1, done.stderr
        assert shown["verdict"] == "invalid" and shown["check"] == each.check, shown
        assert shown["state"] == "failed"
        failed = shown["checks"][-1]
        assert failed["check"] == each.check and not failed["passed"]
        assert done.stdout.startswith(f"INVALID: {each.check} check failed: {failed['detail']}")
        assert failed["explain"]  # said in plain words


def test_a_typed_note_key_and_the_fields_a_proof_needs(
    page: Page,
    saved: str,
    tmp_path: Path,
) -> None:
    """With no log pinned the page asks for the note key (or a log) and decides nothing;
    a typed key is used; a pinned identity without a note key fails the identity check as
    `mledger verify` does; a missing record is asked for; a bad quorum is refused."""
    valid = case("valid-two-of-two")
    open_page(page, saved)
    shown = give(page, valid, tmp_path)
    assert shown["verdict"] == "not verified" and shown["check"] == "identity", shown
    assert page.evaluate("document.getElementById('tlog').open") is True
    type_into(page, "log-vkey", LOG.vkey())
    click(page, "verify")
    typed = read_result(page)
    assert typed["verdict"] == "valid", typed
    assert "the log's note key you gave" in typed["against"]
    pin(page, BARE_JSON)
    type_into(page, "log-vkey", "")
    click(page, "verify")
    bare = read_result(page)
    assert bare["verdict"] == "invalid" and bare["check"] == "identity", bare
    assert bare["text"] == (
        "INVALID: identity check failed: the pinned log identity has no note_vkey: it signs no"
        " checkpoint notes"
    )
    pin(page, IDENTITY_JSON)
    type_into(page, "record", "")
    click(page, "verify")
    missing = read_result(page)
    assert missing["verdict"] == "not verified" and missing["check"] == "record", missing
    type_into(page, "record", valid.record.decode())
    type_into(page, "quorum", "two")
    click(page, "verify")
    quorum = read_result(page)
    assert quorum["verdict"] == "invalid" and quorum["check"] == "witnesses", quorum
    # Pasted as text, the proof opens the tlog-proof fields and verifies as the file did.
    type_into(page, "quorum", "")
    page.evaluate("document.getElementById('tlog').open = false")
    pasted = verify_text(page, valid.proof.decode())
    assert page.evaluate("document.getElementById('tlog').open") is True
    assert pasted["verdict"] == "valid" and pasted["text"].startswith("VALID: the record"), pasted
