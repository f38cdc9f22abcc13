"""The lineage walk's limits, on a store: depth and node caps hit exactly, shared
ancestors listed once, sealed but unanchored nodes without evidence."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from ledger.core.records import parse_object
from ledger.errors import NotFoundError
from ledger.service.provenance import (
    AlreadyRegisteredError,
    UnregisteredParentError,
    lineage,
    register_model,
)
from ledger.service.sequencer import seal
from ledger.store.anchors import AnchorRepository
from ledger.store.repository import Store


def register(store: Store, model_id: str, version: str, *parents: tuple[str, str]) -> str:
    body: dict[str, Any] = {
        "model_id": model_id,
        "version": version,
        "artifact_sha256": hashlib.sha256(f"{model_id}@{version}".encode()).hexdigest(),
        "parents": [{"model_id": m, "version": v, "relation": "fine-tune"} for m, v in parents],
    }
    entry = parse_object({"v": 1, "kind": "model", "body": body})
    register_model(store, entry)
    return "0x" + entry.leaf_hash.hex()


def names(nodes: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(node["model_id"], node["depth"]) for node in nodes]


def test_depth_and_node_limits(store: Store) -> None:
    register(store, "m0", "1")
    for generation in range(1, 6):  # m5 -> m4 -> ... -> m0
        register(store, f"m{generation}", "1", (f"m{generation - 1}", "1"))
    anchors = AnchorRepository(store)

    whole = lineage(store, anchors, "m5")
    assert names(whole["versions"] + whole["ancestors"]) == [(f"m{5 - d}", d) for d in range(6)]
    assert whole["truncated"] is False
    assert lineage(store, anchors, "m5", max_depth=5)["truncated"] is False  # exactly deep enough

    shallow = lineage(store, anchors, "m5", max_depth=4)
    assert names(shallow["ancestors"]) == [("m4", 1), ("m3", 2), ("m2", 3), ("m1", 4)]
    assert shallow["truncated"] is True
    assert shallow["ancestors"][-1]["parents"][0]["leaf_hash"] is not None  # resolved, not listed

    assert lineage(store, anchors, "m5", max_nodes=6)["truncated"] is False
    few = lineage(store, anchors, "m5", max_nodes=3)
    assert (
        names(few["versions"] + few["ancestors"]) == [("m5", 0), ("m4", 1), ("m3", 2)]
        and few["truncated"]
    )


def test_merge_lists_a_shared_ancestor_once_and_states(store: Store) -> None:
    base = register(store, "base", "1")
    register(store, "left", "1", ("base", "1"))
    register(store, "right", "1", ("base", "1"))
    seal(store)
    register(store, "merged", "1", ("left", "1"), ("right", "1"))
    result = lineage(store, AnchorRepository(store), "merged")
    assert names(result["ancestors"]) == [("left", 1), ("right", 1), ("base", 2)]
    assert [node["leaf_hash"] for node in result["ancestors"]].count(base) == 1
    # No chain here: sealed nodes are "sequenced" without evidence, the new one pending.
    assert [(n["status"], n["evidence"]) for n in result["versions"]] == [("pending", None)]
    assert {(n["status"], n["evidence"]) for n in result["ancestors"]} == {("sequenced", None)}
    assert [n["leaf_index"] for n in result["ancestors"]] == [1, 2, 0]


def test_registration_checks(store: Store) -> None:
    register(store, "base", "1")
    with pytest.raises(
        AlreadyRegisteredError, match="model 'base' version '1' is already registered"
    ):
        register(store, "base", "1")
    with pytest.raises(UnregisteredParentError) as caught:
        register(store, "child", "1", ("base", "1"), ("base", "2"))
    assert caught.value.field == "body.parents.1"
    with pytest.raises(NotFoundError, match="no model 'child' is registered"):
        lineage(store, AnchorRepository(store), "child")
