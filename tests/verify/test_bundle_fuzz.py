"""Fuzzing the evidence bundle parser and the offline verifier.

test_verify.py mutates one field of a fixed bundle at a time. Here the bundles are
built from records and logs hypothesis generates, then broken by several edits at once
(values replaced by arbitrary JSON, keys dropped or added, containers emptied), or by
flipping bytes of their JSON text; and the parser gets arbitrary bytes and arbitrary
JSON. Nothing malformed or mutated verifies, and every refusal is a VerificationError
(a BundleError for input that is not a bundle), never another exception.

Offline verification trusts the checkpoint's anchor fields and cannot pin the tree size
(the chain does, see test_verify.py), so mutations there need only be refused cleanly.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core.merkle import inclusion_proof, root_hash
from ledger.core.records import parse_object
from ledger.formats.bundle import BUNDLE_FORMAT, parse_bundle
from ledger.formats.fields import FormatError
from ledger.verify.bundle import verify_bundle
from ledger.verify.result import BundleError, VerificationError
from tests.core.test_records import any_record
from tests.core.test_records_fuzz import json_values, paths

fuzz_settings = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def h(data: bytes) -> str:
    return "0x" + data.hex()


@st.composite
def bundles(draw: st.DrawFn) -> dict[str, Any]:
    """A valid bundle for one entry of a generated log of 1 to 24 generated records."""
    records = draw(st.lists(any_record, min_size=1, max_size=24))
    entries = [parse_object(record) for record in records]
    leaves = [entry.leaf_hash for entry in entries]
    size = draw(st.integers(1, len(leaves)))
    index = draw(st.integers(0, size - 1))
    return {
        "format": BUNDLE_FORMAT,
        "chain_id": draw(st.integers(1, 2**64)),
        "contract": h(draw(st.binary(min_size=20, max_size=20))),
        "log_id": h(hashlib.sha256(b"model-ledger").digest()),
        "checkpoint": {
            "tree_size": size,
            "root": h(root_hash(leaves[:size])),
            "anchor": {
                "tx_hash": h(draw(st.binary(min_size=32, max_size=32))),
                "block_number": draw(st.integers(0, 2**40)),
                "block_hash": h(draw(st.binary(min_size=32, max_size=32))),
                "block_timestamp": draw(st.integers(0, 2**40)),
            },
        },
        "entries": [
            {
                "leaf_index": index,
                "leaf_hash": h(leaves[index]),
                "record": json.loads(entries[index].canonical),
                "proof": [h(node) for node in inclusion_proof(index, leaves[:size])],
            }
        ],
    }


def trusted_offline(path: tuple[Any, ...]) -> bool:
    """Fields the offline check takes on trust (the chain check covers them)."""
    return path[:1] in {("chain_id",), ("contract",), ("log_id",)} or path[:2] in {
        ("checkpoint", "anchor"),
        ("checkpoint", "tree_size"),
    }


def refused(bundle: Any) -> VerificationError:
    """The VerificationError verifying `bundle` offline raises (nothing else may escape)."""
    with pytest.raises(VerificationError) as caught:
        verify_bundle(bundle, None)
    return caught.value


@fuzz_settings
@given(bundles())
def test_generated_bundles_verify(bundle: dict[str, Any]) -> None:
    # The generator is right: without this the tests below would prove nothing.
    assert verify_bundle(json.dumps(bundle), None).valid


@fuzz_settings
@given(bundles(), st.data())
def test_bundles_with_several_edits_never_verify(
    bundle: dict[str, Any], data: st.DataObject
) -> None:
    original = copy.deepcopy(bundle)
    touched: list[tuple[Any, ...]] = []
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        path = data.draw(st.sampled_from([p for p in paths(bundle) if p]), label="where")
        parent = bundle
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["replace", "delete", "add", "empty"]), label="edit")
        if action == "replace":
            parent[path[-1]] = data.draw(json_values, label="value")
        elif action == "delete":
            del parent[path[-1]]
        elif action == "empty" and isinstance(parent[path[-1]], (dict, list)):
            parent[path[-1]] = type(parent[path[-1]])()
        elif isinstance(parent, dict):
            parent[data.draw(st.text(max_size=10), label="key")] = data.draw(
                json_values, label="value"
            )
        else:
            parent.append(data.draw(json_values, label="item"))
        touched.append(path)
    if bundle == original:
        return
    text = json.dumps(bundle)
    if all(trusted_offline(path) for path in touched):
        try:
            verify_bundle(text, None)
        except VerificationError:
            pass
        return
    refused(text)
    refused(bundle)  # the decoded form goes through the same checks


@fuzz_settings
@given(bundles(), st.data())
def test_flipped_bytes_never_verify_a_changed_claim(
    bundle: dict[str, Any], data: st.DataObject
) -> None:
    text = bytearray(json.dumps(bundle).encode())
    for _ in range(data.draw(st.integers(1, 4), label="flips")):
        at = data.draw(st.integers(0, len(text) - 1), label="at")
        text[at] = data.draw(st.integers(0, 255), label="byte")
    try:
        result = verify_bundle(bytes(text), None)
    except VerificationError:
        return
    # It verified: then what it proves is what the honest bundle proved.
    assert result.valid
    honest, parsed = parse_bundle(bundle), parse_bundle(bytes(text))
    assert parsed.root == honest.root and parsed.entries == honest.entries


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_arbitrary_bytes_are_bundle_errors(data: bytes) -> None:
    with pytest.raises(FormatError):
        parse_bundle(data)
    assert isinstance(refused(data), BundleError)


@fuzz_settings
@given(
    st.fixed_dictionaries(
        {},
        optional={
            key: json_values
            for key in ("format", "chain_id", "contract", "log_id", "checkpoint", "entries")
        },
    ),
    st.booleans(),
)
def test_arbitrary_bundle_shaped_json_is_refused(
    document: dict[str, Any], with_format: bool
) -> None:
    if with_format:
        document["format"] = BUNDLE_FORMAT
    refused(json.dumps(document))
    refused(document)


def test_deeply_nested_decoded_record_is_a_record_error() -> None:
    # Regression: a decoded bundle (not text, so not depth-checked) nested past Python's
    # recursion limit inside a record crashed the RFC 8785 encoder with RecursionError.
    records = [
        {
            "v": 1,
            "kind": "digest",
            "body": {"sha256": "ab" * 32},
            "salt": "00" * 16,
            "ts": "2026-01-01T00:00:00.000Z",
        }
    ]
    leaf = parse_object(records[0]).leaf_hash
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(min(2 * sys.getrecursionlimit(), 20_000)):
        node["x"] = {}
        node = node["x"]
    bundle = {
        "format": BUNDLE_FORMAT,
        "chain_id": 1,
        "contract": h(bytes(20)),
        "log_id": h(bytes(32)),
        "checkpoint": {
            "tree_size": 1,
            "root": h(leaf),
            "anchor": {
                "tx_hash": h(bytes(32)),
                "block_number": 1,
                "block_hash": h(bytes(32)),
                "block_timestamp": 1,
            },
        },
        "entries": [
            {
                "leaf_index": 0,
                "leaf_hash": h(leaf),
                "record": {**records[0], "body": deep},
                "proof": [],
            }
        ],
    }
    error = refused(bundle)
    assert error.check == "record", error
    # Past the interpreter's recursion limit (pytest-xdist workers may raise it, and then
    # the encoding only meets the record size limit).
    assert "nested too deep" in error.message or "the limit is 16384" in error.message, error
