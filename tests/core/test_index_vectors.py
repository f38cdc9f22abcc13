"""The committed index vectors (tests/vectors/index/, written by
scripts/make_index_vectors.py): current, reproduced by an independent reference, and
every document's verdict and failed check as its manifest states."""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ledger.core.index import MapLeaf, MapProof, index_root, root_from_proof
from ledger.verify.completeness import verify_completeness
from ledger.verify.result import VerificationError
from tests.core.test_index import ref_postings_root, ref_root

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "index"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_index_vectors", ROOT / "scripts" / "make_index_vectors.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def b(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def ref_map_proof(obj: dict[str, Any]) -> MapProof:
    """A map proof as docs/evidence-format.md spells it, read without ledger.formats:
    bit i of the bitmap (most significant first) marks level i's sibling empty; the
    other siblings follow one another in the base64 string, 32 bytes each."""
    depth, bitmap = obj["depth"], b(obj["empty"])
    blob = base64.b64decode(obj["siblings"], validate=True)
    assert len(bitmap) == (depth + 7) // 8
    siblings, taken = [], 0
    for level in range(depth):
        if (bitmap[level // 8] >> (7 - level % 8)) & 1:
            siblings.append(bytes(32))
        else:
            siblings.append(blob[taken : taken + 32])
            taken += 32
    assert taken == len(blob)
    other = None
    if obj["other"] is not None:
        raw = base64.b64decode(obj["other"], validate=True)
        assert len(raw) == 72
        other = MapLeaf(raw[:32], int.from_bytes(raw[32:40], "big"), raw[40:])
    return MapProof(tuple(siblings), other)


def test_committed_vectors_are_current() -> None:
    files = generator().build()
    stale = [p for p, data in files.items() if (VECTORS / p).read_bytes() != data]
    assert not stale, f"run scripts/make_index_vectors.py: {stale} differ"
    on_disk = {str(p.relative_to(VECTORS)) for p in VECTORS.rglob("*.json")}
    assert on_disk == set(files)


CASES = json.loads((VECTORS / "map.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_map_vectors_match_the_reference(case: dict[str, Any]) -> None:
    values = {}
    for key in case["keys"]:
        assert b(key["postings_root"]) == ref_postings_root(key["postings"])
        values[b(key["key_hash"])] = (len(key["postings"]), b(key["postings_root"]))
    assert b(case["map_root"]) == ref_root(values)
    assert b(case["index_root"]) == index_root(case["tree_size"], b(case["map_root"]))
    for probe in case["proofs"]:
        k = b(probe["key_hash"])
        proof = ref_map_proof(probe["proof"])
        leaf = MapLeaf(k, *values[k]) if probe["present"] else None
        assert root_from_proof(k, leaf, proof) == b(case["map_root"])


MANIFEST = json.loads((VECTORS / "manifest.json").read_text())["documents"]


@pytest.mark.parametrize("item", MANIFEST, ids=[m["file"] for m in MANIFEST])
def test_documents_verify_as_stated(item: dict[str, Any]) -> None:
    data = (VECTORS / item["file"]).read_bytes()
    if item["valid"]:
        assert verify_completeness(data, None).valid
        return
    with pytest.raises(VerificationError) as failure:
        verify_completeness(data, None)
    assert failure.value.check == item["check"]
