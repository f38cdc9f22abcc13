"""The independent verifier of evidence bundles: trusts only mathematics, the chain and
the log identity its user pinned.

Imports nothing of the service (no store, no API, no anchorer, no web3): only the frozen
pure modules `ledger.core.merkle` and `ledger.core.records`, the public formats (`ledger.formats`)
and, for the chain, the JSON-RPC reads of `ledger.verify.rpc`. The bundle format is in
docs/evidence-format.md.

Checks, in order; the first that fails stops verification with a `VerificationError`
naming it (its `result` lists the checks run so far, the failed one last):

1. ``bundle``: strict JSON (`ledger.formats.strict_json`), the known format, every field
   present, typed and in range; nothing unknown.
2. ``log identity`` (when a log identity is pinned, offline too): the bundle names the
   pinned chain id, LogAnchor and log id. A bundle about another log fails here,
   whatever else checks out: anyone can deploy a copy of LogAnchor and anchor anything.
3. per entry: ``record`` (its RFC 8785 encoding is a valid, canonical v1 record),
   ``leaf hash`` (SHA-256(0x00 || canonical bytes) is the bundle's leaf hash),
   ``inclusion`` (leaf hash, index and proof lead to the checkpoint's root).
4. with a chain (never without a pinned identity), `check_anchor`: ``chain id`` (the
   node serves the pinned chain), ``contract`` (the code at the pinned address is the
   LogAnchor runtime code this package ships, byte for byte), ``log`` (the contract
   holds the log with the pinned log key, not retired before this size), ``root on
   chain`` (`rootAt(logId, size)` is the checkpoint's root), ``anchor transaction`` (the
   bundle's transaction succeeded, in the block the bundle names, and its receipt holds
   `Anchored(logId, size, root, ...)` emitted by the pinned LogAnchor: whom the
   transaction called is not checked, since anyone may relay a signed checkpoint, through
   a contract of their own too), ``anchor block`` (that block is on the chain; its
   header's timestamp is the time stated).

After step 4 the entries provably existed no later than the anchor block's timestamp,
read from the block header: the contract stores no time a deployer could choose. Since
a size is anchored at most once, that block is the only one where this checkpoint was
anchored. Offline, the checkpoint (tree size, root, block) is taken from the bundle on
trust: an inclusion proof does not pin the tree size by itself (see
`ledger.core.merkle.verify`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, NoReturn, Protocol

import rfc8785

from ledger.core.merkle import HASH_SIZE, ProofError, RootMismatchError, verify_inclusion
from ledger.core.records import RecordError, leaf_hash, validate_canonical
from ledger.formats.abi import contract as shipped_contract
from ledger.formats.identity import LogIdentity
from ledger.formats.strict_json import StrictJsonError, load_strict
from ledger.verify.rpc import (
    Block,
    ChainUnreadableError,
    ContractCallError,
    EventLog,
    LogInfo,
    TxReceipt,
)

BUNDLE_FORMAT = "model-ledger/evidence/v1"
"""The only bundle format this verifier accepts."""

MAX_BUNDLE_BYTES = 64 * 1024 * 1024
"""Largest bundle read, in bytes of JSON."""

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
    """Where the chain anchored a checkpoint: the root the contract holds, and the block
    (number, hash and header time) of the transaction that anchored it."""

    root: bytes
    block_number: int
    block_hash: bytes
    timestamp: int
    tx_hash: bytes
    index_root: bytes
    """The index root the log key signed with this checkpoint (zero: none)."""


@dataclass
class VerificationResult:
    """The checks run, in order; with a chain, the anchor the chain holds."""

    checks: list[Check] = field(default_factory=list)
    chain_consulted: bool = False
    identity: LogIdentity | None = None
    """The pinned log identity checked against (None: none was given, offline only)."""
    bundle: Checkpointed | None = None
    """The bundle (or pack, see ledger.verify.pack) once it parsed."""
    anchored: ChainAnchor | None = None

    @property
    def valid(self) -> bool:
        """Every check run passed (offline: the mathematics only)."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def existed_no_later_than(self) -> datetime | None:
        """The anchor block's time, as read from its header (None offline)."""
        if self.anchored is None:
            return None
        return datetime.fromtimestamp(self.anchored.timestamp, UTC)

    def statement(self) -> str:
        """The conclusion in one line."""
        if self.anchored is not None and self.identity is not None:
            return (
                f"existed no later than {utc_text(self.anchored.timestamp)} (block {self.anchored.block_number}),"
                f" in {self.identity.describe()}"
            )
        if self.bundle is not None and not self.chain_consulted:
            claimed = self.bundle.anchor
            which = (
                "no log identity was pinned, so nothing says which log this is"
                if self.identity is None
                else f"it names the pinned {self.identity.describe()}"
            )
            return (
                f"the chain was NOT consulted (offline): only the mathematics was checked. The entries are in the"
                f" tree whose root the {self.bundle.noun} states, but that this root was anchored (block"
                f" {claimed.block_number}, {utc_text(claimed.block_timestamp)}) is the {self.bundle.noun}'s"
                f" unverified claim; {which}"
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
    """A Unix time as RFC 3339 UTC, e.g. 2026-06-05T12:00:00Z; a time past year 9999 (a
    bundle may claim any uint64) as the number of seconds."""
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return f"{timestamp} (unix seconds, past year 9999)"


def hex0x(data: bytes) -> str:
    """Bytes as 0x and lowercase hex."""
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


def load_bundle_json(data: bytes | str, limit: int = MAX_BUNDLE_BYTES, what: str = "bundle") -> Any:
    """Strict JSON (`ledger.formats.strict_json`), at most `limit` bytes; BundleError
    otherwise."""
    try:
        return load_strict(data, limit, what)
    except StrictJsonError as error:
        raise BundleError(str(error)) from None


def parse_fields(obj: Any, where: str, names: tuple[str, ...]) -> dict[str, Any]:
    """`obj` as a JSON object with exactly the fields `names`; BundleError otherwise."""
    if not isinstance(obj, dict):
        raise BundleError(f"{where} must be a JSON object, got {type(obj).__name__}")
    missing = [name for name in names if name not in obj]
    if missing:
        raise BundleError(f"{where} lacks {', '.join(repr(m) for m in missing)}")
    unknown = sorted(set(obj) - set(names))
    if unknown:
        raise BundleError(f"{where} has unknown field {unknown[0]!r}")
    return obj


def parse_int(value: Any, where: str, low: int, high: int) -> int:
    """An integer (not a boolean) from `low` to `high`; BundleError otherwise."""
    if type(value) is not int:
        raise BundleError(f"{where} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise BundleError(f"{where} must be between {low} and {high}, got {value}")
    return value


_LOWER_HEX = re.compile(r"0x[0-9a-f]*")


def parse_bytes(value: Any, where: str, size: int) -> bytes:
    """`size` bytes written as 0x and lowercase hex; BundleError otherwise."""
    digits = 2 * size
    if not isinstance(value, str) or len(value) != 2 + digits or not _LOWER_HEX.fullmatch(value):
        raise BundleError(
            f"{where} must be 0x and {digits} lowercase hex digits, got {value!r:.80}"
        )
    return bytes.fromhex(value[2:])


def parse_anchor(obj: Any, where: str) -> BundleAnchor:
    """The `anchor` object of a checkpoint."""
    anchor = parse_fields(obj, where, ("tx_hash", "block_number", "block_hash", "block_timestamp"))
    return BundleAnchor(
        tx_hash=parse_bytes(anchor["tx_hash"], f"{where}.tx_hash", HASH_SIZE),
        block_number=parse_int(anchor["block_number"], f"{where}.block_number", 0, 2**64 - 1),
        block_hash=parse_bytes(anchor["block_hash"], f"{where}.block_hash", HASH_SIZE),
        block_timestamp=parse_int(
            anchor["block_timestamp"], f"{where}.block_timestamp", 0, 2**64 - 1
        ),
    )


def _entry(obj: Any, where: str) -> BundleEntry:
    fields = parse_fields(obj, where, ("leaf_index", "leaf_hash", "record", "proof"))
    if not isinstance(fields["record"], dict):
        raise BundleError(f"{where}.record must be a JSON object")
    proof = fields["proof"]
    if not isinstance(proof, list):
        raise BundleError(f"{where}.proof must be a list of hashes")
    if len(proof) > MAX_PROOF_NODES:
        raise BundleError(
            f"{where}.proof has {len(proof)} nodes; the most a tree can need is {MAX_PROOF_NODES}"
        )
    return BundleEntry(
        leaf_index=parse_int(fields["leaf_index"], f"{where}.leaf_index", 0, MAX_TREE_SIZE - 1),
        leaf_hash=parse_bytes(fields["leaf_hash"], f"{where}.leaf_hash", HASH_SIZE),
        record=fields["record"],
        proof=tuple(
            parse_bytes(node, f"{where}.proof[{i}]", HASH_SIZE) for i, node in enumerate(proof)
        ),
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
        raise BundleError(
            f"unknown format {obj['format']!r:.80}; this verifier reads {BUNDLE_FORMAT!r}"
        )
    top = parse_fields(
        obj, "bundle", ("format", "chain_id", "contract", "log_id", "checkpoint", "entries")
    )
    checkpoint = parse_fields(top["checkpoint"], "checkpoint", ("tree_size", "root", "anchor"))
    entries = top["entries"]
    if not isinstance(entries, list) or not entries:
        raise BundleError("entries must be a non-empty list")
    if len(entries) > MAX_ENTRIES:
        raise BundleError(f"bundle has {len(entries)} entries; the limit is {MAX_ENTRIES}")
    parsed = tuple(_entry(entry, f"entries[{i}]") for i, entry in enumerate(entries))
    seen: dict[bytes, int] = {}
    for i, entry in enumerate(parsed):
        if entry.leaf_hash in seen:
            raise BundleError(
                f"entries[{i}] repeats the entry of entries[{seen[entry.leaf_hash]}] ({hex0x(entry.leaf_hash)})"
            )
        seen[entry.leaf_hash] = i
    return Bundle(
        chain_id=parse_int(top["chain_id"], "chain_id", 1, 2**256 - 1),
        contract=parse_bytes(top["contract"], "contract", ADDRESS_SIZE),
        log_id=parse_bytes(top["log_id"], "log_id", HASH_SIZE),
        tree_size=parse_int(checkpoint["tree_size"], "checkpoint.tree_size", 1, MAX_TREE_SIZE),
        root=parse_bytes(checkpoint["root"], "checkpoint.root", HASH_SIZE),
        anchor=parse_anchor(checkpoint["anchor"], "checkpoint.anchor"),
        entries=parsed,
    )


# -- the checks ---------------------------------------------------------------------


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The bytes the log hashed for `record`: its RFC 8785 encoding, which must be a
    valid v1 record in canonical form (RecordError otherwise)."""
    try:
        canonical = rfc8785.dumps(record)
    except rfc8785.CanonicalizationError as error:
        raise RecordError("", f"cannot be encoded with RFC 8785: {error}") from None
    except UnicodeEncodeError:  # rfc8785 sorts keys by their UTF-16: a lone surrogate in a key
        raise RecordError(
            "", "cannot be encoded with RFC 8785: a key holds a lone UTF-16 surrogate"
        ) from None
    except RecursionError:  # a decoded object nested too deep (text is depth-checked first)
        raise RecordError("", "nested too deep to be a record") from None
    validate_canonical(canonical)
    return canonical


class Run:
    """Collects checks into a result; `fail` raises with the result attached."""

    def __init__(self, result: VerificationResult) -> None:
        self.result = result

    def ok(self, name: str, detail: str) -> None:
        """Record a passed check."""
        self.result.checks.append(Check(name, True, detail))

    def fail(self, error: VerificationError) -> NoReturn:
        """Record the failed check and raise it."""
        self.result.checks.append(Check(error.check, False, error.message))
        error.result = self.result
        raise error


def check_identity(run: Run, document: Checkpointed, identity: LogIdentity | None) -> None:
    """2. The document names the pinned log (nothing to check without one)."""
    run.result.identity = identity
    if identity is None:
        return
    problem = identity.mismatch(
        chain_id=document.chain_id, log_anchor=document.contract, log_id=document.log_id
    )
    if problem is not None:
        run.fail(
            VerificationError(
                "log identity",
                f"the {document.noun} is not about the pinned log: {problem.replace('the document', f'the {document.noun}')}",
            )
        )
    run.ok("log identity", f"the {document.noun} names the pinned {identity.describe()}")


def _check_entry(run: Run, bundle: Bundle, number: int, entry: BundleEntry) -> None:
    where = f"entry {number}" if len(bundle.entries) > 1 else "entry"
    try:
        canonical = canonical_bytes(entry.record)
    except RecordError as error:
        run.fail(VerificationError("record", f"{where}: not a valid v1 record: {error}"))
    kind = entry.record.get("kind")
    run.ok(
        "record",
        f"{where}: a valid {kind} record, {len(canonical)} bytes in canonical form (RFC 8785)",
    )
    computed = leaf_hash(canonical)
    if computed != entry.leaf_hash:
        run.fail(
            VerificationError(
                "leaf hash",
                f"{where}: the record hashes to {hex0x(computed)}, not to the bundle's leaf hash {hex0x(entry.leaf_hash)}",
            )
        )
    run.ok("leaf hash", f"{where}: SHA-256(0x00 || record) = {hex0x(computed)}")
    try:
        verify_inclusion(
            entry.leaf_index, bundle.tree_size, entry.leaf_hash, entry.proof, bundle.root
        )
    except RootMismatchError as error:
        run.fail(
            VerificationError(
                "inclusion",
                f"{where}: the proof of leaf {entry.leaf_index} in the tree of size {bundle.tree_size} leads to"
                f" root {hex0x(error.calculated)}, not to the checkpoint root {hex0x(bundle.root)}",
            )
        )
    except ProofError as error:
        run.fail(VerificationError("inclusion", f"{where}: bad inclusion proof: {error}"))
    run.ok(
        "inclusion",
        f"{where}: leaf {entry.leaf_index} of the tree of size {bundle.tree_size}"
        f" ({len(entry.proof)} proof nodes) has root {hex0x(bundle.root)}",
    )


# -- the chain ----------------------------------------------------------------------


class ChainReader(Protocol):
    """The chain reads verification needs (`ledger.verify.rpc.JsonRpcReader` has them). Each
    raises `ChainUnreadableError` if the chain cannot be read, and the contract calls
    `ContractCallError` for a revert or an answer that does not decode."""

    where: str

    def chain_id(self) -> int:
        """The chain id of the node."""

    def code(self, address: bytes) -> bytes:
        """The code at `address` (empty for none)."""

    def log_info(self, log_anchor: bytes, log_id: bytes) -> LogInfo:
        """LogAnchor.logInfo(logId)."""

    def root_at(self, log_anchor: bytes, log_id: bytes, size: int) -> bytes | None:
        """LogAnchor.rootAt(logId, size); None if nothing is anchored at `size`."""

    def receipt(self, tx_hash: bytes) -> TxReceipt | None:
        """The receipt of a mined transaction, with its logs; None if not mined."""

    def block(self, number: int) -> Block | None:
        """Block `number`'s header, or None if there is no such block."""


def check_code(run: Run, chain: ChainReader, name: str, address: bytes, chain_id: int) -> None:
    """``contract``: the code at `address` is the runtime code of the shipped contract
    `name`, byte for byte (compared by SHA-256)."""
    code = chain.code(address)
    shipped = shipped_contract(name)
    if not code:
        run.fail(
            VerificationError("contract", f"no contract at {hex0x(address)} on chain id {chain_id}")
        )
    if code != shipped.runtime_code:
        run.fail(
            VerificationError(
                "contract",
                f"the code at {hex0x(address)} is not the {name} model-ledger ships: its runtime code has SHA-256"
                f" {hashlib.sha256(code).hexdigest()}, {name}'s is {shipped.runtime_sha256.hex()}"
                " (another contract can answer the same calls with whatever it likes)",
            )
        )
    run.ok(
        "contract", f"{name} at {hex0x(address)}: its code is the runtime code this verifier ships"
    )


ANCHORED_DATA_BYTES = 96
"""Bytes of an Anchored event's data: root, indexRoot, prevSize."""


def anchored_event(receipt: TxReceipt, document: Checkpointed) -> EventLog | None:
    """LogAnchor's `Anchored(logId, size, root, indexRoot, prevSize)` event for the
    document's checkpoint in `receipt`, emitted by the document's contract (None: none)."""
    topic = shipped_contract("LogAnchor").event_topic("Anchored")
    size_word = document.tree_size.to_bytes(32, "big")
    for log in receipt.logs:
        if (
            log.address == document.contract
            and log.topics == (topic, document.log_id, size_word)
            and len(log.data) == ANCHORED_DATA_BYTES
            and log.data[:32] == document.root
        ):
            return log
    return None


def check_anchor(
    run: Run, document: Checkpointed, chain: ChainReader, identity: LogIdentity
) -> None:
    """4. The checkpoint of `document` (a bundle or a pack that names the pinned log) is
    anchored on the pinned LogAnchor, in the block the document names."""
    contract, size = hex0x(document.contract), document.tree_size
    chain_id = chain.chain_id()
    if chain_id != identity.chain_id:
        run.fail(
            VerificationError(
                "chain id",
                f"the node at {chain.where} serves chain id {chain_id}; the pinned log is on chain id {identity.chain_id}",
            )
        )
    run.ok("chain id", f"{chain_id} (node {chain.where})")
    check_code(run, chain, "LogAnchor", identity.log_anchor, chain_id)
    try:
        info = chain.log_info(identity.log_anchor, identity.log_id)
    except ContractCallError as error:
        run.fail(
            VerificationError(
                "log",
                f"the LogAnchor at {contract} holds no log {hex0x(identity.log_id)} ({error})",
            )
        )
    if info.signer != identity.log_signer:
        run.fail(
            VerificationError(
                "log",
                f"log {hex0x(identity.log_id)} on {contract} is signed by {hex0x(info.signer)}, but the pinned log"
                f" identity names log key {hex0x(identity.log_signer)}: the identity document is not this log's",
            )
        )
    if info.retired and size > info.trusted_size:
        run.fail(
            VerificationError(
                "log",
                f"log {hex0x(identity.log_id)} was retired (its log key leaked) and its admin trusts its anchors up to"
                f" tree size {info.trusted_size} only; this checkpoint is of size {size}",
            )
        )
    retired = f"; retired, trusted up to size {info.trusted_size}" if info.retired else ""
    run.ok(
        "log",
        f"{hex0x(identity.log_id)} exists, anchored only with log key {hex0x(info.signer)}{retired}",
    )
    root = chain.root_at(identity.log_anchor, identity.log_id, size)
    if root is None:
        run.fail(
            VerificationError(
                "root on chain",
                f"nothing is anchored at tree size {size} of log {hex0x(identity.log_id)} in {contract}:"
                " this checkpoint was never anchored",
            )
        )
    if root != document.root:
        run.fail(
            VerificationError(
                "root on chain",
                f"the contract holds root {hex0x(root)} for tree size {size}; the {document.noun}'s checkpoint has"
                f" {hex0x(document.root)}",
            )
        )
    run.ok("root on chain", f"rootAt({hex0x(identity.log_id)}, {size}) = {hex0x(root)}")
    claimed = document.anchor
    receipt = chain.receipt(claimed.tx_hash)
    problem = None
    if receipt is None:
        problem = f"transaction {hex0x(claimed.tx_hash)} is not on chain"
    elif not receipt.succeeded:
        problem = (
            f"transaction {hex0x(claimed.tx_hash)} failed (its receipt's status is not success)"
        )
    elif (receipt.block_number, receipt.block_hash) != (claimed.block_number, claimed.block_hash):
        problem = (
            f"transaction {hex0x(claimed.tx_hash)} is in block {receipt.block_number} ({hex0x(receipt.block_hash)});"
            f" the {document.noun} says block {claimed.block_number} ({hex0x(claimed.block_hash)})"
        )
    elif (event := anchored_event(receipt, document)) is None:
        problem = (
            f"transaction {hex0x(claimed.tx_hash)} did not anchor tree size {size} with root {hex0x(document.root)}"
            f" (no such Anchored event of {contract} in it)"
        )
    if problem is not None:
        run.fail(VerificationError("anchor transaction", problem))
    run.ok(
        "anchor transaction",
        f"{hex0x(claimed.tx_hash)} anchored tree size {size} in block {claimed.block_number}",
    )
    block = chain.block(claimed.block_number)
    if block is None or block.hash != claimed.block_hash:
        shown = "no block" if block is None else hex0x(block.hash)
        run.fail(
            VerificationError(
                "anchor block",
                f"block {claimed.block_number} is {shown} on chain; the {document.noun} says {hex0x(claimed.block_hash)}"
                " (reorganised away?)",
            )
        )
    if block.timestamp != claimed.block_timestamp:
        run.fail(
            VerificationError(
                "anchor block",
                f"block {block.number}'s header says time {block.timestamp} ({utc_text(block.timestamp)}); the"
                f" {document.noun} says {claimed.block_timestamp}",
            )
        )
    run.ok(
        "anchor block",
        f"block {block.number} ({hex0x(block.hash)}) at {utc_text(block.timestamp)}, from its header",
    )
    assert event is not None
    run.result.anchored = ChainAnchor(
        root, block.number, block.hash, block.timestamp, claimed.tx_hash, event.data[32:64]
    )


def check_chain(
    run: Run, document: Checkpointed, chain: ChainReader, identity: LogIdentity
) -> None:
    """`check_anchor`, with an unreadable chain recorded as the failed ``chain`` check."""
    try:
        check_anchor(run, document, chain, identity)
    except ChainUnreadableError as error:
        run.fail(ChainReadError(str(error)))
    except ContractCallError as error:
        run.fail(
            VerificationError(
                "contract",
                f"the contract at {hex0x(identity.log_anchor)} answered unexpectedly: {error}",
            )
        )


def start(chain: ChainReader | None, identity: LogIdentity | None) -> Run:
    """A new run; refuses a chain check without a pinned log identity."""
    if chain is not None and identity is None:
        raise ValueError(
            "checking against the chain needs a pinned log identity (which contract and log count)"
        )
    return Run(VerificationResult(chain_consulted=chain is not None, identity=identity))


def verify_bundle(
    data: bytes | str | Mapping[str, Any],
    chain: ChainReader | None,
    identity: LogIdentity | None = None,
) -> VerificationResult:
    """Verify a bundle: the mathematics, then (unless `chain` is None, offline) the chain,
    against the pinned `identity` (required with a chain).

    Returns the result when every check passes; raises VerificationError (BundleError,
    ChainReadError) naming the first check that failed, with `result` attached.
    """
    run = start(chain, identity)
    try:
        bundle = parse_bundle(data)
    except BundleError as error:
        run.fail(error)
    count = len(bundle.entries)
    run.ok(
        "bundle",
        f"{BUNDLE_FORMAT}: {count} {'entry' if count == 1 else 'entries'}, log {hex0x(bundle.log_id)},"
        f" contract {hex0x(bundle.contract)} on chain id {bundle.chain_id}, tree size {bundle.tree_size}",
    )
    run.result.bundle = bundle
    check_identity(run, bundle, identity)
    for number, entry in enumerate(bundle.entries):
        _check_entry(run, bundle, number, entry)
    if chain is not None and identity is not None:
        check_chain(run, bundle, chain, identity)
    return run.result
