"""The independent verifier of evidence bundles: trusts only mathematics and the chain.

Imports nothing of the service (no store, no API, no anchorer): only the frozen pure
modules `ledger.merkle` and `ledger.records`, and, for the chain, a few JSON-RPC reads
(`JsonRpcChain`, at the end of this file). The bundle format is in
docs/evidence-format.md.

Checks, in order; the first that fails stops verification with a `VerificationError`
naming it (its `result` lists the checks run so far, the failed one last):

1. ``bundle``: strict JSON, the known format, every field present, typed and in range;
   nothing unknown.
2. per entry: ``record`` (its RFC 8785 encoding is a valid, canonical v1 record),
   ``leaf hash`` (SHA-256(0x00 || canonical bytes) is the bundle's leaf hash),
   ``inclusion`` (leaf hash, index and proof lead to the checkpoint's root).
3. with a chain (not in offline mode): ``chain id``, ``contract`` (code at the address),
   ``anchor`` (`anchoredAt(logId, size)` has an anchor), ``root on chain`` (it is the
   checkpoint's root), ``anchor block`` (block number, time and hash, and the anchor
   transaction, are what the bundle says).

Evidence packs (many entries, one multi-entry proof) are checked by `ledger.verify_pack`,
which reuses the chain checks here; `JsonRpcChain` also serves `ledger.audit`.

After step 3 the entry provably existed no later than the block's timestamp. Offline,
the checkpoint (tree size, root, block) is taken from the bundle on trust: an inclusion
proof does not pin the tree size by itself (see `ledger.merkle.verify`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, NoReturn, Protocol

import rfc8785

from ledger.merkle import HASH_SIZE, ProofError, RootMismatchError, verify_inclusion
from ledger.records import RecordError, leaf_hash, validate_canonical

BUNDLE_FORMAT = "model-ledger/evidence/v1"
"""The only bundle format this verifier accepts."""

MAX_BUNDLE_BYTES = 64 * 1024 * 1024
"""Largest bundle read, in bytes of JSON."""

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects read (a bundle needs 6); checked before parsing,
because a very deep document can crash a JSON parser."""

MAX_ENTRIES = 100_000
"""Most entries in one bundle."""

MAX_PROOF_NODES = 64
"""Most nodes in an inclusion proof: the contract counts tree sizes in uint64."""

MAX_TREE_SIZE = 2**64 - 1
"""Largest tree size (the contract's uint64)."""

ADDRESS_SIZE = 20
"""Bytes in a contract address."""


# -- results and errors -------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One check: its name, whether it passed, and what it found."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class ChainAnchor:
    """What the contract holds for a tree size: root, block number and block time."""

    root: bytes
    block_number: int
    timestamp: int


@dataclass
class VerificationResult:
    """The checks run, in order; with a chain, the anchor the chain holds."""

    checks: list[Check] = field(default_factory=list)
    chain_consulted: bool = False
    bundle: Checkpointed | None = None
    """The bundle (or pack, see ledger.verify_pack) once it parsed."""
    anchored: ChainAnchor | None = None

    @property
    def valid(self) -> bool:
        """Every check run passed (offline: the mathematics only)."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def existed_no_later_than(self) -> datetime | None:
        """The anchor block's time, as read from the chain (None offline)."""
        if self.anchored is None:
            return None
        return datetime.fromtimestamp(self.anchored.timestamp, UTC)

    def statement(self) -> str:
        """The conclusion in one line."""
        if self.anchored is not None:
            return f"existed no later than {utc_text(self.anchored.timestamp)} (block {self.anchored.block_number})"
        if self.bundle is not None and not self.chain_consulted:
            claimed = self.bundle.anchor
            return (
                f"the chain was NOT consulted (offline): the entries are in the tree whose root the {self.bundle.noun}"
                f" states, but that this root was anchored (block {claimed.block_number},"
                f" {utc_text(claimed.block_timestamp)}) is the {self.bundle.noun}'s unverified claim"
            )
        return "not verified"


class VerificationError(Exception):
    """A check failed: `check` names it, `message` says why; `result` holds the checks
    run so far, the failed one last."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
        self.message = message
        self.result: VerificationResult | None = None


class BundleError(VerificationError):
    """The bundle cannot be read: not JSON, an unknown format, a missing or bad field."""

    def __init__(self, message: str) -> None:
        super().__init__("bundle", message)


class ChainReadError(VerificationError):
    """The chain could not be read (unreachable, or an unexpected answer): the bundle
    is neither proven nor refuted."""

    def __init__(self, message: str) -> None:
        super().__init__("chain", message)


def utc_text(timestamp: int) -> str:
    """A Unix time as RFC 3339 UTC, e.g. 2026-06-05T12:00:00Z."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


# -- the bundle, parsed strictly ----------------------------------------------------


@dataclass(frozen=True)
class BundleAnchor:
    """Where the bundle says the checkpoint was anchored."""

    tx_hash: bytes
    block_number: int
    block_hash: bytes
    block_timestamp: int


@dataclass(frozen=True)
class BundleEntry:
    """One entry: the record (a JSON object), its leaf hash, index and inclusion proof."""

    leaf_index: int
    leaf_hash: bytes
    record: dict[str, Any]
    proof: tuple[bytes, ...]


class Checkpointed(Protocol):
    """What the chain checks read from a parsed bundle or pack: where it is anchored
    and the checkpoint it proves against. `noun` names it in messages."""

    noun: ClassVar[str]

    @property
    def chain_id(self) -> int: ...
    @property
    def contract(self) -> bytes: ...
    @property
    def log_id(self) -> bytes: ...
    @property
    def tree_size(self) -> int: ...
    @property
    def root(self) -> bytes: ...
    @property
    def anchor(self) -> BundleAnchor: ...


@dataclass(frozen=True)
class Bundle:
    """A parsed bundle: where it is anchored, the checkpoint, the entries."""

    noun: ClassVar[str] = "bundle"
    chain_id: int
    contract: bytes
    log_id: bytes
    tree_size: int
    root: bytes
    anchor: BundleAnchor
    entries: tuple[BundleEntry, ...]


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BundleError(f"key {key!r} appears twice in one object")
        found[key] = value
    return found


def _reject_float(text: str) -> NoReturn:
    raise BundleError(f"number {text} is not an integer: bundles hold no fractions or exponents")


def _reject_constant(text: str) -> NoReturn:
    raise BundleError(f"{text} is not JSON")


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: no alternation per character
_BRACKET = re.compile(rb"[\[\]{}]")


def _check_depth(data: bytes) -> None:
    """Refuse nesting deeper than MAX_DEPTH, counting brackets outside strings."""
    depth = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub(b"", data)):
        if bracket in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise BundleError(f"nested deeper than {MAX_DEPTH} levels: not a bundle")
        else:
            depth -= 1


def load_bundle_json(data: bytes | str, limit: int = MAX_BUNDLE_BYTES, what: str = "bundle") -> Any:
    """Strict JSON: no duplicate keys, no floats, no NaN/Infinity, bounded size (`limit`
    bytes) and depth."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > limit:
        raise BundleError(f"{what} is {len(data)} bytes; the limit is {limit}")
    _check_depth(data)
    try:
        return json.loads(
            data,
            object_pairs_hook=_reject_duplicates,
            parse_float=_reject_float,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        if isinstance(error, BundleError):
            raise
        raise BundleError(f"not valid JSON: {error}".splitlines()[0]) from None


def _fields(obj: Any, where: str, names: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise BundleError(f"{where} must be a JSON object, got {type(obj).__name__}")
    missing = [name for name in names if name not in obj]
    if missing:
        raise BundleError(f"{where} lacks {', '.join(repr(m) for m in missing)}")
    unknown = sorted(set(obj) - set(names))
    if unknown:
        raise BundleError(f"{where} has unknown field {unknown[0]!r}")
    return obj


def _int(value: Any, where: str, low: int, high: int) -> int:
    if type(value) is not int:
        raise BundleError(f"{where} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise BundleError(f"{where} must be between {low} and {high}, got {value}")
    return value


_LOWER_HEX = re.compile(r"0x[0-9a-f]*")


def _bytes(value: Any, where: str, size: int) -> bytes:
    digits = 2 * size
    if (
        not isinstance(value, str)
        or len(value) != 2 + digits
        or not _LOWER_HEX.fullmatch(value)
    ):
        raise BundleError(f"{where} must be 0x and {digits} lowercase hex digits, got {value!r:.80}")
    return bytes.fromhex(value[2:])


def _entry(obj: Any, where: str) -> BundleEntry:
    fields = _fields(obj, where, ("leaf_index", "leaf_hash", "record", "proof"))
    if not isinstance(fields["record"], dict):
        raise BundleError(f"{where}.record must be a JSON object")
    proof = fields["proof"]
    if not isinstance(proof, list):
        raise BundleError(f"{where}.proof must be a list of hashes")
    if len(proof) > MAX_PROOF_NODES:
        raise BundleError(f"{where}.proof has {len(proof)} nodes; the most a tree can need is {MAX_PROOF_NODES}")
    return BundleEntry(
        leaf_index=_int(fields["leaf_index"], f"{where}.leaf_index", 0, MAX_TREE_SIZE - 1),
        leaf_hash=_bytes(fields["leaf_hash"], f"{where}.leaf_hash", HASH_SIZE),
        record=fields["record"],
        proof=tuple(_bytes(node, f"{where}.proof[{i}]", HASH_SIZE) for i, node in enumerate(proof)),
    )


def parse_bundle(data: bytes | str | Mapping[str, Any]) -> Bundle:
    """Parse a bundle (JSON text or an already decoded object); BundleError says what
    is wrong and where."""
    obj = dict(data) if isinstance(data, Mapping) else load_bundle_json(data)
    if not isinstance(obj, dict):
        raise BundleError(f"a bundle is a JSON object, got {type(obj).__name__}")
    if "format" not in obj:
        raise BundleError("no 'format': not a model-ledger evidence bundle")
    if obj["format"] != BUNDLE_FORMAT:
        raise BundleError(f"unknown format {obj['format']!r:.80}; this verifier reads {BUNDLE_FORMAT!r}")
    top = _fields(obj, "bundle", ("format", "chain_id", "contract", "log_id", "checkpoint", "entries"))
    checkpoint = _fields(top["checkpoint"], "checkpoint", ("tree_size", "root", "anchor"))
    anchor = _fields(
        checkpoint["anchor"], "checkpoint.anchor", ("tx_hash", "block_number", "block_hash", "block_timestamp")
    )
    entries = top["entries"]
    if not isinstance(entries, list) or not entries:
        raise BundleError("entries must be a non-empty list")
    if len(entries) > MAX_ENTRIES:
        raise BundleError(f"bundle has {len(entries)} entries; the limit is {MAX_ENTRIES}")
    return Bundle(
        chain_id=_int(top["chain_id"], "chain_id", 1, 2**256 - 1),
        contract=_bytes(top["contract"], "contract", ADDRESS_SIZE),
        log_id=_bytes(top["log_id"], "log_id", HASH_SIZE),
        tree_size=_int(checkpoint["tree_size"], "checkpoint.tree_size", 1, MAX_TREE_SIZE),
        root=_bytes(checkpoint["root"], "checkpoint.root", HASH_SIZE),
        anchor=BundleAnchor(
            tx_hash=_bytes(anchor["tx_hash"], "checkpoint.anchor.tx_hash", HASH_SIZE),
            block_number=_int(anchor["block_number"], "checkpoint.anchor.block_number", 0, 2**64 - 1),
            block_hash=_bytes(anchor["block_hash"], "checkpoint.anchor.block_hash", HASH_SIZE),
            block_timestamp=_int(anchor["block_timestamp"], "checkpoint.anchor.block_timestamp", 0, 2**64 - 1),
        ),
        entries=tuple(_entry(entry, f"entries[{i}]") for i, entry in enumerate(entries)),
    )


# -- the checks ---------------------------------------------------------------------


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The bytes the log hashed for `record`: its RFC 8785 encoding, which must be a
    valid v1 record in canonical form (RecordError otherwise)."""
    try:
        canonical = rfc8785.dumps(record)
    except rfc8785.CanonicalizationError as error:
        raise RecordError("", f"cannot be encoded with RFC 8785: {error}") from None
    except RecursionError:  # a decoded object nested too deep (text is depth-checked first)
        raise RecordError("", "nested too deep to be a record") from None
    validate_canonical(canonical)
    return canonical


class _Run:
    """Collects checks into a result; `fail` raises with the result attached."""

    def __init__(self, result: VerificationResult) -> None:
        self.result = result

    def ok(self, name: str, detail: str) -> None:
        self.result.checks.append(Check(name, True, detail))

    def fail(self, error: VerificationError) -> NoReturn:
        self.result.checks.append(Check(error.check, False, error.message))
        error.result = self.result
        raise error


def _check_entry(run: _Run, bundle: Bundle, number: int, entry: BundleEntry) -> None:
    where = f"entry {number}" if len(bundle.entries) > 1 else "entry"
    try:
        canonical = canonical_bytes(entry.record)
    except RecordError as error:
        run.fail(VerificationError("record", f"{where}: not a valid v1 record: {error}"))
    kind = entry.record.get("kind")
    run.ok("record", f"{where}: a valid {kind} record, {len(canonical)} bytes in canonical form (RFC 8785)")
    computed = leaf_hash(canonical)
    if computed != entry.leaf_hash:
        run.fail(
            VerificationError(
                "leaf hash",
                f"{where}: the record hashes to {_hex(computed)}, not to the bundle's leaf hash {_hex(entry.leaf_hash)}",
            )
        )
    run.ok("leaf hash", f"{where}: SHA-256(0x00 || record) = {_hex(computed)}")
    try:
        verify_inclusion(entry.leaf_index, bundle.tree_size, entry.leaf_hash, entry.proof, bundle.root)
    except RootMismatchError as error:
        run.fail(
            VerificationError(
                "inclusion",
                f"{where}: the proof of leaf {entry.leaf_index} in the tree of size {bundle.tree_size} leads to"
                f" root {_hex(error.calculated)}, not to the checkpoint root {_hex(bundle.root)}",
            )
        )
    except ProofError as error:
        run.fail(VerificationError("inclusion", f"{where}: bad inclusion proof: {error}"))
    run.ok(
        "inclusion",
        f"{where}: leaf {entry.leaf_index} of the tree of size {bundle.tree_size}"
        f" ({len(entry.proof)} proof nodes) has root {_hex(bundle.root)}",
    )


def _check_chain(run: _Run, bundle: Checkpointed, chain: ChainReader) -> None:
    contract, size = _hex(bundle.contract), bundle.tree_size
    chain_id = chain.chain_id()
    if chain_id != bundle.chain_id:
        run.fail(
            VerificationError(
                "chain id",
                f"the node at {chain.where} is on chain id {chain_id}; the {bundle.noun} names chain id {bundle.chain_id}",
            )
        )
    run.ok("chain id", f"{chain_id} (node {chain.where})")
    if not chain.code(bundle.contract):
        run.fail(VerificationError("contract", f"no contract at {contract} on chain id {chain_id}"))
    try:
        onchain = chain.anchored_at(bundle.contract, bundle.log_id, size)
    except ContractCallError as error:
        run.fail(
            VerificationError(
                "contract", f"the contract at {contract} does not answer anchoredAt as a LogAnchor does ({error})"
            )
        )
    run.ok("contract", f"LogAnchor at {contract}")
    if onchain is None:
        run.fail(
            VerificationError(
                "anchor",
                f"nothing is anchored at tree size {size} of log {_hex(bundle.log_id)} in contract {contract}:"
                " this checkpoint was never anchored (or the log id or contract is wrong)",
            )
        )
    run.ok("anchor", f"anchoredAt({_hex(bundle.log_id)}, {size}) answers block {onchain.block_number}")
    if onchain.root != bundle.root:
        run.fail(
            VerificationError(
                "root on chain",
                f"root on chain differs: the contract holds {_hex(onchain.root)} for tree size {size},"
                f" the {bundle.noun}'s checkpoint has {_hex(bundle.root)}",
            )
        )
    run.ok("root on chain", f"{_hex(onchain.root)} at tree size {size}")
    _check_block(run, bundle, chain, onchain)
    run.result.anchored = onchain


def _check_block(run: _Run, bundle: Checkpointed, chain: ChainReader, onchain: ChainAnchor) -> None:
    claimed = bundle.anchor
    problem = None
    if (onchain.block_number, onchain.timestamp) != (claimed.block_number, claimed.block_timestamp):
        problem = (
            f"the chain anchored tree size {bundle.tree_size} in block {onchain.block_number} at"
            f" {onchain.timestamp}; the {bundle.noun} says block {claimed.block_number} at {claimed.block_timestamp}"
        )
    elif (block_hash := chain.block_hash(onchain.block_number)) != claimed.block_hash:
        shown = "no block" if block_hash is None else _hex(block_hash)
        problem = f"block {onchain.block_number} is {shown} on chain; the {bundle.noun} says {_hex(claimed.block_hash)}"
    else:
        tx = chain.transaction(claimed.tx_hash)
        if tx is None:
            problem = f"transaction {_hex(claimed.tx_hash)} is not on chain"
        elif (tx.block_hash, tx.to, tx.succeeded) != (claimed.block_hash, bundle.contract, True):
            problem = (
                f"transaction {_hex(claimed.tx_hash)} is not a successful call of {_hex(bundle.contract)}"
                f" in block {_hex(claimed.block_hash)}"
            )
    if problem is not None:
        run.fail(VerificationError("anchor block", problem))
    run.ok(
        "anchor block",
        f"block {onchain.block_number} ({_hex(claimed.block_hash)}) at {utc_text(onchain.timestamp)},"
        f" transaction {_hex(claimed.tx_hash)}",
    )


def verify_bundle(data: bytes | str | Mapping[str, Any], chain: ChainReader | None) -> VerificationResult:
    """Verify a bundle: the mathematics, then (unless `chain` is None, offline) the chain.

    Returns the result when every check passes; raises VerificationError (BundleError,
    ChainReadError) naming the first check that failed, with `result` attached.
    """
    run = _Run(VerificationResult(chain_consulted=chain is not None))
    try:
        bundle = parse_bundle(data)
    except BundleError as error:
        run.fail(error)
    count = len(bundle.entries)
    run.ok(
        "bundle",
        f"{BUNDLE_FORMAT}: {count} {'entry' if count == 1 else 'entries'}, log {_hex(bundle.log_id)},"
        f" contract {_hex(bundle.contract)} on chain id {bundle.chain_id}, tree size {bundle.tree_size}",
    )
    run.result.bundle = bundle
    for number, entry in enumerate(bundle.entries):
        _check_entry(run, bundle, number, entry)
    if chain is not None:
        try:
            _check_chain(run, bundle, chain)
        except ChainReadError as error:
            run.fail(error)
    return run.result


# -- the chain: a few JSON-RPC reads -------------------------------------------------


@dataclass(frozen=True)
class ChainTx:
    """A mined transaction: its block, its recipient, whether it succeeded."""

    block_hash: bytes
    to: bytes | None
    succeeded: bool


class ContractCallError(Exception):
    """An eth_call reverted or answered something that does not decode."""


class ChainReader(Protocol):
    """The chain reads verification needs. Each raises ChainReadError if the chain
    cannot be read."""

    where: str

    def chain_id(self) -> int:
        """The chain id of the node."""

    def code(self, address: bytes) -> bytes:
        """The code at `address` (empty for none)."""

    def anchored_at(self, contract: bytes, log_id: bytes, size: int) -> ChainAnchor | None:
        """LogAnchor.anchoredAt(logId, size); None if nothing is anchored at `size`.
        Raises ContractCallError for any other revert or an undecodable answer."""

    def block_hash(self, number: int) -> bytes | None:
        """The hash of block `number`, or None if there is no such block."""

    def transaction(self, tx_hash: bytes) -> ChainTx | None:
        """The receipt of a mined transaction, or None."""


ANCHORED_AT_SELECTOR = bytes.fromhex("74a28049")
"""First 4 bytes of keccak256("anchoredAt(bytes32,uint64)")."""

UNKNOWN_SIZE_SELECTOR = bytes.fromhex("92e31209")
"""First 4 bytes of keccak256("LogAnchorUnknownSize(bytes32,uint64)"): nothing anchored there."""

LATEST_SELECTOR = bytes.fromhex("79feb107")
"""First 4 bytes of keccak256("latest(bytes32)")."""

ANCHORED_TOPIC = bytes.fromhex("10d64b358a2a34d1aefd3923dfecde63ee095436d398bd873df1fd341db42724")
"""keccak256("Anchored(bytes32,uint64,bytes32,uint64)"): topic 0 of every Anchored event."""

RPC_BATCH = 200
"""Calls sent in one JSON-RPC batch by `anchored_at_many`."""

RPC_TIMEOUT = 10.0
"""Seconds to wait for one JSON-RPC answer."""


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


class JsonRpcChain:
    """The reads of `ChainReader` over plain JSON-RPC (HTTP POST), nothing else."""

    def __init__(self, url: str, timeout: float = RPC_TIMEOUT) -> None:
        import httpx  # only the chain side needs HTTP

        self.where = url
        self._http = httpx.Client(timeout=timeout)
        self._ids = 0

    def close(self) -> None:
        """Close the HTTP connection."""
        self._http.close()

    def _send(self, method: str, params: list[Any]) -> dict[str, Any]:
        import httpx

        self._ids += 1
        try:
            response = self._http.post(self.where, json={"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise ChainReadError(f"{method}: the chain at {self.where} is unreachable ({type(error).__name__}: {error})") from None
        except ValueError:
            raise ChainReadError(f"{method}: the node at {self.where} did not answer JSON") from None
        if not isinstance(answer, dict):
            raise ChainReadError(f"{method}: the node at {self.where} answered {answer!r:.80}")
        return answer

    def _result(self, method: str, params: list[Any]) -> Any:
        answer = self._send(method, params)
        if "error" in answer:
            raise ChainReadError(f"{method} failed at {self.where}: {answer['error']!r:.200}")
        return answer.get("result")

    @staticmethod
    def _data(value: Any, what: str) -> bytes:
        if not isinstance(value, str) or not value.startswith("0x"):
            raise ChainReadError(f"{what}: expected 0x hex from the node, got {value!r:.80}")
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            raise ChainReadError(f"{what}: expected 0x hex from the node, got {value!r:.80}") from None

    def chain_id(self) -> int:
        value = self._result("eth_chainId", [])  # a quantity: "0x1" has an odd number of digits
        if not isinstance(value, str) or not value.startswith("0x") or len(value) < 3:
            raise ChainReadError(f"eth_chainId: expected a 0x quantity from the node, got {value!r:.80}")
        try:
            return int(value, 16)
        except ValueError:
            raise ChainReadError(f"eth_chainId: expected a 0x quantity from the node, got {value!r:.80}") from None

    def code(self, address: bytes) -> bytes:
        return self._data(self._result("eth_getCode", [_hex(address), "latest"]), "eth_getCode")

    def anchored_at(self, contract: bytes, log_id: bytes, size: int) -> ChainAnchor | None:
        call = {"to": _hex(contract), "data": _hex(ANCHORED_AT_SELECTOR + log_id + _word(size))}
        return self._anchored_answer(self._send("eth_call", [call, "latest"]))

    def block_number(self) -> int:
        """The number of the node's latest block."""
        value = self._result("eth_blockNumber", [])
        if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-fA-F]{1,16}", value):
            raise ChainReadError(f"eth_blockNumber: expected a 0x hex quantity from the node, got {value!r:.80}")
        return int(value, 16)

    def latest(self, contract: bytes, log_id: bytes) -> tuple[int, ChainAnchor]:
        """LogAnchor.latest(logId): the newest anchored size and its anchor (size 0, a
        zero root and block 0 for a log with no anchor). Raises ContractCallError if
        the call reverts (no such log) or answers something else."""
        call = {"to": _hex(contract), "data": _hex(LATEST_SELECTOR + log_id)}
        answer = self._send("eth_call", [call, "latest"])
        if answer.get("error") is not None:
            error = answer["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise ContractCallError(f"latest reverted: {message!r:.200}")
        result = self._data(answer.get("result"), "latest")
        if len(result) != 128 or any(result[:24]) or any(result[64:88]) or any(result[96:120]):
            raise ContractCallError(f"latest answered {len(result)} bytes that are not (uint64, bytes32, uint64, uint64)")
        size = int.from_bytes(result[:32], "big")
        return size, ChainAnchor(result[32:64], int.from_bytes(result[64:96], "big"), int.from_bytes(result[96:128], "big"))

    def anchored_at_many(self, contract: bytes, log_id: bytes, sizes: list[int]) -> list[ChainAnchor | None]:
        """`anchored_at` for each size, RPC_BATCH calls per JSON-RPC batch (one by one
        if the node does not answer batches)."""
        found: list[ChainAnchor | None] = []
        for start in range(0, len(sizes), RPC_BATCH):
            chunk = sizes[start : start + RPC_BATCH]
            calls = [
                {"to": _hex(contract), "data": _hex(ANCHORED_AT_SELECTOR + log_id + _word(size))} for size in chunk
            ]
            answers = self._batch("eth_call", [[call, "latest"] for call in calls])
            if answers is None:
                found.extend(self.anchored_at(contract, log_id, size) for size in chunk)
            else:
                found.extend(self._anchored_answer(answer) for answer in answers)
        return found

    def logs(self, address: bytes, topics: list[bytes], from_block: int, to_block: int) -> list[dict[str, Any]]:
        """eth_getLogs of `address` with these leading topics in blocks from..to, as
        the node returns them (dicts with "data", "topics", "blockNumber", ...)."""
        query = {
            "address": _hex(address),
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
            "topics": [_hex(topic) for topic in topics],
        }
        found = self._result("eth_getLogs", [query])
        if not isinstance(found, list) or not all(isinstance(log, dict) for log in found):
            raise ChainReadError(f"eth_getLogs answered {found!r:.80}")
        return found

    def _batch(self, method: str, params: list[list[Any]]) -> list[dict[str, Any]] | None:
        """One JSON-RPC batch of `method` calls; the answers in call order, or None if
        the node does not answer batches."""
        import httpx

        first = self._ids + 1
        self._ids += len(params)
        body = [{"jsonrpc": "2.0", "id": first + i, "method": method, "params": p} for i, p in enumerate(params)]
        try:
            response = self._http.post(self.where, json=body)
            response.raise_for_status()
            answers = response.json()
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise ChainReadError(f"{method}: the chain at {self.where} is unreachable ({type(error).__name__}: {error})") from None
        except ValueError:
            raise ChainReadError(f"{method}: the node at {self.where} did not answer JSON") from None
        if not isinstance(answers, list) or len(answers) != len(params) or not all(isinstance(a, dict) for a in answers):
            return None
        by_id = {answer.get("id"): answer for answer in answers}
        ordered = [by_id.get(first + i) for i in range(len(params))]
        return None if any(answer is None for answer in ordered) else ordered  # type: ignore[return-value]

    def _anchored_answer(self, answer: dict[str, Any]) -> ChainAnchor | None:
        """Decode one eth_call answer of anchoredAt (see `anchored_at`)."""
        error = answer.get("error")
        if error is not None:
            data = error.get("data") if isinstance(error, dict) else None
            if isinstance(data, dict):  # some nodes nest it one level deeper
                data = data.get("data")
            revert = self._data(data, "eth_call revert data") if isinstance(data, str) else b""
            if revert[:4] == UNKNOWN_SIZE_SELECTOR:
                return None
            message = error.get("message") if isinstance(error, dict) else error
            raise ContractCallError(f"anchoredAt reverted: {message!r:.200}")
        result = self._data(answer.get("result"), "anchoredAt")
        if len(result) != 96 or any(result[32:56]) or any(result[64:88]):
            raise ContractCallError(f"anchoredAt answered {len(result)} bytes that are not (bytes32, uint64, uint64)")
        return ChainAnchor(result[:32], int.from_bytes(result[32:64], "big"), int.from_bytes(result[64:96], "big"))

    def block_hash(self, number: int) -> bytes | None:
        block = self._result("eth_getBlockByNumber", [hex(number), False])
        if block is None:
            return None
        if not isinstance(block, dict):
            raise ChainReadError(f"eth_getBlockByNumber answered {block!r:.80}")
        return self._data(block.get("hash"), "block hash")

    def transaction(self, tx_hash: bytes) -> ChainTx | None:
        receipt = self._result("eth_getTransactionReceipt", [_hex(tx_hash)])
        if receipt is None:
            return None
        if not isinstance(receipt, dict):
            raise ChainReadError(f"eth_getTransactionReceipt answered {receipt!r:.80}")
        to = receipt.get("to")
        return ChainTx(
            block_hash=self._data(receipt.get("blockHash"), "receipt block hash"),
            to=None if to is None else self._data(to, "receipt recipient"),
            succeeded=receipt.get("status") == "0x1",
        )
