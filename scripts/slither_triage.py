"""Check a slither JSON report against the explanations in docs/static-analysis.md.

    python scripts/slither_triage.py REPORT.json docs/static-analysis.md

Prints every finding, one line each: impact, confidence, detector and where
(`detector Contract.function`). A finding of high or medium impact must be explained in
the document: a line there holding both its detector id and its place, each in
backticks (| `reentrancy-eth` | `LogAnchor.anchor` | ... |). Exit 0 when all are, 1 when
any is not (naming it), 2 when the report says slither failed.

Standard library only: it runs in slither's own virtualenv.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MUST_EXPLAIN = ("High", "Medium")


def place(finding: dict[str, Any]) -> str:
    """Where a finding is: Contract.function, Contract, or the element's name."""
    elements = finding.get("elements") or [{}]
    first = elements[0]
    name = str(first.get("name", "?"))
    parent = (first.get("type_specific_fields") or {}).get("parent") or {}
    if first.get("type") == "contract":
        return name
    if parent.get("type") == "contract":
        return f"{parent.get('name')}.{name.split('(')[0]}"
    if parent.get("type") == "function":
        contract = ((parent.get("type_specific_fields") or {}).get("parent") or {}).get("name", "?")
        return f"{contract}.{str(parent.get('name')).split('(')[0]}"
    return name


def explained(check: str, where: str, document: str) -> bool:
    """Whether a line of the document names this detector and this place."""
    return any(f"`{check}`" in line and f"`{where}`" in line for line in document.splitlines())


def triage(report: dict[str, Any], document: str) -> tuple[list[str], list[str]]:
    """(one line per finding, the high or medium ones the document does not explain)."""
    lines: list[str] = []
    unexplained: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for finding in (report.get("results") or {}).get("detectors") or []:
        check, impact = str(finding.get("check")), str(finding.get("impact"))
        where = place(finding)
        if (check, where, impact) in seen:
            continue
        seen.add((check, where, impact))
        lines.append(f"{impact:<13} {finding.get('confidence', '?'):<6} {check} {where}")
        if impact in MUST_EXPLAIN and not explained(check, where, document):
            unexplained.append(
                f"{impact} {check} {where}:"
                f" {str(finding.get('description', '')).strip().splitlines()[0]}"
            )
    return lines, unexplained


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    report = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    if not report.get("success", False):
        print(f"slither failed: {report.get('error')}", file=sys.stderr)
        return 2
    document = Path(argv[2]).read_text(encoding="utf-8")
    lines, unexplained = triage(report, document)
    print(f"slither: {len(lines)} finding(s)")
    for line in lines:
        print("  " + line)
    for line in unexplained:
        print(f"UNEXPLAINED (add it to {argv[2]} or fix the contract): {line}", file=sys.stderr)
    print(f"slither: {len(unexplained)} high or medium finding(s) unexplained")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
