"""The transparency-dev probes (tests/vectors/tlog-proofs): one test per JSON file.

A happy path must verify; every probe with wantErr must raise ProofError. The folder
ships in the repository (LEDGER_VECTORS_DIR points elsewhere); if it is missing the
suite fails rather than skips, so conformance cannot silently stop being tested.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ledger.core.merkle import (
    ProofError,
    root_from_consistency_proof,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

VECTORS_DIR = Path(
    os.environ.get("LEDGER_VECTORS_DIR") or Path(__file__).parents[2] / "vectors" / "tlog-proofs"
)
MIN_PROBES = 150
"""Fewer probes than this means the glob found the wrong folder."""

PROBES = sorted(VECTORS_DIR.glob("inclusion/**/*.json")) + sorted(
    VECTORS_DIR.glob("consistency/**/*.json")
)


def _missing() -> str:
    return (
        f"no proof probes under {VECTORS_DIR}: tests/vectors/tlog-proofs is missing, or "
        "LEDGER_VECTORS_DIR points at the wrong folder"
    )


def _bytes(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _proof(probe: dict[str, Any]) -> list[bytes]:
    return [_bytes(node) for node in probe["proof"] or []]


def test_probes_are_there() -> None:
    assert VECTORS_DIR.is_dir(), _missing()
    assert len(PROBES) > MIN_PROBES, f"only {len(PROBES)} probes under {VECTORS_DIR}"
    kinds = {path.relative_to(VECTORS_DIR).parts[0] for path in PROBES}
    assert kinds == {"inclusion", "consistency"}


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.relative_to(VECTORS_DIR).as_posix()) for p in PROBES]
    or [pytest.param(None, id="no-probes-found")],
)
def test_probe(path: Path | None) -> None:
    if path is None:
        pytest.fail(_missing())
    probe = json.loads(path.read_text())
    kind = path.relative_to(VECTORS_DIR).parts[0]
    if kind == "inclusion":
        args = (probe["leafIdx"], probe["treeSize"], _bytes(probe["leafHash"]), _proof(probe))
        root = _bytes(probe["root"])
        if probe["wantErr"]:
            with pytest.raises(ProofError):
                verify_inclusion(*args, root)
        else:
            verify_inclusion(*args, root)
            assert root_from_inclusion_proof(*args) == root
    else:
        size1, size2 = probe["size1"], probe["size2"]
        root1, root2 = _bytes(probe["root1"]), _bytes(probe["root2"])
        if probe["wantErr"]:
            with pytest.raises(ProofError):
                verify_consistency(size1, size2, _proof(probe), root1, root2)
        else:
            verify_consistency(size1, size2, _proof(probe), root1, root2)
            assert root_from_consistency_proof(size1, size2, _proof(probe), root1) == root2
