"""Monitoring a pinned log: follow its anchors on chain, check each new one against the
last one verified, and name every anomaly (what CT monitors and `rekor-cli loginfo` do
for their logs).

The monitor trusts the pinned log identity, the chain and mathematics. For every
`Anchored` event of the pinned log on the pinned LogAnchor, in chain order:

1. continuity: it extends the last anchor verified (its `prevSize` is that size), so no
   anchor was skipped;
2. the contract still holds that root at that size (`rootAt`);
3. the anchor transaction's own calldata, when it called LogAnchor.anchor directly: the
   checkpoint it carries is the event's, its signature recovers to the pinned log key,
   and its consistency proof takes the last verified root to the new one (the contract
   checked the same; the monitor checks it again, with its own code). An anchor sent
   through another contract is checked with a proof from the service when one is given.

And each round: the chain is the pinned one, the LogAnchor code is the shipped code,
the log's key is the pinned key and the log is not retired; the root the monitor last
verified is still on chain (a reorganisation or a replaced contract would change it);
with the service's URL, the checkpoint it serves is signed by the log key and is the
anchored history or a consistent extension of it (anything else is a split view).

Pure but for the JSON-RPC reader it is given; the CLI (`mledger monitor`) fetches from
the service and keeps the state between runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ledger.core.merkle import ProofError, verify_consistency
from ledger.formats.abi import WORD, contract
from ledger.formats.eip712 import Domain, checkpoint_struct, digest, recover
from ledger.formats.fields import FormatError, hex0x, parse_bytes, parse_fields, parse_int
from ledger.formats.identity import LogIdentity
from ledger.verify.result import utc_text
from ledger.verify.rpc import ContractCallError, EventLog, JsonRpcReader

MONITOR_STATE_FORMAT = "model-ledger/monitor-state/v1"
"""The `format` of the state file `mledger monitor --state` keeps."""

_SHIPPED = contract("LogAnchor")
ANCHORED = _SHIPPED.event_topic("Anchored")
ANCHOR = _SHIPPED.function("anchor")
MAX_PROOF = 128
"""Most nodes a consistency proof of a 2^64-leaf tree can have."""

ConsistencySource = Callable[[int, int], Sequence[bytes]]
"""Where a proof comes from when the anchor transaction does not carry one: (first,
second) -> the consistency proof between those sizes."""


@dataclass(frozen=True)
class Seen:
    """The last anchor the monitor verified: where the next round starts."""

    log_id: bytes
    tree_size: int = 0
    root: bytes = bytes(32)
    block_number: int = 0
    log_index: int = -1
    served_size: int = 0
    """The last checkpoint the service served that the monitor checked (0: none): every
    later one, and every later anchor, must be consistent with it."""
    served_root: bytes = bytes(32)
    served_signature: bytes = b""
    """The log key's signature over it: with another signed root at one size, the two
    are a proof that the log showed two histories."""

    def as_json(self) -> dict[str, Any]:
        return {
            "format": MONITOR_STATE_FORMAT,
            "log_id": hex0x(self.log_id),
            "tree_size": self.tree_size,
            "root": hex0x(self.root),
            "block_number": self.block_number,
            "log_index": self.log_index,
            "served": {
                "tree_size": self.served_size,
                "root": hex0x(self.served_root),
                "signature": hex0x(self.served_signature),
            },
        }

    @classmethod
    def from_json(cls, obj: Any) -> Seen:
        """A state file's object; FormatError names the bad field."""
        fields = parse_fields(
            obj,
            "state",
            ("format", "log_id", "tree_size", "root", "block_number", "log_index", "served"),
        )
        if fields["format"] != MONITOR_STATE_FORMAT:
            raise FormatError(f"state.format must be {MONITOR_STATE_FORMAT!r}")
        served = parse_fields(fields["served"], "state.served", ("tree_size", "root", "signature"))
        signature = served["signature"]
        return cls(
            parse_bytes(fields["log_id"], "state.log_id", 32),
            parse_int(fields["tree_size"], "state.tree_size", 0, 2**64 - 1),
            parse_bytes(fields["root"], "state.root", 32),
            parse_int(fields["block_number"], "state.block_number", 0, 2**64 - 1),
            parse_int(fields["log_index"], "state.log_index", -1, 2**32),
            parse_int(served["tree_size"], "state.served.tree_size", 0, 2**64 - 1),
            parse_bytes(served["root"], "state.served.root", 32),
            b"" if signature == "0x" else parse_bytes(signature, "state.served.signature", 65),
        )


@dataclass(frozen=True)
class Finding:
    """One line of the monitor's output: an anchor verified, the service's checkpoint
    checked, or an anomaly (`event` "anomaly", `check` naming what failed)."""

    event: str
    check: str
    detail: str
    tree_size: int | None = None
    root: bytes | None = None
    block_number: int | None = None
    block_timestamp: int | None = None
    tx_hash: bytes | None = None

    @property
    def anomaly(self) -> bool:
        return self.event == "anomaly"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.event, "check": self.check, "detail": self.detail}
        if self.tree_size is not None:
            out["tree_size"] = self.tree_size
        if self.root is not None:
            out["root"] = hex0x(self.root)
        if self.block_number is not None:
            out["block_number"] = self.block_number
        if self.block_timestamp is not None:
            out["block_time"] = utc_text(self.block_timestamp)
        if self.tx_hash is not None:
            out["tx_hash"] = hex0x(self.tx_hash)
        return out


def _anomaly(check: str, detail: str, **where: Any) -> Finding:
    return Finding("anomaly", check, detail, **where)


def check_log(identity: LogIdentity, chain: JsonRpcReader) -> list[Finding]:
    """The chain, the contract's code and the log's key and state, as pinned; the
    anomalies found (none: all as pinned)."""
    chain_id = chain.chain_id()
    if chain_id != identity.chain_id:
        return [
            _anomaly(
                "chain id",
                f"the node serves chain id {chain_id}; the pinned log is on chain id"
                f" {identity.chain_id}",
            )
        ]
    code = chain.code(identity.log_anchor)
    if code != _SHIPPED.runtime_code:
        return [
            _anomaly(
                "contract code",
                f"the code at {hex0x(identity.log_anchor)} is not the LogAnchor model-ledger"
                f" ships ({len(code)} bytes)",
            )
        ]
    try:
        info = chain.log_info(identity.log_anchor, identity.log_id)
    except ContractCallError as error:
        return [_anomaly("log", f"LogAnchor holds no log {hex0x(identity.log_id)}: {error}")]
    found = []
    if info.signer != identity.log_signer:
        found.append(
            _anomaly(
                "log key",
                f"the log is anchored with key {hex0x(info.signer)}; the pinned identity names"
                f" {hex0x(identity.log_signer)}",
            )
        )
    if info.retired:
        found.append(
            _anomaly(
                "retired",
                f"the log was retired: its admin trusts its anchors up to tree size"
                f" {info.trusted_size} only (the log key may have leaked)",
            )
        )
    return found


def check_latest(
    identity: LogIdentity, chain: JsonRpcReader, seen: Seen, head: int
) -> Finding | None:
    """An anomaly if LogAnchor, at block `head`, holds a larger anchored size than the
    anchors the node's events showed up to that block (a node hiding the newest)."""
    info = chain.log_info(identity.log_anchor, identity.log_id, block=head)
    if info.latest_size == seen.tree_size:
        return None
    return _anomaly(
        "hidden anchor",
        f"LogAnchor's latest anchored size at block {head} is {info.latest_size}, but the"
        f" node's Anchored events end at size {seen.tree_size}",
    )


def check_history(identity: LogIdentity, chain: JsonRpcReader, seen: Seen) -> Finding | None:
    """An anomaly if the root last verified is no longer on chain at its size."""
    if seen.tree_size == 0:
        return None
    root = chain.root_at(identity.log_anchor, identity.log_id, seen.tree_size)
    if root == seen.root:
        return None
    shown = "nothing" if root is None else hex0x(root)
    return _anomaly(
        "history",
        f"the chain now holds {shown} at tree size {seen.tree_size}; the monitor verified"
        f" {hex0x(seen.root)} there (a reorganisation, or another contract?)",
        tree_size=seen.tree_size,
    )


@dataclass(frozen=True)
class _AnchorCall:
    log_id: bytes
    size: int
    root: bytes
    index_root: bytes
    proof: tuple[bytes, ...]
    signature: bytes


def _decode_anchor(data: bytes) -> _AnchorCall | None:
    """The arguments of a LogAnchor.anchor call, None if `data` is not one."""
    if data[:4] != ANCHOR.selector or len(data) < 4 + 8 * WORD:
        return None
    words = [data[4 + i * WORD : 4 + (i + 1) * WORD] for i in range((len(data) - 4) // WORD)]
    offset = int.from_bytes(words[4], "big")
    if offset % WORD or offset // WORD >= len(words):
        return None
    start = offset // WORD
    count = int.from_bytes(words[start], "big")
    if count > MAX_PROOF or start + 1 + count > len(words):
        return None
    vs = int.from_bytes(words[6], "big")
    s = vs & ((1 << 255) - 1)
    v = 27 + (vs >> 255)
    return _AnchorCall(
        log_id=words[0],
        size=int.from_bytes(words[1], "big"),
        root=words[2],
        index_root=words[3],
        proof=tuple(words[start + 1 : start + 1 + count]),
        signature=words[5] + s.to_bytes(32, "big") + bytes([v]),
    )


def _checkpoint_signer(
    identity: LogIdentity, size: int, root: bytes, index_root: bytes, signature: bytes
) -> bytes | None:
    domain = Domain(identity.log_id, identity.chain_id, identity.log_anchor)
    message = digest(domain.separator(), checkpoint_struct(identity.log_id, size, root, index_root))
    try:
        return recover(message, signature)
    except ValueError:
        return None


def _consistent(first: int, second: int, root1: bytes, root2: bytes, proof: Any) -> bool:
    if first == 0:
        return True
    try:
        verify_consistency(first, second, list(proof), root1, root2)
    except ProofError:
        return False
    return True


def follow(
    identity: LogIdentity,
    chain: JsonRpcReader,
    seen: Seen,
    to_block: int,
    source: ConsistencySource | None = None,
) -> Iterator[tuple[Finding, Seen]]:
    """Each anchor of the pinned log after `seen`, up to block `to_block`, checked: (the
    finding, the state after it). Stops after the first anomaly (the state is then not
    advanced, so the next run reports it again)."""
    start = max(seen.block_number, identity.deployment_block)
    if start > to_block:
        return
    events = sorted(
        (
            e
            for e in chain.logs(identity.log_anchor, [ANCHORED, identity.log_id], start, to_block)
            if (e.block_number, e.log_index) > (seen.block_number, seen.log_index)
        ),
        key=lambda e: (e.block_number, e.log_index),
    )
    times = {}
    numbers = sorted({e.block_number for e in events})
    for block in chain.blocks(numbers) if numbers else []:
        if block is not None:
            times[block.number] = block.timestamp
    for event in events:
        finding = _check_event(identity, chain, seen, event, times.get(event.block_number), source)
        if finding.anomaly:
            yield finding, seen
            return
        seen = replace(
            seen,
            tree_size=int.from_bytes(event.topics[2], "big"),
            root=event.data[:WORD],
            block_number=event.block_number,
            log_index=event.log_index,
        )
        yield finding, seen


def _check_event(
    identity: LogIdentity,
    chain: JsonRpcReader,
    seen: Seen,
    event: EventLog,
    timestamp: int | None,
    source: ConsistencySource | None,
) -> Finding:
    if (
        len(event.topics) != 3
        or event.topics[:2] != (ANCHORED, identity.log_id)
        or event.address != identity.log_anchor
        or len(event.data) != 3 * WORD
    ):
        return _anomaly(
            "event",
            f"the node answered an event that is not this log's Anchored ({event.block_number})",
        )
    size = int.from_bytes(event.topics[2], "big")
    root, index_root = event.data[:WORD], event.data[WORD : 2 * WORD]
    prev = int.from_bytes(event.data[2 * WORD :], "big")
    where: dict[str, Any] = {
        "tree_size": size,
        "root": root,
        "block_number": event.block_number,
        "block_timestamp": timestamp,
        "tx_hash": event.tx_hash,
    }
    if prev != seen.tree_size:
        return _anomaly(
            "continuity",
            f"the anchor of tree size {size} extends size {prev}, but the last anchor verified"
            f" is of size {seen.tree_size}: an anchor was skipped or the node hides one",
            **where,
        )
    if size <= prev:
        return _anomaly("continuity", f"tree size {size} does not grow from {prev}", **where)
    if seen.served_size == size and seen.served_root != root:
        return _anomaly(
            "split view",
            f"the chain anchors root {hex0x(root)} at tree size {size}; the service served"
            f" {hex0x(seen.served_root)} there, signed by the log key"
            f" ({hex0x(seen.served_signature)}): the log showed two histories",
            **where,
        )
    if chain.root_at(identity.log_anchor, identity.log_id, size) != root:
        return _anomaly(
            "root on chain", f"rootAt({size}) is not the root its Anchored event names", **where
        )
    tx = chain.transaction_input(event.tx_hash)
    call = _decode_anchor(tx[1]) if tx is not None and tx[0] == identity.log_anchor else None
    if call is not None:
        if (call.log_id, call.size, call.root, call.index_root) != (
            identity.log_id,
            size,
            root,
            index_root,
        ):
            return _anomaly(
                "anchor transaction",
                "the transaction's checkpoint is not the one its event names",
                **where,
            )
        signer = _checkpoint_signer(identity, size, root, index_root, call.signature)
        if signer != identity.log_signer:
            shown = "no key" if signer is None else hex0x(signer)
            return _anomaly(
                "signature",
                f"the checkpoint's signature recovers to {shown}, not the pinned log key"
                f" {hex0x(identity.log_signer)}",
                **where,
            )
        proof: Sequence[bytes] | None = call.proof
        how = "proof from the anchor transaction"
    elif source is not None:
        proof = source(prev, size) if prev else ()
        how = "proof from the service"
    else:
        proof = None
        how = "checked by the contract only (the anchor came through another contract)"
    if proof is not None and not _consistent(prev, size, seen.root, root, proof):
        return _anomaly(
            "consistency",
            f"tree size {size} is not a consistent extension of the verified size {prev} ({how})",
            **where,
        )
    when = "" if timestamp is None else f" at {utc_text(timestamp)}"
    return Finding(
        "anchored",
        "anchor",
        f"tree size {prev} -> {size} in block {event.block_number}{when}; signed by the log"
        f" key; consistent ({how})",
        **where,
    )


def check_served(
    identity: LogIdentity,
    seen: Seen,
    checkpoint: Mapping[str, Any],
    proof: Sequence[bytes],
    served_proof: Sequence[bytes] = (),
) -> tuple[Finding, Seen]:
    """The checkpoint the service serves (GET /v1/checkpoints/latest) against the last
    anchor verified and the last checkpoint it served: signed by the pinned log key,
    never behind either, and the same root at the same size or a consistent extension
    (`proof` from the anchored size, `served_proof` from the last served size: GET
    /v1/proofs/consistency). The state after it remembers this checkpoint."""
    finding = _served(identity, seen, checkpoint, proof, served_proof)
    if finding.anomaly or finding.tree_size is None or finding.root is None:
        return finding, seen
    signature = bytes.fromhex(str(checkpoint["signature"])[2:])
    return finding, replace(
        seen,
        served_size=finding.tree_size,
        served_root=finding.root,
        served_signature=signature,
    )


SERVED_EXTRAS = ("timestamp", "signer", "domain", "anchor")
"""Fields of GET /v1/checkpoints/latest the monitor reads past: the service's own time, the
signer's address and EIP-712 domain (derived here from the pinned identity instead) and
where the service says it was anchored (the chain is asked instead)."""


def _served(
    identity: LogIdentity,
    seen: Seen,
    checkpoint: Mapping[str, Any],
    proof: Sequence[bytes],
    served_proof: Sequence[bytes],
) -> Finding:
    try:
        fields = parse_fields(
            checkpoint,
            "checkpoint",
            ("log_id", "tree_size", "root", "index_root", "signature"),
            SERVED_EXTRAS,
        )
        log_id = parse_bytes(fields["log_id"], "checkpoint.log_id", 32)
        size = parse_int(fields["tree_size"], "checkpoint.tree_size", 0, 2**64 - 1)
        root = parse_bytes(fields["root"], "checkpoint.root", 32)
        index_root = parse_bytes(fields["index_root"], "checkpoint.index_root", 32)
        signature = parse_bytes(fields["signature"], "checkpoint.signature", 65)
    except FormatError as error:
        return _anomaly("served checkpoint", f"the service's checkpoint is malformed: {error}")
    where: dict[str, Any] = {"tree_size": size, "root": root}
    if log_id != identity.log_id:
        return _anomaly(
            "served checkpoint", f"the service serves log {hex0x(log_id)}, not the pinned log"
        )
    signer = _checkpoint_signer(identity, size, root, index_root, signature)
    if signer != identity.log_signer:
        return _anomaly(
            "served checkpoint",
            "the service's checkpoint is not signed by the pinned log key",
            **where,
        )
    if size < seen.tree_size:
        return _anomaly(
            "split view",
            f"the service serves tree size {size}, behind the {seen.tree_size} anchored on chain:"
            " a rollback",
            **where,
        )
    if size == seen.tree_size and root != seen.root:
        return _anomaly(
            "split view",
            f"the service's root at tree size {size} differs from the one anchored on chain",
            **where,
        )
    if not _consistent(seen.tree_size, size, seen.root, root, proof):
        return _anomaly(
            "split view",
            f"the service's tree of size {size} is not a consistent extension of the anchored"
            f" tree of size {seen.tree_size}",
            **where,
        )
    if size < seen.served_size:
        return _anomaly(
            "split view",
            f"the service serves tree size {size}, behind the {seen.served_size} it served"
            " before: a rollback",
            **where,
        )
    if not _consistent(seen.served_size, size, seen.served_root, root, served_proof):
        return _anomaly(
            "split view",
            f"the service's tree of size {size} does not extend the tree of size"
            f" {seen.served_size} it served before (root {hex0x(seen.served_root)}, signed"
            f" {hex0x(seen.served_signature)}): the log showed two histories",
            **where,
        )
    return Finding(
        "served",
        "served checkpoint",
        f"the service's tree size {size} is signed by the log key and extends the anchored"
        f" size {seen.tree_size}",
        **where,
    )
