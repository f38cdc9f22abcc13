"""The verifier, pure: bundles built here from records and ledger.merkle, a chain faked
in memory. Every field that matters is mutated, one at a time and at random, and must
fail with the right check; malformed input gives a BundleError, never a crash."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.merkle import inclusion_proof, root_hash
from ledger.records import parse_object
from ledger.verify import (
    ANCHORED_AT_SELECTOR,
    BUNDLE_FORMAT,
    MAX_BUNDLE_BYTES,
    MAX_DEPTH,
    MAX_PROOF_NODES,
    UNKNOWN_SIZE_SELECTOR,
    BundleError,
    ChainAnchor,
    ChainReadError,
    ChainTx,
    VerificationError,
    parse_bundle,
    verify_bundle,
)
from tests.factories import interaction

CONTRACT = bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")
LOG_ID = hashlib.sha256(b"model-ledger").digest()
TX_HASH = bytes(range(32))
BLOCK_HASH = bytes(range(32, 64))
BLOCK, TIME = 12, 1_780_000_000
SIZE = 11


def h(data: bytes) -> str:
    return "0x" + data.hex()


def make_log(size: int = SIZE) -> tuple[list[dict[str, Any]], list[bytes]]:
    """`size` records (as canonical JSON objects) and their leaf hashes."""
    entries = [parse_object(interaction(i, seed=3)) for i in range(size)]
    return [json.loads(e.canonical) for e in entries], [e.leaf_hash for e in entries]


RECORDS, LEAVES = make_log()
ROOT = root_hash(LEAVES)


def bundle_for(index: int, size: int = SIZE) -> dict[str, Any]:
    """A correct bundle of leaf `index` in the tree of the first `size` leaves."""
    return {
        "format": BUNDLE_FORMAT,
        "chain_id": 31337,
        "contract": h(CONTRACT),
        "log_id": h(LOG_ID),
        "checkpoint": {
            "tree_size": size,
            "root": h(root_hash(LEAVES[:size])),
            "anchor": {"tx_hash": h(TX_HASH), "block_number": BLOCK, "block_hash": h(BLOCK_HASH), "block_timestamp": TIME},
        },
        "entries": [
            {
                "leaf_index": index,
                "leaf_hash": h(LEAVES[index]),
                "record": copy.deepcopy(RECORDS[index]),
                "proof": [h(node) for node in inclusion_proof(index, LEAVES[:size])],
            }
        ],
    }


@dataclass
class FakeChain:
    """The chain, in memory: LogAnchor at CONTRACT with tree sizes SIZE and 5 anchored."""

    where: str = "memory"
    id: int = 31337
    anchors: dict[int, ChainAnchor] = field(
        default_factory=lambda: {
            SIZE: ChainAnchor(ROOT, BLOCK, TIME),
            5: ChainAnchor(root_hash(LEAVES[:5]), BLOCK, TIME),
        }
    )
    unreachable: bool = False

    def chain_id(self) -> int:
        if self.unreachable:
            raise ChainReadError("eth_chainId: the chain at memory is unreachable")
        return self.id

    def code(self, address: bytes) -> bytes:
        return b"\x60\x80" if address == CONTRACT else b""

    def anchored_at(self, contract: bytes, log_id: bytes, size: int) -> ChainAnchor | None:
        return self.anchors.get(size) if (contract, log_id) == (CONTRACT, LOG_ID) else None

    def block_hash(self, number: int) -> bytes | None:
        return BLOCK_HASH if number == BLOCK else None

    def transaction(self, tx_hash: bytes) -> ChainTx | None:
        return ChainTx(BLOCK_HASH, CONTRACT, True) if tx_hash == TX_HASH else None


def failure(bundle: Any, chain: FakeChain | None = None) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_bundle(bundle if isinstance(bundle, (str, bytes)) else json.dumps(bundle), chain)
    error = caught.value
    assert error.result is not None and error.result.checks[-1].name == error.check
    assert not error.result.checks[-1].passed and not error.result.valid
    return error


# -- valid bundles ------------------------------------------------------------------


@pytest.mark.parametrize("index", range(SIZE))
def test_every_leaf_verifies_offline_and_against_the_chain(index: int) -> None:
    offline = verify_bundle(json.dumps(bundle_for(index)), None)
    assert offline.valid and not offline.chain_consulted and offline.anchored is None
    assert [c.name for c in offline.checks] == ["bundle", "record", "leaf hash", "inclusion"]
    assert "NOT consulted" in offline.statement()

    online = verify_bundle(json.dumps(bundle_for(index)), FakeChain())
    assert online.valid and online.chain_consulted
    assert [c.name for c in online.checks][4:] == ["chain id", "contract", "anchor", "root on chain", "anchor block"]
    assert online.statement() == "existed no later than 2026-05-28T20:26:40Z (block 12)"
    assert online.existed_no_later_than is not None and online.existed_no_later_than.timestamp() == TIME


def test_smaller_anchored_checkpoint_verifies() -> None:
    assert verify_bundle(bundle_for(3, size=5), FakeChain()).valid


def test_selectors_are_the_contracts() -> None:
    assert ANCHORED_AT_SELECTOR == keccak(text="anchoredAt(bytes32,uint64)")[:4]
    assert UNKNOWN_SIZE_SELECTOR == keccak(text="LogAnchorUnknownSize(bytes32,uint64)")[:4]


# -- one field changed: the right check fails ---------------------------------------


def record_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every scalar inside a record, as a key path."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in record_paths(item, (*path, key))]
    return [path]


def changed(value: Any) -> Any:
    """A different value of the same type and shape (so the record stays valid)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1 if value < 5 else value - 1
    if value and all(c in "0123456789abcdef" for c in value):
        return ("1" if value[0] == "0" else "0") + value[1:]
    if value.endswith("Z"):  # a timestamp: one millisecond later
        return value[:-2] + ("1" if value[-2] == "0" else "0") + "Z"
    return value + "x"


def set_path(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


@pytest.mark.parametrize("path", record_paths(RECORDS[4]), ids=lambda p: ".".join(map(str, p)))
def test_any_record_field_changed_fails_the_leaf_hash(path: tuple[Any, ...]) -> None:
    bundle = bundle_for(4)
    record = bundle["entries"][0]["record"]
    old = record
    for key in path:
        old = old[key]
    set_path(record, path, changed(old))
    error = failure(bundle)
    if path in (("v",), ("kind",)):  # no other value is a valid record
        assert error.check == "record", error
    else:
        assert error.check == "leaf hash" and error.message.startswith("entry: the record hashes to 0x"), error


@pytest.mark.parametrize(
    ("change", "check", "words"),
    [
        (lambda r: r.update(extra=1), "record", "unknown field"),
        (lambda r: r.pop("salt"), "record", "not in canonical form"),
        (lambda r: r["body"].update(input_tokens=-1), "record", "greater than or equal to 0"),
        (lambda r: r.update(kind="weather"), "record", "unknown kind"),
        (lambda r: r["body"].update(input_tokens=2**60), "record", "cannot be encoded with RFC 8785"),
    ],
    ids=["unknown-field", "salt-removed", "negative-count", "unknown-kind", "huge-int"],
)
def test_invalid_record_fails_the_record_check(change: Any, check: str, words: str) -> None:
    bundle = bundle_for(2)
    change(bundle["entries"][0]["record"])
    error = failure(bundle)
    assert error.check == check and words in error.message, error


@pytest.mark.parametrize("node", range(len(inclusion_proof(6, LEAVES))))
def test_any_proof_node_changed_fails_inclusion(node: int) -> None:
    bundle = bundle_for(6)
    proof = bundle["entries"][0]["proof"]
    proof[node] = h(hashlib.sha256(proof[node].encode()).digest())
    error = failure(bundle)
    assert error.check == "inclusion" and "not to the checkpoint root" in error.message


ROOT_OTHER = h(hashlib.sha256(b"other").digest())


def mutate(bundle: dict[str, Any], where: str, value: Any) -> None:
    obj: Any = bundle
    keys = where.split(".")
    for key in keys[:-1]:
        obj = obj[int(key)] if key.isdigit() else obj[key]
    obj[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value


@pytest.mark.parametrize(
    ("where", "value", "check", "words"),
    [
        ("format", "model-ledger/evidence/v2", "bundle", "unknown format 'model-ledger/evidence/v2'"),
        ("checkpoint.root", ROOT_OTHER, "inclusion", "not to the checkpoint root " + ROOT_OTHER),
        ("checkpoint.tree_size", 16, "inclusion", "wrong proof length: expected 4 nodes, got 3"),
        ("checkpoint.tree_size", 8, "inclusion", "index is beyond size: 8 >= 8"),
        ("entries.0.leaf_index", 9, "inclusion", "not to the checkpoint root"),
        ("entries.0.leaf_index", 2, "inclusion", "wrong proof length"),
        ("entries.0.leaf_hash", h(LEAVES[9]), "leaf hash", "not to the bundle's leaf hash " + h(LEAVES[9])),
        ("entries.0.proof", [], "inclusion", "wrong proof length: expected 3 nodes, got 0"),
    ],
)
def test_checkpoint_and_entry_changes_fail_offline(where: str, value: Any, check: str, words: str) -> None:
    bundle = bundle_for(8)
    mutate(bundle, where, value)
    error = failure(bundle)
    assert error.check == check and words in error.message, error


def test_leaf_hash_and_record_swapped_together_fail_inclusion() -> None:
    bundle = bundle_for(8)
    bundle["entries"][0]["record"] = RECORDS[9]
    bundle["entries"][0]["leaf_hash"] = h(LEAVES[9])
    assert failure(bundle).check == "inclusion"


def test_offline_cannot_pin_the_tree_size_the_chain_does() -> None:
    # RFC 9162: leaf 0's proof in the tree of 11 also folds, step for step, as a proof in
    # the tree of 12 (its last node simply stands for a larger subtree). Offline this
    # passes; only the chain, which has nothing at size 12, tells.
    bundle = bundle_for(0, size=SIZE)
    bundle["checkpoint"]["tree_size"] = 12
    assert verify_bundle(json.dumps(bundle), None).valid
    error = failure(bundle, FakeChain())
    assert error.check == "anchor" and "nothing is anchored at tree size 12" in error.message


@pytest.mark.parametrize(
    ("where", "value", "check", "words"),
    [
        ("chain_id", 1, "chain id", "is on chain id 31337; the bundle names chain id 1"),
        ("contract", "0x" + "ab" * 20, "contract", "no contract at 0x" + "ab" * 20),
        ("log_id", ROOT_OTHER, "anchor", "nothing is anchored at tree size 11 of log " + ROOT_OTHER),
        ("checkpoint.anchor.block_number", 13, "anchor block", "the bundle says block 13"),
        ("checkpoint.anchor.block_timestamp", TIME - 1, "anchor block", f"at {TIME}; the bundle says block 12 at {TIME - 1}"),
        ("checkpoint.anchor.block_hash", ROOT_OTHER, "anchor block", "the bundle says " + ROOT_OTHER),
        ("checkpoint.anchor.tx_hash", ROOT_OTHER, "anchor block", f"transaction {ROOT_OTHER} is not on chain"),
    ],
)
def test_chain_claims_changed_fail_against_the_chain(where: str, value: Any, check: str, words: str) -> None:
    bundle = bundle_for(1)
    mutate(bundle, where, value)
    assert verify_bundle(json.dumps(bundle), None).valid  # offline takes them on trust
    error = failure(bundle, FakeChain())
    assert error.check == check and words in error.message, error


def test_root_on_chain_differs() -> None:
    chain = FakeChain()
    chain.anchors[SIZE] = ChainAnchor(hashlib.sha256(b"x").digest(), BLOCK, TIME)
    error = failure(bundle_for(1), chain)
    assert error.check == "root on chain" and error.message.startswith("root on chain differs: the contract holds 0x")


def test_unreachable_chain_is_not_a_verdict() -> None:
    error = failure(bundle_for(1), FakeChain(unreachable=True))
    assert isinstance(error, ChainReadError) and error.check == "chain"
    assert [c.passed for c in error.result.checks] == [True, True, True, True, False]  # type: ignore[union-attr]


# -- random mutations never verify --------------------------------------------------


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in leaf_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in leaf_paths(item, (*path, i))] or [path]
    return [path]


JSON_SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=80)
HEXISH = st.text(alphabet="0123456789abcdef", min_size=1, max_size=70).map(lambda t: "0x" + t)


def get_path(obj: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), index=st.integers(0, SIZE - 1))
def test_random_mutations_never_verify(data: st.DataObject, index: int) -> None:
    bundle = bundle_for(index)
    paths = leaf_paths(bundle)
    path = data.draw(st.sampled_from(paths))
    old = get_path(bundle, path)
    if isinstance(old, str) and old.startswith("0x"):
        position = data.draw(st.integers(2, len(old) - 1))
        flipped = old[:position] + ("1" if old[position] == "0" else "0") + old[position + 1 :]
        new = data.draw(st.sampled_from([flipped]) | HEXISH | JSON_SCALARS)
    else:
        new = data.draw(JSON_SCALARS | st.just(changed(old) if isinstance(old, (int, str)) else None))
    if json.dumps(new) == json.dumps(old):
        return
    set_path(bundle, path, new)
    text = json.dumps(bundle)
    with pytest.raises(VerificationError):
        verify_bundle(text, FakeChain())
    if path[0] not in ("checkpoint", "chain_id", "contract", "log_id"):  # offline trusts the checkpoint
        with pytest.raises(VerificationError):
            verify_bundle(text, None)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_structural_changes_never_verify(data: st.DataObject) -> None:
    bundle = bundle_for(data.draw(st.integers(0, SIZE - 1)))
    containers = [p for p in leaf_paths(bundle)]
    path = data.draw(st.sampled_from(containers))[:-1]
    parent = get_path(bundle, path)
    if isinstance(parent, dict):
        key = data.draw(st.sampled_from(sorted(parent)) | st.text(min_size=1, max_size=8))
        if key in parent and data.draw(st.booleans()):
            del parent[key]
        else:
            new = data.draw(JSON_SCALARS)
            if key in parent and json.dumps(new) == json.dumps(parent[key]):
                return
            parent[key] = new
    else:
        parent.append(data.draw(HEXISH))
    with pytest.raises(VerificationError):
        verify_bundle(json.dumps(bundle), FakeChain())


# -- malformed input: a clear BundleError, never a crash ----------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        ("[]", "a bundle is a JSON object, got list"),
        ("null", "a bundle is a JSON object, got NoneType"),
        ("{}", "no 'format': not a model-ledger evidence bundle"),
        ('{"format": 1}', "unknown format 1"),
        ('{"format": "model-ledger/evidence/v1"}', "bundle lacks 'chain_id', 'contract'"),
        ('{"format": "model-ledger/evidence/v1", "format": "x"}', "key 'format' appears twice"),
        ('{"format": NaN}', "NaN is not JSON"),
        ('{"format": 1.5}', "number 1.5 is not an integer"),
        ("[" * 100_000 + "]" * 100_000, "nested deeper than 32 levels"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested deeper than 32 levels"),
        ("[" * MAX_DEPTH + "]" * MAX_DEPTH, "a bundle is a JSON object, got list"),
        ('["[[[[' + "[" * 40 + '"]', "a bundle is a JSON object, got list"),
    ],
)
def test_malformed_json_is_a_bundle_error(text: str | bytes, words: str) -> None:
    error = failure(text)
    assert isinstance(error, BundleError) and error.check == "bundle" and words in error.message, error


@pytest.mark.parametrize(
    ("where", "value", "words"),
    [
        ("chain_id", True, "chain_id must be an integer, got bool"),
        ("chain_id", 0, "chain_id must be between 1 and"),
        ("chain_id", "31337", "chain_id must be an integer, got str"),
        ("contract", "0x" + "AB" * 20, "contract must be 0x and 40 lowercase hex digits"),
        ("contract", "0x" + "ab" * 32, "contract must be 0x and 40 lowercase hex digits"),
        ("log_id", LOG_ID.hex(), "log_id must be 0x and 64 lowercase hex digits"),
        ("checkpoint", [], "checkpoint must be a JSON object, got list"),
        ("checkpoint.tree_size", 0, "checkpoint.tree_size must be between 1 and"),
        ("checkpoint.tree_size", 2**64, "checkpoint.tree_size must be between 1 and"),
        ("checkpoint.anchor", None, "checkpoint.anchor must be a JSON object, got NoneType"),
        ("checkpoint.anchor.block_number", -1, "checkpoint.anchor.block_number must be between 0 and"),
        ("checkpoint.signature", "x", "checkpoint has unknown field 'signature'"),
        ("entries", [], "entries must be a non-empty list"),
        ("entries", {}, "entries must be a non-empty list"),
        ("entries.0", "x", "entries[0] must be a JSON object, got str"),
        ("entries.0.record", "{}", "entries[0].record must be a JSON object"),
        ("entries.0.leaf_index", -1, "entries[0].leaf_index must be between 0 and"),
        ("entries.0.proof", "0x00", "entries[0].proof must be a list of hashes"),
        ("entries.0.proof", ["0x" + "00" * 32] * (MAX_PROOF_NODES + 1), "65 nodes; the most a tree can need is 64"),
        ("entries.0.proof.1", 7, "entries[0].proof[1] must be 0x and 64 lowercase hex digits, got 7"),
        ("entries.0.kind", "interaction", "entries[0] has unknown field 'kind'"),
    ],
)
def test_bad_fields_are_bundle_errors(where: str, value: Any, words: str) -> None:
    bundle = bundle_for(5)
    mutate(bundle, where, value)
    error = failure(bundle)
    assert isinstance(error, BundleError) and words in error.message, error


def test_missing_field_named() -> None:
    bundle = bundle_for(5)
    del bundle["entries"][0]["proof"]
    assert "entries[0] lacks 'proof'" in failure(bundle).message


def test_size_limit_is_exact() -> None:
    padded = json.dumps(bundle_for(0)).encode()
    at_limit = padded[:-1] + b" " * (MAX_BUNDLE_BYTES - len(padded)) + b"}"
    assert len(at_limit) == MAX_BUNDLE_BYTES and parse_bundle(at_limit).tree_size == SIZE
    error = failure(at_limit + b" ")
    assert f"bundle is {MAX_BUNDLE_BYTES + 1} bytes; the limit is {MAX_BUNDLE_BYTES}" in error.message


def test_decoded_object_accepted() -> None:
    assert verify_bundle(bundle_for(3), FakeChain()).valid


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        JSON_SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=20,
    )
)
def test_arbitrary_json_never_crashes(value: Any) -> None:
    with pytest.raises(BundleError):
        verify_bundle(json.dumps(value), FakeChain())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    with pytest.raises(BundleError):
        verify_bundle(data, FakeChain())


# -- `ledger verify --offline`: no chain, so it belongs with the pure tests ------------


def test_cli_verify_offline_from_stdin() -> None:
    from typer.testing import CliRunner

    from ledger.cli import app

    good = CliRunner().invoke(app, ["verify", "-", "--offline"], input=json.dumps(bundle_for(7)))
    assert good.exit_code == 0, good.output
    assert "VALID: the chain was NOT consulted (offline)" in good.stdout and good.stderr == ""

    report = CliRunner().invoke(app, ["verify", "-", "--offline", "--json"], input=json.dumps(bundle_for(7)))
    assert json.loads(report.stdout) | {"checks": []} == {
        "valid": True,
        "chain_consulted": False,
        "checks": [],
        "existed_no_later_than": None,
        "block_number": None,
        "error": None,
    }

    tampered = bundle_for(7)
    tampered["entries"][0]["record"]["body"]["input_tokens"] += 1
    bad = CliRunner().invoke(app, ["verify", "-", "--offline"], input=json.dumps(tampered))
    assert bad.exit_code == 1
    assert "FAIL  leaf hash  entry: the record hashes to 0x" in bad.stdout
    assert "INVALID: leaf hash check failed" in bad.stdout
    assert bad.stderr.startswith("error: invalid bundle: leaf hash: entry: the record hashes to 0x")

    garbage = CliRunner().invoke(app, ["verify", "-", "--offline", "--json"], input="{not json")
    assert garbage.exit_code == 1
    assert json.loads(garbage.stdout)["error"]["check"] == "bundle"
