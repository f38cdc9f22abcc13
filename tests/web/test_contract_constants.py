"""The page's knowledge of the shipped contracts (verify-core.js SHIPPED: runtime code
SHA-256, selectors, topics, error selectors, ABI types) equals what ledger/formats/abi.py
derives from ledger/formats/contracts/*.json. A contract change that is not copied into
the page fails here, so the page cannot check against a stale contract."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ledger.formats.abi import CONTRACTS, contract

CORE = Path(__file__).parents[2] / "ledger" / "web" / "verify-core.js"


def page_constants() -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the project needs Node 20 for Hardhat and Anvil)")
    script = "process.stdout.write(JSON.stringify(require(process.argv[1]).SHIPPED))"
    done = subprocess.run(
        [node, "-e", script, str(CORE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    shipped: dict[str, Any] = json.loads(done.stdout)
    return shipped


def derived(page: dict[str, Any]) -> dict[str, Any]:
    """What abi.py says of every name the page uses."""
    out: dict[str, Any] = {}
    for name, known in page.items():
        shipped = contract(name)
        functions = {}
        for fn in known["functions"]:
            found = shipped.function(fn)
            functions[fn] = {
                "selector": "0x" + found.selector.hex(),
                "inputs": list(found.inputs),
                "outputs": list(found.outputs),
            }
        events = {
            event: {
                "topic": "0x" + shipped.event_topic(event).hex(),
                "inputs": [list(item) for item in shipped.event_inputs(event)],
            }
            for event in known["events"]
        }
        out[name] = {
            "runtimeSha256": "0x" + shipped.runtime_sha256.hex(),
            "functions": functions,
            "events": events,
            "errors": {
                error: "0x" + shipped.error_selector(error).hex() for error in known["errors"]
            },
        }
    return out


def test_page_constants_equal_the_shipped_contracts() -> None:
    page = page_constants()
    assert sorted(page) == sorted(CONTRACTS)
    expected = derived(page)
    assert page == expected, (
        "the page's SHIPPED constants are stale: run .venv/bin/python scripts/page_constants.py"
    )


def test_page_uses_what_the_verifiers_call() -> None:
    page = page_constants()
    assert set(page["LogAnchor"]["functions"]) == {"logInfo", "rootAt"}
    assert set(page["LogAnchor"]["events"]) == {"Anchored"}
    # The page finds logId and size in the topics and the root among the data words.
    anchored = page["LogAnchor"]["events"]["Anchored"]["inputs"]
    assert [name for name, _, indexed in anchored if indexed] == ["logId", "size"]
    assert "root" in [name for name, _, indexed in anchored if not indexed]
    assert set(page["LogAnchor"]["errors"]) >= {"LogAnchorUnknownSize"}
    assert set(page["LicenceRegistry"]["functions"]) == {"status"}


def test_a_stale_constant_would_be_caught() -> None:
    page = page_constants()
    stale = json.loads(json.dumps(page))
    stale["LogAnchor"]["runtimeSha256"] = "0x" + "00" * 32
    assert stale != derived(stale)
