#!/usr/bin/env python3
"""Write the shipped contracts' constants into the verification page.

The page (ledger/web/verify-core.js) compares the code at a pinned address with the
runtime code model-ledger ships and decodes calls and events with the ABI: its `SHIPPED`
block holds the runtime-code SHA-256, selectors, topics and error selectors it uses.
After any change to contracts/ (and `npx hardhat run scripts/export_contracts.js`), run

    .venv/bin/python scripts/page_constants.py

tests/web/test_contract_constants.py fails until the block equals what
ledger/formats/abi.py derives from ledger/formats/contracts/*.json.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.formats.abi import contract

CORE = ROOT / "ledger" / "web" / "verify-core.js"

USED = {
    "LogAnchor": {
        "functions": ["logInfo", "rootAt"],
        "events": ["Anchored"],
        "errors": ["LogAnchorUnknownLog", "LogAnchorUnknownSize"],
    },
    "LicenceRegistry": {"functions": ["status"], "events": ["Revoked"], "errors": []},
}
"""What the page uses of each contract."""

BLOCK = re.compile(r"(  const SHIPPED = Object\.freeze\()(\{.*?\n  \})(\);)", re.DOTALL)


def shipped_constants() -> dict[str, Any]:
    """The page's SHIPPED object, derived from the shipped ABI and runtime code."""
    out: dict[str, Any] = {}
    for name, used in USED.items():
        shipped = contract(name)
        out[name] = {
            "runtimeSha256": "0x" + shipped.runtime_sha256.hex(),
            "functions": {
                fn: {
                    "selector": "0x" + shipped.function(fn).selector.hex(),
                    "inputs": list(shipped.function(fn).inputs),
                    "outputs": list(shipped.function(fn).outputs),
                }
                for fn in used["functions"]
            },
            "events": {
                event: {
                    "topic": "0x" + shipped.event_topic(event).hex(),
                    "inputs": [list(item) for item in shipped.event_inputs(event)],
                }
                for event in used["events"]
            },
            "errors": {
                error: "0x" + shipped.error_selector(error).hex() for error in used["errors"]
            },
        }
    return out


def rendered() -> str:
    """verify-core.js with its SHIPPED block rewritten."""
    source = CORE.read_text(encoding="utf-8")
    text = json.dumps(shipped_constants(), indent=2).replace("\n", "\n  ")
    if not BLOCK.search(source):
        raise SystemExit(f"no `const SHIPPED = Object.freeze({{...}});` block in {CORE}")
    return BLOCK.sub(lambda m: m.group(1) + text + m.group(3), source, count=1)


def main() -> None:
    CORE.write_text(rendered(), encoding="utf-8")
    print(f"wrote the SHIPPED constants into {CORE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
