"""The audit's pure parts: the compact range against the reference tree, the export line
format, the anchor history read from a chain faked in memory, and whole exports
(in-process and with worker processes) altered line by line."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak

from ledger.audit import (
    ANCHORED_TOPIC,
    AuditError,
    AuditResult,
    CompactRange,
    audit_export,
    check_lines,
    read_anchors,
)
from ledger.export import ExportLineError, export_line, parse_export_line
from ledger.merkle import EMPTY_ROOT, root_hash
from ledger.records import parse_object
from ledger.verify import ANCHORED_TOPIC as VERIFY_TOPIC
from ledger.verify import LATEST_SELECTOR, ChainAnchor, ContractCallError
from tests.factories import interaction
from tests.merkle.reference import mth

CONTRACT = bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")
LOG_ID = bytes(range(32))
ENTRIES = [parse_object(interaction(i, seed=9)) for i in range(600)]
LEAVES = [entry.leaf_hash for entry in ENTRIES]


def test_topics_and_selectors_are_the_contracts() -> None:
    assert ANCHORED_TOPIC == VERIFY_TOPIC == keccak(text="Anchored(bytes32,uint64,bytes32,uint64)")
    assert LATEST_SELECTOR == keccak(text="latest(bytes32)")[:4]


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


# -- the export line format ---------------------------------------------------------------


def test_export_lines_round_trip_and_are_canonical() -> None:
    entry = ENTRIES[3]
    line = export_line(3, entry.canonical)
    assert line.endswith(b"\n") and json.loads(line) == {"leaf_index": 3, "record": json.loads(entry.canonical)}
    assert parse_export_line(line[:-1]) == (3, entry.canonical)
    # The same two fields laid out another way are not the export's canonical form.
    loose = json.dumps({"record": json.loads(entry.canonical), "leaf_index": 3}).encode()
    with pytest.raises(ExportLineError, match="leaf index 3: the line is not in the export's canonical form"):
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
        (b"x" * 20_000, "the longest record allows"),
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


@dataclass
class FakeChain:
    """LogAnchor's events and views, in memory: anchors at `sizes` of LEAVES."""

    sizes: list[int]
    where: str = "memory"
    prev_sizes: dict[int, int] = field(default_factory=dict)
    roots: dict[int, bytes] = field(default_factory=dict)
    missing_events: set[int] = field(default_factory=set)
    latest_size: int | None = None
    chunks: list[tuple[int, int]] = field(default_factory=list)

    def chain_id(self) -> int:
        return 31337

    def code(self, address: bytes) -> bytes:
        return b"\x60" if address == CONTRACT else b""

    def block_number(self) -> int:
        return 30

    def root(self, size: int) -> bytes:
        return self.roots.get(size, root_hash(LEAVES[:size]))

    def latest(self, contract: bytes, log_id: bytes) -> tuple[int, Any]:
        if log_id != LOG_ID:
            raise ContractCallError("latest reverted: 'LogAnchorUnknownLog'")
        size = (self.sizes[-1] if self.sizes else 0) if self.latest_size is None else self.latest_size
        return size, ChainAnchor(self.root(size), 0, 0)

    def anchored_at_many(self, contract: bytes, log_id: bytes, sizes: list[int]) -> list[ChainAnchor | None]:
        block = {size: 3 + n for n, size in enumerate(self.sizes)}
        return [ChainAnchor(root_hash(LEAVES[:s]), block[s], 1_780_000_000 + s) if s in block else None for s in sizes]

    def logs(self, address: bytes, topics: list[bytes], from_block: int, to_block: int) -> list[dict[str, Any]]:
        self.chunks.append((from_block, to_block))
        found = []
        previous = 0
        for n, size in enumerate(self.sizes):
            block = 3 + n
            if from_block <= block <= to_block and size not in self.missing_events:
                data = _word(size) + self.root(size) + _word(self.prev_sizes.get(size, previous))
                found.append(
                    {
                        "blockNumber": hex(block),
                        "logIndex": "0x0",
                        "blockHash": "0x" + bytes([block]).hex() * 32,
                        "transactionHash": "0x" + bytes([block + 100]).hex() * 32,
                        "data": "0x" + data.hex(),
                        "topics": ["0x" + ANCHORED_TOPIC.hex(), "0x" + LOG_ID.hex()],
                    }
                )
            previous = size
        return list(reversed(found))  # any order: the audit sorts them


def test_anchors_are_read_in_block_chunks_and_checked() -> None:
    chain = FakeChain([100, 256, 600])
    anchors = read_anchors(chain, CONTRACT, LOG_ID, block_chunk=7)
    assert [(a.number, a.size, a.prev_size, a.block_number) for a in anchors] == [(1, 100, 0, 3), (2, 256, 100, 4), (3, 600, 256, 5)]
    assert anchors[0].timestamp == 1_780_000_100 and anchors[2].root == root_hash(LEAVES)
    assert chain.chunks == [(0, 6), (7, 13), (14, 20), (21, 27), (28, 30)]
    assert read_anchors(FakeChain([]), CONTRACT, LOG_ID) == []


@pytest.mark.parametrize(
    ("chain", "words"),
    [
        (FakeChain([100, 256], missing_events={100}), "anchor #1 (tree size 256, block 4) extends tree size 100, but the anchor before it has size 0"),
        (FakeChain([100, 256], latest_size=300), "the contract's latest anchor has tree size 300, but the Anchored events from block 0 end at size 256"),
        (FakeChain([100, 256], roots={256: b"\x01" * 32}), "anchor #2 (tree size 256, block 4): the event says root 0x0101"),
        (FakeChain([100, 256], prev_sizes={256: 50}), "extends tree size 50, but the anchor before it has size 100"),
        (FakeChain([256, 100]), "anchor #2 (tree size 100, block 4) does not grow the log"),
    ],
)
def test_a_broken_anchor_history_is_named(chain: FakeChain, words: str) -> None:
    with pytest.raises(AuditError) as caught:
        read_anchors(chain, CONTRACT, LOG_ID)
    assert caught.value.check == "anchors" and words in caught.value.message, caught.value.message


def test_wrong_contract_or_log() -> None:
    with pytest.raises(AuditError, match="contract: no contract at 0x1212"):
        read_anchors(FakeChain([1]), b"\x12" * 20, LOG_ID)
    with pytest.raises(AuditError, match="log: the contract at 0x5fbd.* knows no log 0xffff"):
        read_anchors(FakeChain([1]), CONTRACT, b"\xff" * 32)


# -- whole exports --------------------------------------------------------------------------


def write_export(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def run_audit(path: Path, sizes: list[int], workers: int = 0) -> AuditResult:
    result = AuditResult(31337, "memory", CONTRACT, LOG_ID, str(path))
    result.anchors = read_anchors(FakeChain(sizes), CONTRACT, LOG_ID)
    return audit_export(path, result, workers=workers)


LINES = [export_line(i, entry.canonical) for i, entry in enumerate(ENTRIES)]


def test_a_whole_export_passes(tmp_path: Path) -> None:
    done = run_audit(write_export(tmp_path / "e.ndjson", LINES), [100, 256, 500])
    assert done.passed and done.entries == 600 and done.roots_matched == 3 and done.anchored_size == 500
    assert done.kinds == {"interaction": 600} and done.export_sha256
    summary = done.as_json()
    assert summary["unanchored_entries"] == 100 and summary["first_anchor"]["tree_size"] == 100
    assert run_audit(write_export(tmp_path / "e.ndjson", LINES), []).passed
    assert run_audit(write_export(tmp_path / "empty.ndjson", []), []).passed


@pytest.mark.parametrize(
    ("alter", "check", "words", "where"),
    [
        (lambda ls: ls.pop(300), "sequence", "leaf index 300 is missing from line 301, which holds leaf index 301; it was deleted or moved", (301, 300)),
        (lambda ls: ls.insert(43, ls[42]), "sequence", "line 44 holds leaf index 42 again (already on line 43), after leaf index 42: a duplicated line", (44, 42)),
        (lambda ls: ls.insert(90, ls.pop(80)), "sequence", "leaf index 80 is missing from line 81, which holds leaf index 81; it is on line 91: a moved line", (81, 80)),
        (lambda ls: ls.insert(95, ls[20]), "sequence", "line 96 holds leaf index 20 again (already on line 21), after leaf index 94", (96, 20)),
        (lambda ls: ls.pop(0), "sequence", "line 1 holds leaf index 1: an audit needs the export from leaf index 0", (1, 0)),
        (lambda ls: ls.__setitem__(7, b"\n"), "line", "line 8: empty line", (8, None)),
        (lambda ls: ls.__setitem__(7, ls[7].replace(b'"v":1', b'"v":2')), "record", "line 8 (leaf index 7): not a valid v1 record", (8, 7)),
        (lambda ls: ls.__setitem__(7, ls[7].replace(b'{"body"', b'{"extra":1,"body"')), "record", "unknown field", (8, 7)),
    ],
)
def test_line_alterations_are_named(tmp_path: Path, alter: Any, check: str, words: str, where: tuple[int, int | None]) -> None:
    lines = list(LINES)
    alter(lines)
    done = run_audit(write_export(tmp_path / "e.ndjson", lines), [100, 256, 600])
    assert not done.passed and done.failure is not None
    assert done.failure.check == check and words in done.failure.message, done.failure.message
    assert (done.failure.line, done.failure.leaf_index) == where


@pytest.mark.parametrize(("index", "anchor", "start"), [(5, 1, 0), (100, 2, 100), (255, 2, 100), (256, 3, 256)])
def test_an_edited_record_is_named_by_its_anchor_and_range(tmp_path: Path, index: int, anchor: int, start: int) -> None:
    lines = list(LINES)
    record = json.loads(ENTRIES[index].canonical)
    record["body"]["output_tokens"] += 1
    lines[index] = export_line(index, parse_object(record).canonical)
    done = run_audit(write_export(tmp_path / "e.ndjson", lines), [100, 256, 600])
    failure = done.failure
    assert failure is not None and failure.check == "root" and failure.anchor is not None
    assert failure.anchor.number == anchor and done.roots_matched == anchor - 1
    assert failure.index_range == (start, failure.anchor.size)
    assert f"an entry among leaf indices {start:,} to {failure.anchor.size - 1:,} was altered" in failure.message


def test_edits_after_the_newest_anchor_are_not_roots_but_lines_still_count(tmp_path: Path) -> None:
    lines = list(LINES)
    record = json.loads(ENTRIES[550].canonical)
    record["body"]["output_tokens"] += 1
    lines[550] = export_line(550, parse_object(record).canonical)
    assert run_audit(write_export(tmp_path / "e.ndjson", lines), [100, 500]).passed  # nothing anchors it yet
    truncated = run_audit(write_export(tmp_path / "t.ndjson", LINES[:480]), [100, 500])
    assert truncated.failure is not None and truncated.failure.check == "export end"
    assert truncated.failure.index_range == (480, 500) and "leaf indices 480 to 499 are missing" in truncated.failure.message


def test_worker_processes_find_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks are cut at line ends and checked by workers; results come back in order."""
    import ledger.audit

    monkeypatch.setattr(ledger.audit, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(ledger.audit, "CHUNK_BYTES", 4096)
    path = write_export(tmp_path / "e.ndjson", LINES)
    done = run_audit(path, [100, 256, 600], workers=2)
    assert done.passed and done.entries == 600 and done.roots_matched == 3
    in_process = run_audit(path, [100, 256, 600], workers=0)
    assert in_process.export_sha256 == done.export_sha256
    lines = list(LINES)
    lines.insert(333, lines[332])
    done = run_audit(write_export(tmp_path / "d.ndjson", lines), [100, 256, 600], workers=2)
    assert done.failure is not None and (done.failure.line, done.failure.leaf_index) == (334, 332)
