"""The verifier, pure: bundles built here from records and ledger.core.merkle, a chain faked
in memory (faithfully: the shipped LogAnchor's runtime code at the pinned address, its
logInfo and rootAt, receipts carrying the Anchored events, block headers). Every field
that matters is mutated, one at a time and at random, and must fail with the right
check; malformed input gives a BundleError, never a crash."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core.merkle import inclusion_proof, root_hash
from ledger.core.records import parse_object
from ledger.formats.abi import contract as shipped_contract
from ledger.formats.bundle import BUNDLE_FORMAT, MAX_BUNDLE_BYTES, MAX_PROOF_NODES, parse_bundle
from ledger.formats.identity import LogIdentity
from ledger.formats.producer import producer
from ledger.formats.strict_json import MAX_DEPTH
from ledger.verify.bundle import verify_bundle
from ledger.verify.licence import LicenceCheck, LicenceMismatchError, check_licence, read_document
from ledger.verify.result import BundleError, ChainReadError, VerificationError
from ledger.verify.rpc import (
    Block,
    ChainUnreadableError,
    ContractCallError,
    EventLog,
    LicenceStatus,
    LogInfo,
    TxReceipt,
)
from ledger.workload import interaction

CONTRACT = bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")
LOG_ID = hashlib.sha256(b"model-ledger").digest()
SIGNER = bytes.fromhex("db00079cad3e665853bf766efe26f4c38cdbdcda")  # the log key's address
ADMIN = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")
TX_HASH = bytes(range(32))
BLOCK_HASH = bytes(range(32, 64))
BLOCK, TIME = 12, 1_780_000_000
SIZE = 11
TX_5, BLOCK_5, BLOCK_HASH_5, TIME_5 = bytes(range(64, 96)), 9, bytes(range(96, 128)), TIME - 36
"""The anchor of size 5, three blocks before the anchor of size SIZE."""

IDENTITY = LogIdentity(
    name="model-ledger",
    chain_id=31337,
    log_anchor=CONTRACT,
    log_id=LOG_ID,
    licence_registry=None,
    log_signer=SIGNER,
    deployment_block=1,
)
"""The log a verifier pins."""

LOG_ANCHOR = shipped_contract("LogAnchor")
ANCHORED = LOG_ANCHOR.event_topic("Anchored")


def h(data: bytes) -> str:
    return "0x" + data.hex()


def word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def make_log(size: int = SIZE) -> tuple[list[dict[str, Any]], list[bytes]]:
    """`size` records (as canonical JSON objects) and their leaf hashes."""
    entries = [parse_object(interaction(i, seed=3)) for i in range(size)]
    return [json.loads(e.canonical) for e in entries], [e.leaf_hash for e in entries]


RECORDS, LEAVES = make_log()
ROOT = root_hash(LEAVES)


def anchor_json(size: int) -> dict[str, Any]:
    """The `checkpoint.anchor` of the anchor of `size` (5 or SIZE), as the operator writes it."""
    tx, number, block_hash, time = (
        (TX_5, BLOCK_5, BLOCK_HASH_5, TIME_5) if size == 5 else (TX_HASH, BLOCK, BLOCK_HASH, TIME)
    )
    return {
        "tx_hash": h(tx),
        "block_number": number,
        "block_hash": h(block_hash),
        "block_timestamp": time,
    }


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
            "anchor": anchor_json(size),
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


NO_INDEX = bytes(32)
"""The index root of a checkpoint without a verifiable index."""


def anchored_event(
    size: int, root: bytes, prev_size: int, tx: bytes, number: int, block_hash: bytes
) -> EventLog:
    """LogAnchor's `Anchored(logId, size, root, indexRoot, prevSize)` as a receipt carries it."""
    return EventLog(
        CONTRACT,
        (ANCHORED, LOG_ID, word(size)),
        root + NO_INDEX + word(prev_size),
        number,
        block_hash,
        tx,
        0,
    )


def anchor_receipt(
    size: int, root: bytes, prev_size: int, tx: bytes, number: int, block_hash: bytes
) -> TxReceipt:
    """The receipt of a successful anchor(...) call of the LogAnchor at CONTRACT."""
    return TxReceipt(
        tx,
        number,
        block_hash,
        CONTRACT,
        True,
        (anchored_event(size, root, prev_size, tx, number, block_hash),),
    )


@dataclass
class FakeChain:
    """The chain, in memory, as `ledger.verify.bundle.ChainReader`: the shipped LogAnchor at
    CONTRACT holding log LOG_ID (log key SIGNER) with tree sizes 5 and SIZE anchored, each
    by its own transaction, whose receipt carries the Anchored event, in its own block."""

    where: str = "memory"
    id: int = 31337
    codes: dict[bytes, bytes] = field(default_factory=lambda: {CONTRACT: LOG_ANCHOR.runtime_code})
    info: LogInfo = field(default_factory=lambda: LogInfo(SIGNER, ADMIN, SIZE, False, 0))
    roots: dict[int, bytes] = field(default_factory=lambda: {SIZE: ROOT, 5: root_hash(LEAVES[:5])})
    receipts: dict[bytes, TxReceipt] = field(
        default_factory=lambda: {
            TX_5: anchor_receipt(5, root_hash(LEAVES[:5]), 0, TX_5, BLOCK_5, BLOCK_HASH_5),
            TX_HASH: anchor_receipt(SIZE, ROOT, 5, TX_HASH, BLOCK, BLOCK_HASH),
        }
    )
    blocks: dict[int, Block] = field(
        default_factory=lambda: {
            BLOCK_5: Block(BLOCK_5, BLOCK_HASH_5, TIME_5),
            BLOCK: Block(BLOCK, BLOCK_HASH, TIME),
        }
    )
    unreachable: bool = False

    def _reachable(self, method: str) -> None:
        if self.unreachable:
            raise ChainUnreadableError(
                f"{method}: the chain at memory is unreachable (ConnectError)"
            )

    def chain_id(self) -> int:
        self._reachable("eth_chainId")
        return self.id

    def code(self, address: bytes) -> bytes:
        self._reachable("eth_getCode")
        return self.codes.get(address, b"")

    def _log_anchor(self, address: bytes, function: str) -> None:
        """What an eth_call of LogAnchor.`function` meets at `address`."""
        self._reachable("eth_call")
        if self.codes.get(address) != LOG_ANCHOR.runtime_code:  # no code answers nothing
            raise ContractCallError(
                f"LogAnchor.{function} answered 0 bytes, not 5 words: is this a LogAnchor?"
            )

    def log_info(self, log_anchor: bytes, log_id: bytes) -> LogInfo:
        self._log_anchor(log_anchor, "logInfo")
        if log_id != LOG_ID:
            raise ContractCallError(
                "LogAnchor.logInfo reverted with LogAnchorUnknownLog", "LogAnchorUnknownLog"
            )
        return self.info

    def root_at(self, log_anchor: bytes, log_id: bytes, size: int) -> bytes | None:
        self._log_anchor(log_anchor, "rootAt")
        return self.roots.get(size) if log_id == LOG_ID else None

    def receipt(self, tx_hash: bytes) -> TxReceipt | None:
        self._reachable("eth_getTransactionReceipt")
        return self.receipts.get(tx_hash)

    def block(self, number: int) -> Block | None:
        self._reachable("eth_getBlockByNumber")
        return self.blocks.get(number)


def failure(
    bundle: Any, chain: FakeChain | None = None, identity: LogIdentity | None = None
) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        text = bundle if isinstance(bundle, (str, bytes)) else json.dumps(bundle)
        verify_bundle(text, chain, IDENTITY if chain is not None and identity is None else identity)
    error = caught.value
    assert error.result is not None and error.result.checks[-1].name == error.check
    assert not error.result.checks[-1].passed and not error.result.valid
    return error


ONLINE_CHECKS = [
    "chain id",
    "contract",
    "log",
    "root on chain",
    "anchor transaction",
    "anchor block",
]


# -- valid bundles ------------------------------------------------------------------


@pytest.mark.parametrize("index", range(SIZE))
def test_every_leaf_verifies_offline_and_against_the_chain(index: int) -> None:
    offline = verify_bundle(json.dumps(bundle_for(index)), None)
    assert offline.valid and not offline.chain_consulted and offline.anchored is None
    assert [c.name for c in offline.checks] == ["bundle", "record", "leaf hash", "inclusion"]
    assert (
        "NOT consulted" in offline.statement()
        and "no log identity was pinned" in offline.statement()
    )

    pinned = verify_bundle(json.dumps(bundle_for(index)), None, IDENTITY)
    assert pinned.valid and not pinned.chain_consulted
    assert [c.name for c in pinned.checks] == [
        "bundle",
        "log identity",
        "record",
        "leaf hash",
        "inclusion",
    ]
    assert (
        "NOT consulted" in pinned.statement()
        and "it names the pinned log 'model-ledger'" in pinned.statement()
    )

    online = verify_bundle(json.dumps(bundle_for(index)), FakeChain(), IDENTITY)
    assert online.valid and online.chain_consulted
    assert [c.name for c in online.checks][5:] == ONLINE_CHECKS
    assert (
        online.statement()
        == f"existed no later than 2026-05-28T20:26:40Z (block 12), in {IDENTITY.describe()}"
    )
    assert (
        online.existed_no_later_than is not None
        and online.existed_no_later_than.timestamp() == TIME
    )
    assert online.anchored is not None and (
        online.anchored.tx_hash,
        online.anchored.block_hash,
    ) == (TX_HASH, BLOCK_HASH)


def test_smaller_anchored_checkpoint_verifies() -> None:
    result = verify_bundle(bundle_for(3, size=5), FakeChain(), IDENTITY)
    assert result.valid and result.anchored is not None and result.anchored.block_number == BLOCK_5
    assert (
        result.existed_no_later_than is not None
        and result.existed_no_later_than.timestamp() == TIME_5
    )


def test_the_chain_is_consulted_only_against_a_pinned_log() -> None:
    with pytest.raises(ValueError, match="needs a pinned log identity"):
        verify_bundle(json.dumps(bundle_for(1)), FakeChain())


def test_the_fake_chain_is_the_shipped_log_anchor() -> None:
    """The fake serves the shipped runtime code and the event the verifier looks for: the
    topic is keccak256 of the ABI's Anchored signature, indexed by log id and size."""
    from eth_utils.crypto import keccak

    assert (
        FakeChain().code(CONTRACT) == LOG_ANCHOR.runtime_code
        and len(LOG_ANCHOR.runtime_code) > 1000
    )
    assert ANCHORED == keccak(text="Anchored(bytes32,uint64,bytes32,bytes32,uint64)")
    assert [(n, i) for n, _t, i in LOG_ANCHOR.event_inputs("Anchored")] == [
        ("logId", True),
        ("size", True),
        ("root", False),
        ("indexRoot", False),
        ("prevSize", False),
    ]


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
    if path == ("kind",):  # no other value is a valid record
        assert error.check == "record", error
    elif path == ("v",):  # the same envelope as v2 commits to each field: another leaf
        assert error.check == "leaf hash" and error.message.startswith(
            "entry: the record's field commitments hash to 0x"
        ), error
    else:
        assert error.check == "leaf hash" and error.message.startswith(
            "entry: the record hashes to 0x"
        ), error


@pytest.mark.parametrize(
    ("change", "check", "words"),
    [
        (lambda r: r.update(extra=1), "record", "unknown field"),
        (lambda r: r.pop("salt"), "record", "not in canonical form"),
        (lambda r: r["body"].update(input_tokens=-1), "record", "greater than or equal to 0"),
        (lambda r: r.update(kind="weather"), "record", "unknown kind"),
        (
            lambda r: r["body"].update(input_tokens=2**60),
            "record",
            "cannot be encoded with RFC 8785",
        ),
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


ROOT_OTHER_BYTES = hashlib.sha256(b"other").digest()
ROOT_OTHER = h(ROOT_OTHER_BYTES)


def mutate(bundle: dict[str, Any], where: str, value: Any) -> None:
    obj: Any = bundle
    keys = where.split(".")
    for key in keys[:-1]:
        obj = obj[int(key)] if key.isdigit() else obj[key]
    obj[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value


@pytest.mark.parametrize(
    ("where", "value", "check", "words"),
    [
        (
            "format",
            "model-ledger/evidence/v2",
            "bundle",
            "unknown format 'model-ledger/evidence/v2'",
        ),
        ("checkpoint.root", ROOT_OTHER, "inclusion", "not to the checkpoint root " + ROOT_OTHER),
        ("checkpoint.tree_size", 16, "inclusion", "wrong proof length: expected 4 nodes, got 3"),
        ("checkpoint.tree_size", 8, "inclusion", "index is beyond size: 8 >= 8"),
        ("entries.0.leaf_index", 9, "inclusion", "not to the checkpoint root"),
        ("entries.0.leaf_index", 2, "inclusion", "wrong proof length"),
        (
            "entries.0.leaf_hash",
            h(LEAVES[9]),
            "leaf hash",
            "not to the bundle's leaf hash " + h(LEAVES[9]),
        ),
        ("entries.0.proof", [], "inclusion", "wrong proof length: expected 3 nodes, got 0"),
    ],
)
def test_checkpoint_and_entry_changes_fail_offline(
    where: str, value: Any, check: str, words: str
) -> None:
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
    assert verify_bundle(json.dumps(bundle), None, IDENTITY).valid
    error = failure(bundle, FakeChain())
    assert error.check == "root on chain" and "nothing is anchored at tree size 12" in error.message


@pytest.mark.parametrize(
    ("where", "value", "words"),
    [
        ("chain_id", 1, "chain_id: the bundle names 1, the pinned log has 31337"),
        (
            "contract",
            "0x" + "ab" * 20,
            f"log_anchor: the bundle names 0x{'ab' * 20}, the pinned log has {h(CONTRACT)}",
        ),
        (
            "log_id",
            "0x" + "cd" * 32,
            f"log_id: the bundle names 0x{'cd' * 32}, the pinned log has {h(LOG_ID)}",
        ),
    ],
)
def test_a_bundle_about_another_log_fails_the_log_identity_even_offline(
    where: str, value: Any, words: str
) -> None:
    """Anyone can deploy LogAnchor and anchor anything in a log of the same id: a bundle
    is refused when it names any other chain, contract or log than the pinned one, before
    any other check, offline too."""
    bundle = bundle_for(1)
    mutate(bundle, where, value)
    assert verify_bundle(json.dumps(bundle), None).valid  # unpinned and offline: mathematics only
    for chain in (None, FakeChain()):
        error = failure(bundle, chain, IDENTITY)
        assert error.check == "log identity" and words in error.message, error
        assert [c.name for c in error.result.checks] == ["bundle", "log identity"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("where", "value", "check", "words"),
    [
        (
            "checkpoint.anchor.block_number",
            13,
            "anchor transaction",
            "is in block 12 (" + h(BLOCK_HASH) + "); the bundle says block 13",
        ),
        (
            "checkpoint.anchor.block_hash",
            ROOT_OTHER,
            "anchor transaction",
            "the bundle says block 12 (" + ROOT_OTHER + ")",
        ),
        (
            "checkpoint.anchor.block_timestamp",
            TIME - 1,
            "anchor block",
            f"header says time {TIME} (2026-05-28T20:26:40Z); the bundle says {TIME - 1}",
        ),
        (
            "checkpoint.anchor.tx_hash",
            ROOT_OTHER,
            "anchor transaction",
            f"transaction {ROOT_OTHER} is not on chain",
        ),
        (
            "checkpoint.anchor.tx_hash",
            h(TX_5),
            "anchor transaction",
            f"transaction {h(TX_5)} is in block {BLOCK_5}",
        ),
    ],
)
def test_chain_claims_changed_fail_against_the_chain(
    where: str, value: Any, check: str, words: str
) -> None:
    bundle = bundle_for(1)
    mutate(bundle, where, value)
    assert verify_bundle(json.dumps(bundle), None, IDENTITY).valid  # offline takes them on trust
    error = failure(bundle, FakeChain())
    assert error.check == check and words in error.message, error


def test_the_anchor_time_is_the_block_headers() -> None:
    """A bundle naming the anchor of size 5 (block 9) as its checkpoint's gets size 5's
    time, from block 9's header; moving the claimed time to block 12's fails."""
    bundle = bundle_for(3, size=5)
    bundle["checkpoint"]["anchor"]["block_timestamp"] = TIME
    error = failure(bundle, FakeChain())
    assert (
        error.check == "anchor block"
        and f"block {BLOCK_5}'s header says time {TIME_5}" in error.message
    )
    chain = FakeChain()
    chain.blocks[BLOCK] = Block(
        BLOCK, ROOT_OTHER_BYTES, TIME
    )  # reorganised: another block at height 12
    error = failure(bundle_for(1), chain)
    assert (
        error.check == "anchor block"
        and f"block 12 is {h(ROOT_OTHER_BYTES)} on chain" in error.message
    )
    del chain.blocks[BLOCK]
    assert "block 12 is no block on chain" in failure(bundle_for(1), chain).message


def receipt_changed(change: Any) -> FakeChain:
    chain = FakeChain()
    chain.receipts[TX_HASH] = change(chain.receipts[TX_HASH])
    return chain


def event_changed(**fields: Any) -> Any:
    def change(receipt: TxReceipt) -> TxReceipt:
        (event,) = receipt.logs
        return dataclasses.replace(receipt, logs=(dataclasses.replace(event, **fields),))

    return change


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda r: dataclasses.replace(r, succeeded=False),
            f"transaction {h(TX_HASH)} failed (its receipt's status is not success)",
        ),
        (lambda r: dataclasses.replace(r, logs=()), "did not anchor tree size 11"),
        (lambda r: dataclasses.replace(r, to=None, logs=()), "did not anchor tree size 11"),
        (event_changed(address=b"\x11" * 20), "did not anchor tree size 11"),
        (
            event_changed(topics=(ANCHORED, ROOT_OTHER_BYTES, word(SIZE))),
            "did not anchor tree size 11",
        ),
        (event_changed(topics=(ANCHORED, LOG_ID, word(5))), "did not anchor tree size 11"),
        (
            event_changed(topics=(ROOT_OTHER_BYTES, LOG_ID, word(SIZE))),
            "did not anchor tree size 11",
        ),
        (
            event_changed(data=ROOT_OTHER_BYTES + NO_INDEX + word(5)),
            "did not anchor tree size 11 with root " + h(ROOT),
        ),
        (event_changed(data=ROOT), "did not anchor tree size 11"),
    ],
    ids=[
        "failed",
        "no-event",
        "deployment",
        "event-of-another-contract",
        "other-log",
        "other-size",
        "other-event",
        "other-root",
        "short-data",
    ],
)
def test_the_anchor_transaction_must_carry_the_anchored_event(change: Any, words: str) -> None:
    """The bundle's transaction is the one that anchored this checkpoint: a successful
    transaction whose receipt holds Anchored(logId, size, root) emitted by the pinned
    contract."""
    error = failure(bundle_for(1), receipt_changed(change))
    assert error.check == "anchor transaction" and words in error.message, error


@pytest.mark.parametrize("to", [b"\x11" * 20, None], ids=["forwarder", "contract-creation"])
def test_an_anchor_relayed_through_another_contract_is_valid(to: bytes | None) -> None:
    """Anyone may relay a signed checkpoint, through a contract of their own too (a
    forwarder, a multisig): the transaction then calls that contract, not LogAnchor. The
    Anchored event the pinned LogAnchor emitted in it is the proof; whom the transaction
    called proves nothing, and refusing it would let a stranger who relays first make
    the operator's genuine evidence of that anchor INVALID."""
    result = verify_bundle(
        bundle_for(1), receipt_changed(lambda r: dataclasses.replace(r, to=to)), IDENTITY
    )
    assert result.valid and result.anchored is not None and result.anchored.tx_hash == TX_HASH
    assert [c.name for c in result.checks][-2:] == ["anchor transaction", "anchor block"]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (b"", "no contract at " + h(CONTRACT) + " on chain id 31337"),
        (b"\x60\x80", "is not the LogAnchor model-ledger ships: its runtime code has SHA-256"),
        (
            shipped_contract("LicenceRegistry").runtime_code,
            "is not the LogAnchor model-ledger ships",
        ),
        (LOG_ANCHOR.runtime_code + b"\x00", "is not the LogAnchor model-ledger ships"),
    ],
    ids=["no-code", "other-code", "licence-registry", "one-byte-more"],
)
def test_the_pinned_address_must_hold_the_shipped_log_anchor(code: bytes, words: str) -> None:
    """A look-alike contract could answer rootAt and logInfo with anything: the code at the
    pinned address must be LogAnchor's runtime code, byte for byte."""
    chain = FakeChain()
    chain.codes[CONTRACT] = code
    error = failure(bundle_for(1), chain)
    assert error.check == "contract" and words in error.message, error
    assert [c.name for c in error.result.checks][-3:] == ["inclusion", "chain id", "contract"]  # type: ignore[union-attr]


def test_the_node_must_serve_the_pinned_chain() -> None:
    error = failure(bundle_for(1), FakeChain(id=1))
    assert (
        error.check == "chain id"
        and "serves chain id 1; the pinned log is on chain id 31337" in error.message
    )


def test_the_log_must_have_the_pinned_log_key_and_not_be_retired_below_the_size() -> None:
    other_key = FakeChain(info=LogInfo(b"\x22" * 20, ADMIN, SIZE, False, 0))
    error = failure(bundle_for(1), other_key)
    assert (
        error.check == "log"
        and f"is signed by 0x{'22' * 20}, but the pinned log identity names log key {h(SIGNER)}"
        in error.message
    )
    unknown = dataclasses.replace(IDENTITY, log_id=ROOT_OTHER_BYTES)
    error = failure(bundle_for(1) | {"log_id": ROOT_OTHER}, FakeChain(), unknown)
    assert error.check == "log" and f"holds no log {ROOT_OTHER}" in error.message

    retired = FakeChain(info=LogInfo(SIGNER, ADMIN, SIZE, True, 5))
    error = failure(bundle_for(1), retired)
    assert (
        error.check == "log"
        and "was retired (its log key leaked)" in error.message
        and "up to tree size 5 only" in error.message
    )
    result = verify_bundle(
        json.dumps(bundle_for(3, size=5)), retired, IDENTITY
    )  # at or below the trusted size
    assert result.valid and "retired, trusted up to size 5" in result.checks[7].detail
    assert verify_bundle(
        json.dumps(bundle_for(1)),
        FakeChain(info=LogInfo(SIGNER, ADMIN, SIZE, True, SIZE)),
        IDENTITY,
    ).valid


def test_root_on_chain_differs() -> None:
    chain = FakeChain()
    chain.roots[SIZE] = hashlib.sha256(b"x").digest()
    error = failure(bundle_for(1), chain)
    assert error.check == "root on chain" and error.message.startswith("the contract holds root 0x")
    assert error.message.endswith(f"for tree size 11; the bundle's checkpoint has {h(ROOT)}")


def test_unreachable_chain_is_not_a_verdict() -> None:
    error = failure(bundle_for(1), FakeChain(unreachable=True))
    assert (
        isinstance(error, ChainReadError)
        and error.check == "chain"
        and "unreachable" in error.message
    )
    assert [c.passed for c in error.result.checks] == [True, True, True, True, True, False]  # type: ignore[union-attr]


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
        new = data.draw(
            JSON_SCALARS | st.just(changed(old) if isinstance(old, (int, str)) else None)
        )
    if json.dumps(new) == json.dumps(old):
        return
    set_path(bundle, path, new)
    text = json.dumps(bundle)
    with pytest.raises(VerificationError):
        verify_bundle(text, FakeChain(), IDENTITY)
    if path[0] != "checkpoint":  # offline trusts the checkpoint, not the log it names
        with pytest.raises(VerificationError):
            verify_bundle(text, None, IDENTITY)
    if path[0] not in ("checkpoint", "chain_id", "contract", "log_id"):  # nor, unpinned, which log
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
        verify_bundle(json.dumps(bundle), FakeChain(), IDENTITY)


# -- malformed input: a clear BundleError, never a crash ----------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        (b"\xff\xfe\x00", "bundle is not UTF-8 (byte 0)"),
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
    assert isinstance(error, BundleError) and error.check == "bundle" and words in error.message, (
        error
    )


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
        (
            "checkpoint.anchor.block_number",
            -1,
            "checkpoint.anchor.block_number must be between 0 and",
        ),
        ("checkpoint.signature", "x", "checkpoint has unknown field 'signature'"),
        ("entries", [], "entries must be a non-empty list"),
        ("entries", {}, "entries must be a non-empty list"),
        ("entries.0", "x", "entries[0] must be a JSON object, got str"),
        ("entries.0.record", "{}", "entries[0].record must be a JSON object"),
        ("entries.0.leaf_index", -1, "entries[0].leaf_index must be between 0 and"),
        ("entries.0.proof", "0x00", "entries[0].proof must be a list of hashes"),
        (
            "entries.0.proof",
            ["0x" + "00" * 32] * (MAX_PROOF_NODES + 1),
            "65 nodes; the most a tree can need is 64",
        ),
        (
            "entries.0.proof.1",
            7,
            "entries[0].proof[1] must be 0x and 64 lowercase hex digits, got 7",
        ),
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
    assert (
        f"bundle is {MAX_BUNDLE_BYTES + 1} bytes; the limit is {MAX_BUNDLE_BYTES}" in error.message
    )


def test_decoded_object_accepted() -> None:
    assert verify_bundle(bundle_for(3), FakeChain(), IDENTITY).valid


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        JSON_SCALARS,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_arbitrary_json_never_crashes(value: Any) -> None:
    with pytest.raises(BundleError):
        verify_bundle(json.dumps(value), FakeChain(), IDENTITY)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    with pytest.raises(BundleError):
        verify_bundle(data, FakeChain(), IDENTITY)


# -- `ledger verify --offline`: no chain, so it belongs with the pure tests ------------


def test_cli_verify_offline_from_stdin(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ledger.cli.common import app

    good = CliRunner().invoke(app, ["verify", "-", "--offline"], input=json.dumps(bundle_for(7)))
    assert good.exit_code == 0, good.output
    assert (
        "MATHEMATICS ONLY: the chain was NOT consulted (offline)" in good.stdout
        and good.stderr == ""
    )
    assert "no log identity was pinned" in good.stdout and "VALID" not in good.stdout

    report = CliRunner().invoke(
        app, ["verify", "-", "--offline", "--json"], input=json.dumps(bundle_for(7))
    )
    assert json.loads(report.stdout) | {"checks": []} == {
        "valid": False,
        "verdict": "MATHEMATICS ONLY",
        "producer": producer(),
        "mathematics_valid": True,
        "chain_consulted": False,
        "checks": [],
        "existed_no_later_than": None,
        "block_number": None,
        "log": None,
        "error": None,
    }

    # Pinned, offline: the bundle must name the pinned log; the chain is still not consulted.
    identity = tmp_path / "log.json"
    identity.write_text(json.dumps(IDENTITY.as_json()))
    pinned = CliRunner().invoke(
        app, ["verify", "-", "--offline", "--log", str(identity)], input=json.dumps(bundle_for(7))
    )
    assert pinned.exit_code == 0 and "ok    log identity" in pinned.stdout
    assert (
        "MATHEMATICS ONLY" in pinned.stdout
        and "it names the pinned log 'model-ledger'" in pinned.stdout
    )
    other = CliRunner().invoke(
        app,
        ["verify", "-", "--offline", "--log", str(identity)],
        input=json.dumps(bundle_for(7) | {"log_id": ROOT_OTHER}),
    )
    assert other.exit_code == 1 and "INVALID: log identity check failed" in other.stdout

    # Against a chain, a pinned identity is required: without one, exit 2 saying why.
    unpinned = CliRunner().invoke(
        app, ["verify", "-", "--rpc-url", "http://127.0.0.1:1"], input=json.dumps(bundle_for(7))
    )
    assert unpinned.exit_code == 2 and "no log identity pinned: pass --log FILE" in unpinned.stderr
    assert unpinned.stdout == ""
    identity.write_text(json.dumps(IDENTITY.as_json() | {"log_signer": "0x12"}))
    broken = CliRunner().invoke(
        app, ["verify", "-", "--offline", "--log", str(identity)], input=json.dumps(bundle_for(7))
    )
    assert (
        broken.exit_code == 2
        and "log identity: log_signer: must be 0x and 40 lowercase hex digits" in broken.stderr
    )

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


# -- licences: the issuer key -----------------------------------------------------------------

REGISTRY = bytes.fromhex("e7f1725e7734ce288f8367e1bb143e90bb3f0512")
LEAKED = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")
"""Another issuer key: a registry whose issuer it is (deployed with a leaked gas key, say)."""
LICENCE = (Path(__file__).parents[1] / "vectors" / "licence" / "record.json").read_bytes()
WINDOW = (1_767_225_600, 1_798_761_600)
"""The record's validity window in unix seconds (2026-01-01 to 2027-01-01)."""


@dataclass
class FakeRegistryChain:
    """The chain as `ledger.verify.licence.check_licence` reads it: the shipped
    LicenceRegistry at REGISTRY answering `status` with `found`."""

    found: LicenceStatus
    where: str = "memory"
    retired: bool = False

    def chain_id(self) -> int:
        return 31337

    def log_info(self, log_anchor: bytes, log_id: bytes, _block: int | str = "latest") -> LogInfo:
        assert (log_anchor, log_id) == (CONTRACT, LOG_ID)
        return LogInfo(SIGNER, b"\x05" * 20, SIZE, self.retired, 5 if self.retired else 0)

    def block(self, _number: int | str = "latest") -> Block:
        return Block(40, BLOCK_HASH, TIME)

    def code(self, address: bytes, _block: int | str = "latest") -> bytes:
        return shipped_contract("LicenceRegistry").runtime_code if address == REGISTRY else b""

    def licence_status(self, registry: bytes, _commitment: bytes, _block: int) -> LicenceStatus:
        assert registry == REGISTRY
        return self.found

    def logs(self, address: bytes, topics: Any, from_block: int, to_block: int) -> list[Any]:
        assert address == REGISTRY and from_block == to_block == self.found.revoked_block
        return []  # the node shows no Revoked event: the revocation stays unnamed


def licence_status(state: int, issuer: bytes, revoked: int = 0) -> LicenceStatus:
    if state == 0:  # never granted: every field zero
        return LicenceStatus(0, 0, 0, 0, 0, bytes(20))
    return LicenceStatus(state, *WINDOW, 30, revoked, issuer)


def check(found: LicenceStatus, *, retired: bool = False) -> LicenceCheck:
    identity = dataclasses.replace(IDENTITY, licence_registry=REGISTRY)
    return check_licence(
        read_document(LICENCE), cast(Any, FakeRegistryChain(found, retired=retired)), identity
    )


def test_no_licence_of_a_retired_log_is_active() -> None:
    """After the admin retired the log (its key may have leaked), a grant signed with the
    log key may be the thief's: refused naming "log", never ACTIVE."""
    with pytest.raises(LicenceMismatchError) as caught:
        check(licence_status(2, SIGNER), retired=True)
    assert caught.value.field == "log" and "was retired by its admin" in caught.value.message
    assert check(licence_status(2, SIGNER)).active


def test_a_licence_granted_with_the_pinned_log_key_is_active() -> None:
    result = check(licence_status(2, SIGNER))
    assert result.active and result.issuer == SIGNER
    assert result.as_json()["on_chain"]["issuer"] == h(SIGNER)
    assert result.sentence().startswith("ACTIVE: licence 'lic-1' of 'acct-acme' is active until")
    revoked = check(licence_status(4, SIGNER, revoked=35))
    assert not revoked.active and revoked.state == "revoked"
    never = check(licence_status(0, bytes(20)))  # never granted: no issuer to compare
    assert (
        not never.active
        and never.state == "unknown"
        and never.as_json()["on_chain"]["issuer"] is None
    )


@pytest.mark.parametrize(
    "state", [2, 4, 1, 3], ids=["active", "revoked", "not-yet-valid", "expired"]
)
def test_a_licence_granted_with_another_issuer_key_is_not_the_logs(state: int) -> None:
    """A registry whose issuer is another key (one a leaked gas key deployed, named by a
    tampered identity); a grant signed by that key is not the log's licence, whatever the
    registry says of it: refused naming "issuer", never ACTIVE."""
    with pytest.raises(LicenceMismatchError) as caught:
        check(licence_status(state, LEAKED))
    assert caught.value.field == "issuer"
    assert caught.value.message == (
        f"issuer: the registry says issuer key {h(LEAKED)} signed this grant, not the pinned"
        f" log key {h(SIGNER)}: a grant signed by any other key is not this log's licence"
    )
