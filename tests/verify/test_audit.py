"""The audit's pure parts: the compact range against the reference tree, the export line
format, the anchor history of the pinned log read from a chain faked in memory (the
shipped LogAnchor's code, logInfo, rootAt, Anchored events and block headers), and whole
exports (in-process and with worker processes) altered line by line."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_utils.crypto import keccak

import ledger.verify.audit
import ledger.verify.rpc
from ledger.core.index import IndexBuilder, key_hash, record_keys
from ledger.core.merkle import EMPTY_ROOT, root_hash
from ledger.core.records import RecordError, parse_object, validate_canonical
from ledger.formats.abi import contract as shipped_contract
from ledger.formats.export_line import (
    MAX_LINE_BYTES,
    Erased,
    ExportLineError,
    Logged,
    export_line,
    parse_erased_line,
    parse_export_line,
    parse_logged_line,
)
from ledger.formats.identity import LogIdentity
from ledger.formats.statement import (
    erasure_statement,
    hold_statement,
    leaves_digest,
    leaves_root,
    lift_statement,
    statement_bytes,
    statement_salt,
    statement_sha256,
)
from ledger.verify.audit import (
    CHUNK_BYTES,
    WITHHELD,
    AuditError,
    AuditResult,
    CompactRange,
    _plain_line,
    aligned_blocks,
    audit_export,
    check_lines,
    read_anchors,
    sha256_hex,
)
from ledger.verify.rpc import Block, ContractCallError, EventLog, JsonRpcReader, LogInfo
from ledger.workload import interaction
from tests.core.merkle.reference import mth

CONTRACT = bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")
LOG_ID = bytes(range(32))
SIGNER = b"\x4c" * 20
ENTRIES = [parse_object(interaction(i, seed=9)) for i in range(600)]
LEAVES = [entry.leaf_hash for entry in ENTRIES]
LOG_ANCHOR = shipped_contract("LogAnchor")
ANCHORED_TOPIC = LOG_ANCHOR.event_topic("Anchored")
IDENTITY = LogIdentity("audited", 31337, CONTRACT, LOG_ID, None, SIGNER, deployment_block=2)


def test_topics_and_selectors_are_the_contracts() -> None:
    """What the verifiers ask the chain is derived from the shipped ABI: it equals the
    keccak of the contract's own signatures."""
    assert ANCHORED_TOPIC == keccak(text="Anchored(bytes32,uint64,bytes32,bytes32,uint64)")
    for name, signature in (
        ("latest", "latest(bytes32)"),
        ("logInfo", "logInfo(bytes32)"),
        ("rootAt", "rootAt(bytes32,uint64)"),
    ):
        assert LOG_ANCHOR.function(name).selector == keccak(text=signature)[:4]
    assert LOG_ANCHOR.function("logInfo").outputs == (
        "address",
        "address",
        "uint64",
        "bool",
        "uint64",
    )
    assert (
        LOG_ANCHOR.error_selector("LogAnchorUnknownSize")
        == keccak(text="LogAnchorUnknownSize(bytes32,uint64)")[:4]
    )


def test_compact_range_root_at_every_size_and_any_chunking() -> None:
    rng = random.Random(4)
    tree = CompactRange()
    assert tree.root() == EMPTY_ROOT
    for size in range(1, 300):
        tree.extend([LEAVES[size - 1]])
        assert tree.root() == mth(LEAVES[:size])
        assert len(tree.hashes) == size.bit_count()
    for _ in range(30):
        chunked = CompactRange()
        position = 0
        while position < len(LEAVES):
            step = rng.choice([1, 2, 3, 7, 64, 100, 256])
            chunked.extend(LEAVES[position : position + step])
            position = min(position + step, len(LEAVES))
            assert chunked.root() == root_hash(LEAVES[:position])


def test_aligned_blocks_stop_at_every_cut_and_give_the_same_tree() -> None:
    """The subtrees a worker hashes for its lines, fed to a compact range, give the root
    at every size `extend` does, and the range passes every cut (an anchored size)
    exactly; a block that does not fit where the range is, is refused."""
    rng = random.Random(8)
    for _ in range(40):
        tree = CompactRange()
        position = 0
        while position < len(LEAVES):
            step = rng.choice([1, 5, 64, 100, 333])
            leaves = LEAVES[position : position + step]
            cuts = sorted(set(rng.choices(range(position, position + len(leaves) + 1), k=3)))
            blocks = aligned_blocks(position, leaves, cuts)
            sizes = []
            for block in blocks:
                tree.add_blocks([block])
                sizes.append(tree.size)
            assert {c for c in cuts if position < c < position + len(leaves)} <= set(sizes)
            position += len(leaves)
            assert tree.size == position and tree.root() == root_hash(LEAVES[:position])
    with pytest.raises(ValueError, match="height 2 cannot start at 1"):
        ranged = CompactRange()
        ranged.extend(LEAVES[:1])
        ranged.add_blocks([(2, LEAVES[0])])


def test_check_lines_hashed_by_the_worker_equals_line_by_line() -> None:
    """With the anchored sizes given, a chunk of good lines comes back as subtrees and
    index filing (the hashing done where the lines are checked) that give the same tree
    root and index root as the lines' leaf hashes and keys filed one by one; a chunk
    whose lines do not start at leaf index first_line - 1, or holds a bad line, comes
    back line by line."""
    lines = [export_line(i, ENTRIES[i].canonical)[:-1] for i in range(100, 400)]
    plain = check_lines(lines, 101, with_keys=True)
    hashed = check_lines(lines, 101, with_keys=True, cuts=[150, 256, 257])
    assert plain.blocks is None and plain.indices == list(range(100, 400))
    assert hashed.indices == range(100, 400) and hashed.hashes == [] and hashed.keys is None
    assert hashed.blocks == aligned_blocks(100, plain.hashes, [150, 256, 257])
    assert hashed.postings is not None and [run[0] for run in hashed.postings] == [
        50,
        106,
        1,
        143,
    ]
    one, runs = IndexBuilder(), IndexBuilder()
    for i in range(100):
        one.add_hashed(i, plain.keys[0])  # type: ignore[index]
        runs.add_hashed(i, plain.keys[0])  # type: ignore[index]
    for offset, keys in enumerate(plain.keys or []):
        one.add_hashed(100 + offset, keys)
    for count, filed in hashed.postings:
        runs.add_hashed_batch(count, filed)
    assert runs.seal() == one.seal()
    assert check_lines(lines, 100, with_keys=True, cuts=[]).blocks is None
    bad = [*lines[:5], lines[5].replace(b'"v":1', b'"v":3'), *lines[6:]]
    broken = check_lines(bad, 101, with_keys=True, cuts=[])
    assert (
        broken.blocks is None
        and broken.failure is not None
        and broken.indices == list(range(100, 105))
    )


def _checked(line: bytes) -> Any:
    """What check_lines finds of a logged line through the record model: (leaf index,
    leaf hash, ts, external id, account, model) of an interaction, else the fault."""
    try:
        index, record, statement = parse_logged_line(line)
        entry = validate_canonical(record)
    except (ExportLineError, RecordError) as error:
        return str(error)
    if statement is not None or entry.kind != "interaction":
        return "not an interaction without statement"
    return (index, entry.leaf_hash, entry.ts, entry.external_id, entry.account_id, entry.model)


def test_plain_interaction_lines_are_read_as_the_record_model_reads_them() -> None:
    """The audit's reading of plain interaction lines (no optional field, ids of safe
    characters) gives exactly what the line parser and `validate_canonical` give, and
    reads no line they refuse or read otherwise: every variant either comes out equal or
    is left to them (None). Fails if the pattern let through an escaped or non-ASCII id,
    a count past 2^53 - 1 or with a leading zero, a false date or time, an optional
    field, another key order, spacing, v2, another kind, a statement or a bad index."""
    base = ENTRIES[7].canonical
    for i in range(200):
        assert _plain_line(export_line(i, ENTRIES[i].canonical)[:-1]) == _checked(
            export_line(i, ENTRIES[i].canonical)[:-1]
        )
    record = json.loads(base)
    records: list[bytes] = []

    def variant(**changes: Any) -> None:
        changed = json.loads(base)
        for where, value in changes.items():
            part, name = where.split("__") if "__" in where else ("", where)
            (changed[part] if part else changed)[name] = value
        records.append(json.dumps(changed, separators=(",", ":"), sort_keys=True).encode())

    for ident in ("a", "x" * 256, "x" * 257, "", "acct:1.2_3-4", "acct 1", "acct/1", "é", 'a"b'):
        variant(body__account_id=ident)
        variant(body__request_id=ident)
        variant(body__model=ident)
    for count in (0, 1, 2**53 - 1, 2**53, 10**16, -1, 1.5, True):
        variant(body__input_tokens=count)
        variant(body__output_tokens=count)
    for ts in (
        "2024-02-29T23:59:59.999Z",
        "2000-02-29T00:00:00.000Z",
        "1900-02-29T00:00:00.000Z",
        "2026-02-29T00:00:00.000Z",
        "2026-04-31T00:00:00.000Z",
        "2026-13-01T00:00:00.000Z",
        "2026-06-01T24:00:00.000Z",
        "2026-06-01T23:60:00.000Z",
        "2026-06-01T23:00:60.000Z",
        "2026-06-01T23:59:59.99Z",
        "0000-01-01T00:00:00.000Z",
        "0001-01-01T00:00:00.000Z",
        "2026-06-01T00:00:00.000+0",
        "2026-06-01T00:00:00Z",
    ):
        variant(ts=ts)
    variant(v=2)
    variant(kind="digest")
    variant(salt=record["salt"].upper())
    variant(body__prompt_sha256=record["body"]["prompt_sha256"][:-1])
    variant(body__endpoint="/v1/chat")
    variant(body__metadata={"k": "v"})
    records.append(base.replace(b'"v":1', b'"v": 1'))
    records.append(base.replace(b'"input_tokens":', b'"input_tokens":0'))
    records.append(base.replace(b"acct-", b"acct\\u002d"))
    records.append(base + b" ")
    records.append(b'{"kind":"interaction",' + base[1:].replace(b',"kind":"interaction"', b""))
    lines = [b'{"leaf_index":7,"record":' + candidate + b"}" for candidate in records]
    for index in (b"0", b"07", b"9" * 20, b"1" * 21, b"-1", b"1.0"):
        lines.append(b'{"leaf_index":' + index + b',"record":' + base + b"}")
    lines.append(b'{"leaf_index":7,"record":' + base + b',"statement":{"a":1}}')
    lines.append(b'{"leaf_index":7,"record":' + base + b"} ")
    taken = 0
    for line in lines:
        fast = _plain_line(line)
        if fast is not None:
            taken += 1
            assert fast == _checked(line), line
    assert taken >= 16  # the good variants are read by the pattern


def test_plain_lines_changed_at_random_are_read_as_the_record_model_reads_them() -> None:
    """Plain interaction lines with one to three random byte edits (digits, id
    characters, quotes, backslashes and escapes, spaces, newlines, non-ASCII letters and
    digits, leading zeros, deletions): every line the pattern takes, the line parser and
    `validate_canonical` take too and read the same (hostile review of audit-speed)."""
    rng = random.Random(29)
    pieces = [b"0", b"9", b"a", b"Z", b"-", b":", b".", b"_", b" ", b"\\", b"\\u0041", b'"']
    pieces += [b"\xc3\xa9", b"\xd9\xa3", b"\xef\xbc\x91", b"\n", b"\r", b"00", b"", b"/", b"2"]
    taken = 0
    for _ in range(20_000):
        at = rng.randrange(200)
        line = bytearray(export_line(at, ENTRIES[at].canonical)[:-1])
        for _ in range(rng.randint(1, 3)):
            where = rng.randrange(len(line))
            line[where : where + rng.randint(0, 2)] = rng.choice(pieces)
        fast = _plain_line(bytes(line))
        if fast is not None:
            taken += 1
            assert fast == _checked(bytes(line)), bytes(line)
    assert taken > 300  # edits that keep a valid plain line (digits in hashes, ids, counts)


# -- the export line format ---------------------------------------------------------------


def test_export_lines_round_trip_and_are_canonical() -> None:
    entry = ENTRIES[3]
    line = export_line(3, entry.canonical)
    assert line.endswith(b"\n") and json.loads(line) == {
        "leaf_index": 3,
        "record": json.loads(entry.canonical),
    }
    assert parse_export_line(line[:-1]) == (3, entry.canonical)
    # The same two fields laid out another way are not the export's canonical form.
    loose = json.dumps({"record": json.loads(entry.canonical), "leaf_index": 3}).encode()
    with pytest.raises(
        ExportLineError, match="leaf index 3: the line is not in the export's canonical form"
    ):
        parse_export_line(loose)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"{oops", "not valid JSON"),
        (b'{"leaf_index": 1}', "not an export line"),
        (b'{"leaf_index": -1, "record": {}}', "non-negative integer"),
        (b'{"leaf_index": 1.5, "record": {}}', "integers only"),
        (b'{"leaf_index": "1", "record": {}}', "non-negative integer"),
        (b'{"leaf_index": 1, "record": []}', "record must be a JSON object"),
        (b'{"leaf_index": 1, "leaf_index": 2, "record": {}}', "appears twice"),
        (b'{"leaf_index":01,"record":{}}', "not valid JSON"),
        (b"x" * 30_000, "line is longer than 20544 bytes, the most a record"),
        (b'{"leaf_index":' + b"9" * 5000 + b',"record":{}}', "5000 digits"),
        (b'{"leaf_index": ' + b"9" * 5000 + b', "record": {}}', "not valid JSON"),
    ],
)
def test_bad_export_lines(line: bytes, words: str) -> None:
    with pytest.raises(ExportLineError, match=words):
        parse_export_line(line)


def test_check_lines_names_the_line_and_the_fault() -> None:
    good = [export_line(i, ENTRIES[i].canonical)[:-1] for i in range(4)]
    done = check_lines(good, 10)
    assert done.failure is None and done.indices == [0, 1, 2, 3] and done.hashes == LEAVES[:4]
    assert done.kinds == {"interaction": 4}
    record = json.loads(ENTRIES[2].canonical)
    record["body"]["input_tokens"] = 1.5
    bad = [*good[:2], json.dumps({"leaf_index": 2, "record": record}).encode(), good[3]]
    done = check_lines(bad, 10)
    assert done.indices == [0, 1] and done.failure is not None
    assert done.failure[:3] == (12, None, "line") and "integers only" in done.failure[3]
    spaced = good[2].replace(b'"body":{', b'"body":{ ')  # the same JSON, not canonical bytes
    done = check_lines([spaced], 1)
    assert done.indices == [] and done.failure is not None and done.failure[:3] == (1, 2, "record")
    assert "not in canonical form" in done.failure[3]
    unsorted = good[2].replace(b'"kind":"interaction","salt"', b'"salt"', 1)
    done = check_lines([unsorted], 1)
    assert done.failure is not None and done.failure[:3] == (1, 2, "record")
    assert check_lines([b""], 7).failure == (7, None, "line", "empty line (one entry per line)")


# -- the anchors, from a chain in memory -------------------------------------------------


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _block_hash(number: int) -> bytes:
    return bytes([number]) * 32


@dataclass
class FakeChain:
    """The chain, as `ledger.verify.audit.AuditChain`: the shipped LogAnchor at CONTRACT holding
    log LOG_ID (log key SIGNER), anchored at `sizes` of LEAVES, anchor n in block 3 + n."""

    sizes: list[int]
    where: str = "memory"
    prev_sizes: dict[int, int] = field(default_factory=dict)
    roots: dict[int, bytes] = field(default_factory=dict)
    """Roots the events say, where they differ from the contract's."""
    missing_events: set[int] = field(default_factory=set)
    info: LogInfo | None = None
    reorganised: set[int] = field(default_factory=set)
    """Blocks whose header now has another hash."""
    code_at: bytes = LOG_ANCHOR.runtime_code
    asked: list[tuple[int, int]] = field(default_factory=list)
    index_roots: dict[int, bytes] = field(default_factory=dict)
    """Index roots the log key signed (absent: zero, an anchor from before the index)."""
    leaves: list[bytes] = field(default_factory=lambda: LEAVES)
    """The log's leaf hashes."""

    def chain_id(self) -> int:
        return 31337

    def code(self, address: bytes) -> bytes:
        return self.code_at if address == CONTRACT else b""

    def block_number(self) -> int:
        return 30

    def log_info(self, log_anchor: bytes, log_id: bytes) -> LogInfo:
        if log_id != LOG_ID:
            raise ContractCallError(
                "LogAnchor.logInfo reverted with LogAnchorUnknownLog", "LogAnchorUnknownLog"
            )
        return self.info or LogInfo(
            SIGNER, b"\x01" * 20, self.sizes[-1] if self.sizes else 0, False, 0
        )

    def roots_at(self, log_anchor: bytes, log_id: bytes, sizes: list[int]) -> list[bytes | None]:
        return [root_hash(self.leaves[:size]) if size in self.sizes else None for size in sizes]

    def blocks(self, numbers: list[int]) -> list[Block | None]:
        return [
            Block(n, b"\xee" * 32 if n in self.reorganised else _block_hash(n), 1_780_000_000 + n)
            if n <= 30
            else None
            for n in numbers
        ]

    def logs(
        self, address: bytes, topics: list[bytes], from_block: int, to_block: int
    ) -> list[EventLog]:
        self.asked.append((from_block, to_block))
        found = []
        previous = 0
        for n, size in enumerate(self.sizes):
            block = 3 + n
            if (
                address == CONTRACT
                and topics == [ANCHORED_TOPIC, LOG_ID]
                and from_block <= block <= to_block
                and size not in self.missing_events
            ):
                root = self.roots.get(size, root_hash(self.leaves[:size]))
                event_topics = (ANCHORED_TOPIC, LOG_ID, _word(size))
                data = (
                    root
                    + self.index_roots.get(size, bytes(32))
                    + _word(self.prev_sizes.get(size, previous))
                )  # root, indexRoot, prevSize
                found.append(
                    EventLog(
                        CONTRACT,
                        event_topics,
                        data,
                        block,
                        _block_hash(block),
                        bytes([block + 100]) * 32,
                        0,
                    )
                )
            previous = size
        return list(reversed(found))  # any order: the audit sorts them


def test_anchors_are_read_and_checked() -> None:
    chain = FakeChain([100, 256, 600])
    found = read_anchors(chain, IDENTITY)
    anchors = found.anchors
    assert [(a.number, a.size, a.prev_size, a.block_number) for a in anchors] == [
        (1, 100, 0, 3),
        (2, 256, 100, 4),
        (3, 600, 256, 5),
    ]
    assert anchors[0].timestamp == 1_780_000_003 and anchors[2].root == root_hash(
        LEAVES
    )  # the block header's time
    assert anchors[1].tx_hash == bytes([104]) * 32 and anchors[1].block_hash == _block_hash(4)
    assert chain.asked == [(2, 30)]  # from the identity's deployment block to the head
    assert read_anchors(FakeChain([100]), IDENTITY, from_block=0).anchors[0].size == 100
    assert found.ignored == 0 and not found.info.retired
    assert read_anchors(FakeChain([]), IDENTITY).anchors == []


def test_the_reader_asks_for_logs_in_block_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many nodes refuse wide eth_getLogs ranges: JsonRpcReader asks LOG_BLOCK_CHUNK blocks
    at a time, and leaves out logs a reorganisation removed."""
    monkeypatch.setattr(ledger.verify.rpc, "LOG_BLOCK_CHUNK", 7)
    asked: list[tuple[int, int]] = []
    event = {
        "address": "0x" + CONTRACT.hex(),
        "topics": ["0x" + ANCHORED_TOPIC.hex(), "0x" + LOG_ID.hex(), "0x" + _word(5).hex()],
        "data": "0x" + (b"\x01" * 32 + _word(0)).hex(),
        "blockNumber": "0x3",
        "blockHash": "0x" + "03" * 32,
        "transactionHash": "0x" + "67" * 32,
        "logIndex": "0x0",
    }

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        query = body["params"][0]
        start, end = int(query["fromBlock"], 16), int(query["toBlock"], 16)
        asked.append((start, end))
        logs = (
            [event, event | {"removed": True, "transactionHash": "0x" + "68" * 32}]
            if start <= 3 <= end
            else []
        )
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": logs})

    reader = JsonRpcReader("http://node.invalid")
    reader._http = httpx.Client(transport=httpx.MockTransport(answer))
    found = reader.logs(CONTRACT, [ANCHORED_TOPIC, LOG_ID], 0, 30)
    assert asked == [(0, 6), (7, 13), (14, 20), (21, 27), (28, 30)]
    assert [(log.block_number, log.tx_hash, log.topics[2]) for log in found] == [
        (3, b"\x67" * 32, _word(5))
    ]


@pytest.mark.parametrize(
    ("chain", "words"),
    [
        (
            FakeChain([100, 256], missing_events={100}),
            (
                "anchor #1 (tree size 256, block 4) extends tree"
                " size 100, but the anchor before it has size 0"
            ),
        ),
        (
            FakeChain([100, 256], info=LogInfo(SIGNER, SIGNER, 300, False, 0)),
            (
                "the contract's latest anchor has tree size 300, but"
                " the Anchored events from block 2 end at size 256"
            ),
        ),
        (
            FakeChain([100, 256], roots={256: b"\x01" * 32}),
            "anchor #2 (tree size 256, block 4): the event says root 0x0101",
        ),
        (
            FakeChain([100, 256], prev_sizes={256: 50}),
            "extends tree size 50, but the anchor before it has size 100",
        ),
        (FakeChain([256, 100]), "anchor #2 (tree size 100, block 4) does not grow the log"),
        (
            FakeChain([100, 256], reorganised={4}),
            "anchor #2 (tree size 256, block 4): block 4 is not on the chain any more",
        ),
    ],
)
def test_a_broken_anchor_history_is_named(chain: FakeChain, words: str) -> None:
    with pytest.raises(AuditError) as caught:
        read_anchors(chain, IDENTITY)
    assert caught.value.check == "anchors" and words in caught.value.message, caught.value.message


def test_only_the_pinned_log_is_audited() -> None:
    """The identity says which contract, log and log key count: anything else is refused."""
    with pytest.raises(AuditError, match="contract: no contract at 0x1212"):
        read_anchors(FakeChain([1]), dataclasses.replace(IDENTITY, log_anchor=b"\x12" * 20))
    with pytest.raises(
        AuditError, match="contract: code that is not the LogAnchor model-ledger ships at 0x5fbd"
    ):
        read_anchors(
            FakeChain([1], code_at=shipped_contract("LicenceRegistry").runtime_code), IDENTITY
        )
    with pytest.raises(AuditError, match="log: the LogAnchor at 0x5fbd.* knows no log 0xffff"):
        read_anchors(FakeChain([1]), dataclasses.replace(IDENTITY, log_id=b"\xff" * 32))
    with pytest.raises(
        AuditError,
        match=(
            f"log: log 0x{LOG_ID.hex()} is anchored with log key"
            f" 0x{'22' * 20}, but the pinned identity names 0x{'4c' * 20}"
        ),
    ):
        read_anchors(FakeChain([1], info=LogInfo(b"\x22" * 20, SIGNER, 1, False, 0)), IDENTITY)
    with pytest.raises(
        AuditError,
        match=(
            "chain id: the node at memory serves chain id 31337; the pinned log is on chain id 10"
        ),
    ):
        read_anchors(FakeChain([1]), dataclasses.replace(IDENTITY, chain_id=10))


def test_a_retired_log_is_audited_up_to_its_trusted_size() -> None:
    """After its log key leaked the admin retired the log, trusting it up to size 256:
    later anchors (whoever signed them) are read, checked to extend the history, and not
    audited."""
    found = read_anchors(
        FakeChain([100, 256, 600], info=LogInfo(SIGNER, SIGNER, 600, True, 256)), IDENTITY
    )
    assert (
        [a.size for a in found.anchors] == [100, 256]
        and found.ignored == 1
        and found.info.trusted_size == 256
    )


# -- whole exports --------------------------------------------------------------------------


def write_export(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def run_audit(
    path: Path,
    sizes: list[int],
    workers: int = 0,
    index_roots: dict[int, bytes] | None = None,
    leaves: list[bytes] = LEAVES,
) -> AuditResult:
    result = AuditResult(IDENTITY, "memory", str(path))
    chain = FakeChain(sizes, index_roots=index_roots or {}, leaves=leaves)
    result.anchors = read_anchors(chain, IDENTITY).anchors
    return audit_export(path, result, workers=workers)


def index_roots(
    sizes: list[int], leave_out: int | None = None, entries: list[Any] = ENTRIES
) -> dict[int, bytes]:
    """R(S) at `sizes` of the index of `entries` (with entry `leave_out` filed under no
    key, as a false index would)."""
    builder = IndexBuilder()
    roots = {}
    for i, entry in enumerate(entries[: max(sizes)]):
        builder.add(i, [] if i == leave_out else record_keys(json.loads(entry.canonical)))
        if i + 1 in sizes:
            roots[i + 1] = builder.seal()
    return roots


LINES = [export_line(i, entry.canonical) for i, entry in enumerate(ENTRIES)]


def test_a_whole_export_passes(tmp_path: Path) -> None:
    done = run_audit(write_export(tmp_path / "e.ndjson", LINES), [100, 256, 500])
    assert (
        done.passed
        and done.entries == 600
        and done.roots_matched == 3
        and done.anchored_size == 500
    )
    assert done.kinds == {"interaction": 600} and done.export_sha256
    summary = done.as_json()
    assert summary["unanchored_entries"] == 100 and summary["first_anchor"]["tree_size"] == 100
    assert (
        summary["log"] == IDENTITY.as_json()
        and summary["contract"] == "0x" + CONTRACT.hex()
        and summary["retired"] is None
    )
    unproven = run_audit(write_export(tmp_path / "e.ndjson", LINES), [])
    assert (
        not unproven.passed
        and unproven.failure is not None
        and unproven.failure.check == "nothing proven"
    )
    assert (
        "no anchor of the pinned log covers any of the export's 600 entries"
        in unproven.failure.message
    )
    empty = run_audit(write_export(tmp_path / "empty.ndjson", []), [])
    assert empty.failure is not None and empty.failure.check == "nothing proven"


@pytest.mark.parametrize(
    ("alter", "check", "words", "where"),
    [
        (
            lambda ls: ls.pop(300),
            "sequence",
            (
                "leaf index 300 is missing from line 301, which"
                " holds leaf index 301; it was deleted or moved"
            ),
            (301, 300),
        ),
        (
            lambda ls: ls.insert(43, ls[42]),
            "sequence",
            (
                "line 44 holds leaf index 42 again (already on"
                " line 43), after leaf index 42: a duplicated line"
            ),
            (44, 42),
        ),
        (
            lambda ls: ls.insert(90, ls.pop(80)),
            "sequence",
            (
                "leaf index 80 is missing from line 81, which holds"
                " leaf index 81; it is on line 91: a moved line"
            ),
            (81, 80),
        ),
        (
            lambda ls: ls.insert(95, ls[20]),
            "sequence",
            "line 96 holds leaf index 20 again (already on line 21), after leaf index 94",
            (96, 20),
        ),
        (
            lambda ls: ls.pop(0),
            "sequence",
            "line 1 holds leaf index 1: an audit needs the export from leaf index 0",
            (1, 0),
        ),
        (lambda ls: ls.__setitem__(7, b"\n"), "line", "line 8: empty line", (8, None)),
        (
            lambda ls: ls.__setitem__(7, ls[7].replace(b'"v":1', b'"v":3')),
            "record",
            "line 8 (leaf index 7): not a valid v1 or v2 record",
            (8, 7),
        ),
        (  # relabelled v2: a valid record, with another leaf
            lambda ls: ls.__setitem__(7, ls[7].replace(b'"v":1', b'"v":2')),
            "root",
            "the export's first 100 entries have root",
            (None, None),
        ),
        (
            lambda ls: ls.__setitem__(7, ls[7].replace(b'{"body"', b'{"extra":1,"body"')),
            "record",
            "unknown field",
            (8, 7),
        ),
    ],
)
def test_line_alterations_are_named(
    tmp_path: Path, alter: Any, check: str, words: str, where: tuple[int, int | None]
) -> None:
    lines = list(LINES)
    alter(lines)
    done = run_audit(write_export(tmp_path / "e.ndjson", lines), [100, 256, 600])
    assert not done.passed and done.failure is not None
    assert done.failure.check == check and words in done.failure.message, done.failure.message
    assert (done.failure.line, done.failure.leaf_index) == where


@pytest.mark.parametrize(
    ("index", "anchor", "start"), [(5, 1, 0), (100, 2, 100), (255, 2, 100), (256, 3, 256)]
)
def test_an_edited_record_is_named_by_its_anchor_and_range(
    tmp_path: Path, index: int, anchor: int, start: int
) -> None:
    lines = list(LINES)
    record = json.loads(ENTRIES[index].canonical)
    record["body"]["output_tokens"] += 1
    lines[index] = export_line(index, parse_object(record).canonical)
    done = run_audit(write_export(tmp_path / "e.ndjson", lines), [100, 256, 600])
    failure = done.failure
    assert failure is not None and failure.check == "root" and failure.anchor is not None
    assert failure.anchor.number == anchor and done.roots_matched == anchor - 1
    assert failure.index_range == (start, failure.anchor.size)
    assert (
        f"an entry among leaf indices {start:,} to {failure.anchor.size - 1:,} was altered"
        in failure.message
    )


def test_edits_after_the_newest_anchor_are_not_roots_but_lines_still_count(tmp_path: Path) -> None:
    lines = list(LINES)
    record = json.loads(ENTRIES[550].canonical)
    record["body"]["output_tokens"] += 1
    lines[550] = export_line(550, parse_object(record).canonical)
    assert run_audit(
        write_export(tmp_path / "e.ndjson", lines), [100, 500]
    ).passed  # nothing anchors it yet
    truncated = run_audit(write_export(tmp_path / "t.ndjson", LINES[:480]), [100, 500])
    assert truncated.failure is not None and truncated.failure.check == "export end"
    assert (
        truncated.failure.index_range == (480, 500)
        and "leaf indices 480 to 499 are missing" in truncated.failure.message
    )


def test_worker_processes_find_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks are cut at line ends and checked by workers; results come back in order."""
    import ledger.verify.audit

    monkeypatch.setattr(ledger.verify.audit, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(ledger.verify.audit, "CHUNK_BYTES", 4096)
    path = write_export(tmp_path / "e.ndjson", LINES)
    done = run_audit(path, [100, 256, 600], workers=2)
    assert done.passed and done.entries == 600 and done.roots_matched == 3
    in_process = run_audit(path, [100, 256, 600], workers=0)
    assert in_process.export_sha256 == done.export_sha256
    lines = list(LINES)
    lines.insert(333, lines[332])
    done = run_audit(write_export(tmp_path / "d.ndjson", lines), [100, 256, 600], workers=2)
    assert done.failure is not None and (done.failure.line, done.failure.leaf_index) == (334, 332)


def test_signed_index_roots_are_rederived_from_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anchors that signed an index root have it recomputed from the records (in worker
    processes too); the first anchor predates the index (zero) and is skipped."""
    import ledger.verify.audit

    path = write_export(tmp_path / "e.ndjson", LINES)
    signed = index_roots([256, 600])
    done = run_audit(path, [100, 256, 600], index_roots=signed)
    assert done.passed and done.index_roots_matched == 2 and done.roots_matched == 3
    assert done.as_json()["index_roots_matched"] == 2
    monkeypatch.setattr(ledger.verify.audit, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(ledger.verify.audit, "CHUNK_BYTES", 4096)
    assert run_audit(path, [100, 256, 600], workers=2, index_roots=signed).index_roots_matched == 2


def test_a_false_signed_index_fails_by_name(tmp_path: Path) -> None:
    """The log key signed an index leaving entry 300 out of its keys: the entries match
    every anchored root, the index root of size 600 does not."""
    path = write_export(tmp_path / "e.ndjson", LINES)
    false = {**index_roots([256]), **index_roots([600], leave_out=300)}
    done = run_audit(path, [100, 256, 600], index_roots=false)
    assert done.failure is not None and done.failure.check == "index root"
    assert done.roots_matched == 3 and done.index_roots_matched == 1
    assert "but the log key signed index root" in done.failure.message
    assert "anchor #3 (tree size 600, block 5)" in done.failure.message


# -- erased entries (docs/privacy.md) ------------------------------------------------------


def erased_keys(entry: Any) -> tuple[bytes, ...]:
    """The key hashes an erased line of `entry` carries, in increasing order."""
    return tuple(sorted(key_hash(key) for key in record_keys(json.loads(entry.canonical))))


def test_erased_lines_round_trip_and_keep_the_leaf_hash() -> None:
    by = parse_object({"v": 1, "kind": "digest", "body": {"sha256": "ab" * 32}}).leaf_hash
    keys = erased_keys(ENTRIES[1])
    mark = Erased(LEAVES[1], "2026-12-02T00:41:21.354Z", by, keys)
    line = export_line(1, mark)
    assert json.loads(line) == {
        "erased": {
            "at": mark.erased_at,
            "by": "0x" + by.hex(),
            "keys": ["0x" + key.hex() for key in keys],
            "leaf_hash": "0x" + LEAVES[1].hex(),
        },
        "leaf_index": 1,
    }
    assert parse_erased_line(line[:-1]) == (1, mark)
    # The writer puts the keys in order whatever order it is given them in.
    assert export_line(1, dataclasses.replace(mark, key_hashes=keys[::-1])) == line
    assert parse_erased_line(export_line(4, Erased(LEAVES[4], mark.erased_at, by))[:-1]) == (
        4,
        Erased(LEAVES[4], mark.erased_at, by, ()),
    )
    swapped = line.replace(keys[0].hex().encode(), b"k" * 64).replace(
        keys[1].hex().encode(), keys[0].hex().encode()
    )
    swapped = swapped.replace(b"k" * 64, keys[1].hex().encode())
    with pytest.raises(ExportLineError, match="distinct and in increasing order"):
        parse_erased_line(swapped[:-1])
    three = line.replace(b'"keys":[', b'"keys":["0x' + b"00" * 32 + b'",')
    for bad in (
        line[:-1].replace(b'"at"', b'"when"'),
        line[:-1].replace(b"2026-12-02", b"2026-13-02"),
        line[:-1].replace(b'"leaf_index":1', b'"leaf_index":01'),
        line[:-1].replace(b"0x", b"0X", 1),
        line[:-1].replace(b'"keys":[', b'"keys":["0x12",'),
        line[:-1].replace(b'"keys"', b'"key"'),
        three[:-1],  # more keys than any entry is filed under
        json.dumps(json.loads(line)).encode(),  # spaces: not the canonical form
    ):
        with pytest.raises(ExportLineError, match="not an erased entry's export line"):
            parse_erased_line(bad)
    # In a chunk: the leaf hash enters the tree as given; the digest record is known.
    digest = parse_object({"v": 1, "kind": "digest", "body": {"sha256": "ab" * 32}})
    lines = [
        export_line(0, ENTRIES[0].canonical)[:-1],
        line[:-1],
        export_line(2, digest.canonical)[:-1],
    ]
    done = check_lines(lines, 1)
    assert done.failure is None and done.hashes == [LEAVES[0], LEAVES[1], digest.leaf_hash]
    assert done.erased_by == {by: (1, 2)} and done.digests == {digest.leaf_hash}
    assert done.kinds == {"interaction": 1, "digest": 1} and done.first_erased == 1
    # With keys: the record's keys hashed, the erased line's as given, none for a digest.
    assert check_lines(lines, 1, with_keys=True).keys == [
        [key_hash(key) for key in record_keys(json.loads(ENTRIES[0].canonical))],
        list(keys),
        [],
    ]
    broken = check_lines([line[:-1].replace(b'"by"', b'"By"')], 1)
    assert broken.failure is not None and broken.failure[2] == "line"


ERASED_AT = "2026-12-02T01:00:00.000Z"


def erasure_of(
    erased: set[int], count: int | None = None, shift: int | None = None
) -> tuple[Any, bytes]:
    """The digest record that logs the erasure of the entries `erased` of ENTRIES, and
    its statement's canonical bytes (`count` overrides the count it states; with
    `shift`, it gives a leaves root, of the leaf indices moved by `shift`)."""
    statement = erasure_statement(
        "leaves",
        "ticket 77",
        len(erased) if count is None else count,
        leaves_digest(ENTRIES[i].leaf_hash for i in sorted(erased)),
        ERASED_AT,
        root=None
        if shift is None
        else leaves_root((i + shift, ENTRIES[i].leaf_hash) for i in sorted(erased)),
    )
    record = parse_object(
        {"v": 1, "kind": "digest", "body": {"sha256": statement_sha256(statement)}}
    )
    return record, statement_bytes(statement)


def erased_log(erased: set[int], **claim: Any) -> tuple[list[Any], list[bytes]]:
    """A log of 600 entries, the last the erasure's digest record (with its statement),
    and its export with the entries `erased` erased (their keys' hashes in their lines)."""
    erasure, statement = erasure_of(erased, **claim)
    entries = [*ENTRIES[:599], erasure]
    lines = [
        export_line(i, Erased(entry.leaf_hash, ERASED_AT, erasure.leaf_hash, erased_keys(entry)))
        if i in erased
        else export_line(i, entry.canonical)
        for i, entry in enumerate(entries)
    ]
    lines[599] = export_line(599, Logged(erasure.canonical, statement))
    return entries, lines


def test_an_export_with_erased_entries_rederives_every_index_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Erased entries enter the tree by their leaf hashes and the index by the key
    hashes their lines carry: every root and index root still matches (in worker
    processes too), and the audit counts them and their erasure record."""
    import ledger.verify.audit

    erased = {0, 5, 150, 300, 598}
    entries, lines = erased_log(erased)
    leaves = [entry.leaf_hash for entry in entries]
    signed = index_roots([256, 600], entries=entries)
    path = write_export(tmp_path / "e.ndjson", lines)
    done = run_audit(path, [100, 256, 600], index_roots=signed, leaves=leaves)
    assert done.passed, done.failure
    assert (done.roots_matched, done.index_roots_matched) == (3, 2)
    assert (done.erased, done.erasures) == (5, 1)
    assert done.kinds == {"interaction": 594, "digest": 1}
    monkeypatch.setattr(ledger.verify.audit, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(ledger.verify.audit, "CHUNK_BYTES", 4096)
    parallel = run_audit(path, [100, 256, 600], workers=2, index_roots=signed, leaves=leaves)
    assert parallel.passed and parallel.index_roots_matched == 2 and parallel.erased == 5
    # A statement with a leaves root (each erased entry's leaf index and leaf hash), its
    # tree folded across the workers' chunks.
    entries, lines = erased_log(erased, shift=0)
    rooted = write_export(tmp_path / "r.ndjson", lines)
    leaves = [entry.leaf_hash for entry in entries]
    signed = index_roots([256, 600], entries=entries)
    for workers in (1, 2):
        done = run_audit(
            rooted, [100, 256, 600], workers=workers, index_roots=signed, leaves=leaves
        )
        assert done.passed, done.failure


def test_an_erased_line_with_other_keys_fails_the_index_root(tmp_path: Path) -> None:
    """The leaf hash of an erased line vouches for nothing but itself: its keys are
    checked by the index roots. Another account's key (or none) in entry 150's line
    leaves every tree root matching and fails the index root of the next signed anchor;
    an erasure naming no logged record fails by name."""
    entries, lines = erased_log({150})
    leaves = [entry.leaf_hash for entry in entries]
    signed = index_roots([256, 600], entries=entries)
    keys = erased_keys(ENTRIES[150])
    other = tuple(sorted({*keys, *erased_keys(ENTRIES[151])} - {keys[0]}))[:2]
    assert other != keys
    for forged in (other, keys[:1], ()):
        tampered = list(lines)
        tampered[150] = export_line(
            150, Erased(LEAVES[150], ERASED_AT, entries[-1].leaf_hash, forged)
        )
        path = write_export(tmp_path / "t.ndjson", tampered)
        done = run_audit(path, [100, 256, 600], index_roots=signed, leaves=leaves)
        assert done.failure is not None and done.failure.check == "index root", done.failure
        assert done.roots_matched == 2 and done.index_roots_matched == 0
        assert "anchor #2 (tree size 256, block 4)" in done.failure.message
        assert "or an erased entry's line carries other key hashes" in done.failure.message
        assert "the first is at leaf index 150" in done.failure.message
    unlogged = list(lines)
    unlogged[150] = export_line(
        150, Erased(LEAVES[150], "2026-12-02T01:00:00.000Z", b"\x07" * 32, keys)
    )
    path = write_export(tmp_path / "u.ndjson", unlogged)
    done = run_audit(path, [100, 256, 600], index_roots=signed, leaves=leaves)
    assert done.failure is not None and done.failure.check == "erasure"
    assert "line 151: the entry was erased by record 0x0707" in done.failure.message
    # Without erased entries, the message blames the signed index alone.
    clean = run_audit(
        write_export(tmp_path / "c.ndjson", LINES),
        [100, 256, 600],
        index_roots={**index_roots([256]), **index_roots([600], leave_out=300)},
    )
    assert clean.failure is not None and "erased" not in clean.failure.message


def test_a_statement_line_round_trips_and_is_checked() -> None:
    """A digest record that logs a statement carries it after the record; the line
    parses back to both, a record with a metadata key named "statement" is not taken
    for one, and a statement its record does not commit to fails check `statement`."""
    erasure, statement = erasure_of({1, 2})
    line = export_line(7, Logged(erasure.canonical, statement))[:-1]
    assert line == b'{"leaf_index":7,"record":%s,"statement":%s}' % (erasure.canonical, statement)
    assert parse_logged_line(line) == (7, erasure.canonical, statement)
    assert parse_export_line(line) == (7, erasure.canonical)
    record = dict(json.loads(ENTRIES[3].canonical))
    record["body"] = {**record["body"], "metadata": {"a": ',"statement":{}', "statement": "{}"}}
    tricky = parse_object(record)
    plain = export_line(3, tricky.canonical)[:-1]
    assert parse_logged_line(plain) == (3, tricky.canonical, None)
    assert check_lines([plain], 1).failure is None
    hold = statement_bytes(
        hold_statement("hold-1", "account", b"\x05" * 32, "litigation", ERASED_AT)
    )
    for bad, what in (
        (export_line(7, Logged(erasure.canonical, hold))[:-1], "statement"),
        (export_line(3, Logged(ENTRIES[3].canonical, statement))[:-1], "statement"),
        (line.replace(b'"count":2', b'"count":3'), "statement"),
    ):
        done = check_lines([bad], 1)
        assert done.failure is not None and done.failure[2] == what, (bad, done.failure)
        assert "not the one the log logged" in done.failure[3]
    good = check_lines([line], 1)
    assert good.failure is None and good.statements == 1
    assert good.claims[erasure.leaf_hash].count == 2


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("count", "logs the erasure of 3 entries"),
        ("unmarked", "the export marks 4 entries erased by it"),
        ("extra", "the export marks 6 entries erased by it"),
        ("shown", "the export marks 4 entries erased by it"),
        ("at", "was made at 2026-12-02T01:00:00.000Z"),
        ("hold", "carries no erasure statement: no logged erasure covers it"),
        ("after", "an erasure erases only entries logged before its record"),
        ("bare", "carries no erasure statement: no logged erasure covers it"),
        ("twice", "which is at leaf index 200: an erasure erases only entries logged before"),
        ("root", "an entry erased by it is at another leaf index"),
    ],
)
def test_erasure_statements_are_recomputed_from_the_markers(
    tmp_path: Path, change: str, words: str
) -> None:
    """What a logged erasure commits to (its count, and SHA-256 of its erased leaf
    hashes in leaf index order) is recomputed from the lines marked erased by it: an
    entry marked erased that it did not erase, one it erased shown with its record, a
    wrong time, a marker naming a digest record of another statement, or one after its
    record, fails check `erasure` naming the line."""
    erased = {0, 5, 150, 300, 598}
    entries, lines = erased_log(erased)
    leaves = [entry.leaf_hash for entry in entries]
    erasure = entries[-1]
    marker = Erased(LEAVES[7], ERASED_AT, erasure.leaf_hash, erased_keys(ENTRIES[7]))
    if change == "count":  # the statement claims more than the export marks
        entries, lines = erased_log(erased, count=3)
        leaves = [entry.leaf_hash for entry in entries]
    elif change == "root":  # the statement's leaves root binds other leaf indices
        entries, lines = erased_log(erased, shift=1)
        leaves = [entry.leaf_hash for entry in entries]
    elif change == "unmarked":  # a marker removed, and the record shown
        lines[150] = export_line(150, ENTRIES[150].canonical)
    elif change == "extra":  # a live entry marked erased by it
        lines[7] = export_line(7, marker)
    elif change == "shown":  # a marker turned into another entry's line
        lines[300] = export_line(300, ENTRIES[300].canonical)
    elif change == "at":
        lines[5] = export_line(
            5,
            dataclasses.replace(
                marker,
                leaf_hash=LEAVES[5],
                erased_at="2026-12-03T00:00:00.000Z",
                key_hashes=erased_keys(ENTRIES[5]),
            ),
        )
    elif change == "hold":  # a digest record logging a hold, named by an erased line
        hold = statement_bytes(
            hold_statement("hold-1", "account", b"\x05" * 32, "litigation", ERASED_AT)
        )
        held = parse_object({"v": 1, "kind": "digest", "body": {"sha256": sha256_hex(hold)}})
        entries[598] = held
        leaves = [entry.leaf_hash for entry in entries]
        lines[598] = export_line(598, Logged(held.canonical, hold))
        lines[7] = export_line(7, dataclasses.replace(marker, erased_by=held.leaf_hash))
    elif change == "after":  # the erasure record before an entry it erased
        entries[598], entries[599] = entries[599], entries[598]
        leaves = [entry.leaf_hash for entry in entries]
        lines[598] = lines[599].replace(b'"leaf_index":599', b'"leaf_index":598')
        lines[599] = export_line(
            599, Erased(LEAVES[598], ERASED_AT, erasure.leaf_hash, erased_keys(ENTRIES[598]))
        )
    elif change == "bare":  # the erasure's record exported without its statement
        lines[599] = export_line(599, erasure.canonical)
    elif change == "twice":  # the same erasure record logged at 200 too: it counts there
        entries[200] = erasure
        leaves = [entry.leaf_hash for entry in entries]
        lines[200] = lines[599].replace(b'"leaf_index":599', b'"leaf_index":200')
    path = write_export(tmp_path / "e.ndjson", lines)
    done = run_audit(path, [100, 256, 600], leaves=leaves)
    assert done.failure is not None and done.failure.check == "erasure", done.failure
    assert words in done.failure.message, done.failure.message
    assert done.failure.message.startswith("line ")


def test_statements_swapped_between_erasure_records_fail_statement(tmp_path: Path) -> None:
    """Two erasures, each logged by its own digest record: their statements swapped
    between the two lines fail check ``statement`` at the first (neither record's sha256
    is the other's statement's)."""
    first, first_statement = erasure_of({5})
    second, second_statement = erasure_of({7, 9})
    entries = [*ENTRIES[:598], first, second]
    lines = [
        export_line(i, Erased(entry.leaf_hash, ERASED_AT, erasure.leaf_hash, erased_keys(entry)))
        if (erasure := first if i == 5 else second if i in (7, 9) else None) is not None
        else export_line(i, entry.canonical)
        for i, entry in enumerate(entries)
    ]
    leaves = [entry.leaf_hash for entry in entries]
    lines[598] = export_line(598, Logged(first.canonical, first_statement))
    lines[599] = export_line(599, Logged(second.canonical, second_statement))
    assert run_audit(write_export(tmp_path / "e.ndjson", lines), [600], leaves=leaves).passed
    lines[598] = export_line(598, Logged(first.canonical, second_statement))
    lines[599] = export_line(599, Logged(second.canonical, first_statement))
    done = run_audit(write_export(tmp_path / "s.ndjson", lines), [600], leaves=leaves)
    assert done.failure is not None and done.failure.check == "statement", done.failure
    assert done.failure.message.startswith("line 599 (leaf index 598): the line carries")


def test_a_line_longer_than_any_record_is_not_read_whole(tmp_path: Path) -> None:
    """An export whose first line runs on for megabytes (a hostile export, or a file
    that is not one) fails check ``line`` after MAX_LINE_BYTES + 1 bytes of it: the
    audit neither holds the rest in memory nor copies it over and over (quadratic in
    the line's length), with or without worker processes."""
    path = tmp_path / "long.ndjson"
    with path.open("wb") as handle:
        handle.write(b'{"leaf_index":0,"record":{"x":"' + b"a" * (6 << 20) + b'"}}\n')
        handle.write(LINES[1])
    for workers in (0, 2):
        checked: list[int] = []
        result = AuditResult(IDENTITY, "memory", str(path))
        result.anchors = read_anchors(FakeChain([2]), IDENTITY).anchors
        done = audit_export(
            path, result, workers=workers, progress=lambda size, _, seen=checked: seen.append(size)
        )
        assert done.failure is not None and done.failure.check == "line", done.failure
        assert done.failure.message == (
            f"line 1: line is longer than {MAX_LINE_BYTES} bytes, the most a record and its"
            " statement take"
        )
        assert sum(checked) <= MAX_LINE_BYTES + CHUNK_BYTES  # not the 6 MiB line


def test_erasure_records_after_the_newest_anchor_are_counted(tmp_path: Path) -> None:
    """An erasure whose record lies after the newest anchor passes (its markers and
    statement agree), but the audit says how many such records no anchored root vouches
    for yet; once an anchor covers the record, none."""
    entries, lines = erased_log({0, 5, 150})
    leaves = [entry.leaf_hash for entry in entries]
    path = write_export(tmp_path / "e.ndjson", lines)
    early = run_audit(path, [100, 256], leaves=leaves)
    assert early.passed and (early.erasures, early.unanchored_erasures) == (1, 1)
    assert early.as_json()["unanchored_erasure_records"] == 1
    covered = run_audit(path, [100, 600], leaves=leaves)
    assert covered.passed and (covered.erasures, covered.unanchored_erasures) == (1, 0)


def test_a_statement_record_without_its_statement_fails_statement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A digest record with the salt of the log's own statement records (`statement_salt`)
    must carry its statement: an export that withholds it (an erasure a document proves
    markers with, hidden from the audit) fails check statement at that line, in worker
    processes too; the same record with its statement passes, and a digest record of the
    same statement with another salt is an ordinary digest record."""
    _, statement = erasure_of({1})
    sha256 = hashlib.sha256(statement).hexdigest()
    record = {"v": 1, "kind": "digest", "ts": ERASED_AT, "body": {"sha256": sha256}}
    marked = parse_object({**record, "salt": statement_salt(sha256)})
    other = parse_object({**record, "salt": "ab" * 16})
    withheld = check_lines([export_line(4, marked.canonical)[:-1]], 9)
    assert withheld.failure == (9, 4, "statement", WITHHELD)
    assert check_lines([export_line(4, other.canonical)[:-1]], 9).failure is None
    carried = check_lines([export_line(4, Logged(marked.canonical, statement))[:-1]], 9)
    assert carried.failure is None and carried.statements == 1
    entries = [*ENTRIES[:299], marked, *ENTRIES[300:400]]
    lines = [export_line(i, entry.canonical) for i, entry in enumerate(entries)]
    path = write_export(tmp_path / "withheld.ndjson", lines)
    leaves = [entry.leaf_hash for entry in entries]
    monkeypatch.setattr(ledger.verify.audit, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(ledger.verify.audit, "CHUNK_BYTES", 4096)
    for workers in (1, 2):
        done = run_audit(path, [400], workers=workers, leaves=leaves)
        assert done.failure is not None and done.failure.check == "statement", done.failure
        assert done.failure.line == 300 and "withholds a statement" in done.failure.message


def _held_export(
    tmp_path: Path, events: dict[int, dict[str, Any] | None]
) -> tuple[Path, list[bytes], bytes]:
    """The export of `erased_log` (entries 5 and 150 erased by the record at 599) with
    the lines at the indices of `events` replaced by digest records logging those hold or
    lift statements (None: a copy of the erasure's record, with its statement); its
    leaves, and the account key hash of the erased entry 150."""
    entries, lines = erased_log({5, 150})
    for index, statement in events.items():
        if statement is None:
            _, record_bytes, said = parse_logged_line(lines[599][:-1])
            entries[index] = entries[599]
            lines[index] = export_line(index, Logged(record_bytes, said or b""))
            continue
        logged = statement_bytes(statement)
        record = parse_object({"v": 1, "kind": "digest", "body": {"sha256": sha256_hex(logged)}})
        entries[index] = record
        lines[index] = export_line(index, Logged(record.canonical, logged))
    account = key_hash("account:" + json.loads(ENTRIES[150].canonical)["body"]["account_id"])
    path = write_export(tmp_path / f"held-{len(events)}-{min(events)}.ndjson", lines)
    return path, [entry.leaf_hash for entry in entries], account


def _hold(hold_id: str, key: bytes) -> dict[str, Any]:
    return hold_statement(hold_id, "account", key, "case 9", ERASED_AT)


def _lift(hold_id: str) -> dict[str, Any]:
    return lift_statement(hold_id, "closed", ERASED_AT)


def test_holds_are_checked_across_worker_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Check hold, with the hold, its lifts and the erasure in different worker chunks:
    an erasure after a hold of the erased entry's key and before its first lift fails; a
    lift before the erasure, a hold after it, another key's hold, a lift of an unknown
    hold, a hold naming no key (as before holds named one) pass; a lift logged before
    its hold does not lift it; when a hold id is logged twice, each hold is lifted by the
    first lift after it; a key hash in capitals fails check line."""
    monkeypatch.setattr(ledger.verify.audit, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(ledger.verify.audit, "CHUNK_BYTES", 4096)
    key = key_hash("account:" + json.loads(ENTRIES[150].canonical)["body"]["account_id"])
    other = b"\x07" * 32
    cases: list[tuple[dict[int, dict[str, Any] | None], str | None]] = [
        ({200: _hold("h", key)}, "hold"),
        ({200: _hold("h", key), 300: _lift("h")}, None),
        ({200: _hold("h", key), 300: _lift("x")}, "hold"),
        ({200: _hold("h", other)}, None),
        ({200: _lift("h"), 300: _hold("h", key)}, "hold"),
        ({200: _hold("h", key), 300: _lift("h"), 400: _hold("h", key)}, "hold"),
        (
            {160: _hold("h", key), 200: _lift("h"), 300: _hold("h", key), 400: _lift("h")},
            None,
        ),
        ({100: _hold("h", key), 200: _lift("h"), 300: _hold("h", other)}, None),
        # The erasure's record logged again: it erased at its first line, so a hold
        # between the two copies did not hold what it took, and one before both did.
        ({160: None, 200: _hold("h", key)}, None),
        ({155: _hold("h", key), 160: None}, "hold"),
    ]
    for events, check in cases:
        path, leaves, _ = _held_export(tmp_path, events)
        for workers in (1, 2):
            done = run_audit(path, [600], workers=workers, leaves=leaves)
            found = None if done.failure is None else done.failure.check
            assert found == check, (events, workers, done.failure)
            if check == "hold":
                assert done.failure is not None and done.failure.line == 151
    keyless = _hold("h", key)
    del keyless["key_sha256"]
    path, leaves, _ = _held_export(tmp_path, {200: keyless})
    done = run_audit(path, [600], workers=2, leaves=leaves)
    assert done.passed and (done.holds, done.keyless_holds) == (0, 1), done.failure
    assert done.as_json()["legal_holds_without_key"] == 1
    upper = {**_hold("h", key), "key_sha256": key.hex().upper()}
    path, leaves, _ = _held_export(tmp_path, {200: upper})
    done = run_audit(path, [600], workers=2, leaves=leaves)
    assert done.failure is not None and done.failure.check == "line", done.failure
    assert "key_sha256 (64 lowercase hex)" in done.failure.message
