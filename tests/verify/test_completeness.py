"""Completeness proofs (model-ledger/completeness/v1) through the verifier: a real log of
interaction, licence and model records, its index, documents for whole keys, windows
and absent keys; every tampering fails naming its check; and against a real Anvil, the
index root must be the one the log key signed in the anchored checkpoint."""

from __future__ import annotations

import base64
import copy
import json
import random
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.chain.client import ChainClient
from ledger.chain.deployment import DeployedLog
from ledger.chain.log_anchor import LogAnchor
from ledger.core.index import (
    STATEMENT_KEY,
    SparseMap,
    build_claim,
    index_root,
    key_hash,
    postings_root,
    record_keys,
)
from ledger.core.merkle import consistency_proof, inclusion_proof, root_hash
from ledger.core.records import parse_object
from ledger.formats.checkpoint import AnchoredCheckpoint, AnchorRef
from ledger.formats.completeness import (
    ErasureMarker,
    ErasureProof,
    FiledProof,
    Member,
    completeness_json,
    erasures_json,
    filed_json,
    parse_completeness,
)
from ledger.formats.fields import FormatError
from ledger.formats.identity import LogIdentity
from ledger.formats.statement import (
    erasure_member,
    erasure_statement,
    leaves_digest,
    leaves_root,
    statement_salt,
    statement_sha256,
)
from ledger.service.signer import LogSigner
from ledger.verify.completeness import (
    completeness_result_json,
    completeness_statement,
    verify_completeness,
)
from ledger.verify.result import VerificationError
from ledger.verify.rpc import JsonRpcReader
from ledger.workload import interaction
from tests.chain.conftest import (  # noqa: F401 - fixtures
    admin_account,
    anvil,
    anvil_binary,
    chain,
    deployed,
    log_account,
    signer,
)

CHAIN_ID = 31337
CONTRACT = bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")
LOG_ID = bytes(range(32))


def licence(i: int, licence_id: str, action: str = "grant") -> dict[str, Any]:
    body: dict[str, Any] = {"action": action, "licence_id": licence_id, "licensee": "acme"}
    if action != "revoke":
        body |= {
            "models": ["frontier-large"],
            "scope": ["inference"],
            "terms_sha256": "ab" * 32,
            "valid_from": "2026-01-01T00:00:00.000Z",
            "valid_until": "2027-01-01T00:00:00.000Z",
        }
    return {
        "v": 1,
        "kind": "licence",
        "salt": f"{i:032x}",
        "ts": "2026-06-01T00:00:00.000Z",
        "body": body,
    }


def model(i: int) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "model",
        "salt": f"{i:032x}",
        "ts": "2026-06-01T00:00:00.000Z",
        "body": {"artifact_sha256": "cd" * 32, "model_id": "m-1", "version": f"v{i}"},
    }


class Log:
    """A log of `size` records and its index at that size."""

    def __init__(self, size: int = 120, seed: int = 3) -> None:
        rng = random.Random(seed)
        self.records: list[dict[str, Any]] = []
        for i in range(size):
            roll = rng.random()
            if roll < 0.05:
                self.records.append(licence(i, f"lic-{i % 3}", rng.choice(["grant", "revoke"])))
            elif roll < 0.1:
                self.records.append(model(i))
            else:
                self.records.append(interaction(i, seed=seed, account=f"acct-{rng.randrange(8)}"))
        entries = [parse_object(copy.deepcopy(r)) for r in self.records]
        self.records = [json.loads(e.canonical) for e in entries]
        self.reindex()

    def reindex(self) -> None:
        """The leaves, root, postings and map of `records` (after records are added)."""
        self.leaves = [parse_object(copy.deepcopy(r)).leaf_hash for r in self.records]
        self.root = root_hash(self.leaves)
        self.postings: dict[str, list[int]] = {}
        for i, record in enumerate(self.records):
            for key in record_keys(record):
                self.postings.setdefault(key, []).append(i)
        self.map = SparseMap()
        self.map.apply({key_hash(k): (len(v), postings_root(v)) for k, v in self.postings.items()})

    @property
    def size(self) -> int:
        return len(self.records)

    @property
    def index_root(self) -> bytes:
        return index_root(self.size, self.map.root)

    def document(
        self, key: str, start: int = 0, end: int | None = None, anchor: AnchorRef | None = None
    ) -> dict[str, Any]:
        claim = build_claim(self.map.store, self.size, key, self.postings.get(key, []), start, end)
        anchor = anchor or AnchorRef(b"\x11" * 32, 7, b"\x22" * 32, 1_780_000_000)
        checkpoint = AnchoredCheckpoint(self.size, self.root, anchor)
        entries = [
            (i, self.leaves[i], self.records[i], inclusion_proof(i, self.leaves))
            for i in claim.leaf_indices
        ]
        return completeness_json(CHAIN_ID, CONTRACT, LOG_ID, checkpoint, claim, entries)


@pytest.fixture(scope="module")
def log() -> Log:
    return Log()


def busiest(log: Log, prefix: str = "account:") -> str:
    keys = [k for k in log.postings if k.startswith(prefix)]
    return max(keys, key=lambda k: len(log.postings[k]))


def fails(document: dict[str, Any]) -> str:
    with pytest.raises(VerificationError) as failure:
        verify_completeness(json.dumps(document), None)
    assert failure.value.result is not None and not failure.value.result.valid
    return failure.value.check


def test_every_key_verifies_offline(log: Log) -> None:
    for key, indices in log.postings.items():
        result = verify_completeness(json.dumps(log.document(key)), None)
        assert result.valid and result.complete is not None
        assert result.complete.leaf_indices == tuple(indices)
        assert result.complete.count == len(indices) and result.complete.tree_size == log.size
    kinds = {key.partition(":")[0] for key in log.postings}
    assert kinds == {"account", "model", "licence", "licensee", "model_id"}


def test_result_json(log: Log) -> None:
    key = busiest(log)
    found = completeness_result_json(verify_completeness(json.dumps(log.document(key)), None))
    assert found["valid"] is True and found["key"] == key and found["tree_size"] == log.size
    assert found["leaf_indices"] == log.postings[key] and found["count"] == len(log.postings[key])
    assert found["anchored"] is None and found["statement"].startswith("COMPLETE: ")
    assert [c["name"] for c in found["checks"]][-1] == "index root"


def test_windows_and_absence_verify(log: Log) -> None:
    key = busiest(log)
    result = verify_completeness(json.dumps(log.document(key, 30, 90)), None)
    assert result.complete is not None
    assert result.complete.leaf_indices == tuple(i for i in log.postings[key] if 30 <= i < 90)
    assert "with leaf index in [30, 90) of the first 120 entries" in completeness_statement(result)
    absent = verify_completeness(json.dumps(log.document("account:nobody")), None)
    assert absent.complete is not None and absent.complete.count == 0
    assert completeness_statement(absent).startswith(
        "COMPLETE: 0 entries of account:nobody in the first 120 entries (offline"
    )


def test_tampering_fails_naming_the_check(log: Log) -> None:
    key = busiest(log)
    good = log.document(key)
    entries = good["entries"]

    omitted = copy.deepcopy(good)
    del omitted["entries"][3]
    assert fails(omitted) == "omitted"
    omitted["count"] -= 1
    assert fails(omitted) == "omitted"

    added = copy.deepcopy(good)
    stranger = next(i for i in range(log.size) if i not in log.postings[key])
    added["entries"].append(
        {
            "leaf_index": stranger,
            "leaf_hash": "0x" + log.leaves[stranger].hex(),
            "record": log.records[stranger],
            "proof": ["0x" + n.hex() for n in inclusion_proof(stranger, log.leaves)],
        }
    )
    added["entries"].sort(key=lambda e: e["leaf_index"])
    assert fails(added) == "added"

    reordered = copy.deepcopy(good)
    reordered["entries"][1], reordered["entries"][2] = entries[2], entries[1]
    assert fails(reordered) == "reordered"

    duplicated = copy.deepcopy(good)
    duplicated["entries"].insert(1, entries[1])
    assert fails(duplicated) == "duplicated"

    stale = copy.deepcopy(good)
    older = SparseMap()
    older.apply({key_hash(key): (1, postings_root(log.postings[key][:1]))})
    stale["index_root"] = "0x" + index_root(log.size, older.root).hex()
    assert fails(stale) == "index root"

    wrong_size = copy.deepcopy(good)
    wrong_size["window"]["to_size"] = log.size + 1
    assert fails(wrong_size) == "tree size"
    wrong_size = copy.deepcopy(good)
    wrong_size["checkpoint"]["tree_size"] = log.size + 1
    wrong_size["window"]["to_size"] = log.size + 1
    # Inclusion proofs do not pin the size (ledger.core.merkle.verify); the index root does.
    assert fails(wrong_size) in ("inclusion", "index root")

    window = log.document(key, 30, 90)
    for document, where, field in (
        (good, "map_proof", "siblings"),
        (window, "map_proof", "siblings"),
        (window, "postings_proof", "nodes"),
    ):
        blob = bytearray(base64.b64decode(document[where][field]))
        assert blob
        for bit in (0, 8 * len(blob) - 1):
            flipped = copy.deepcopy(document)
            changed = bytearray(blob)
            changed[bit // 8] ^= 0x80 >> (bit % 8)
            flipped[where][field] = base64.b64encode(bytes(changed)).decode()
            assert fails(flipped) in ("index root", "omitted")

    other_key = copy.deepcopy(good)
    other_key["key"] = busiest(log, "model:")
    assert fails(other_key) == "added"

    absent = log.document("account:nobody")
    absent["entries"] = [entries[0]]
    assert fails(absent) == "added"


def test_window_tampering(log: Log) -> None:
    key = busiest(log)
    window = log.document(key, 30, 90)
    assert window["postings_proof"]["before"] is not None
    moved = copy.deepcopy(window)
    moved["window"]["from_size"] = window["postings_proof"]["before"]
    assert fails(moved) == "omitted"
    shrunk = copy.deepcopy(window)
    del shrunk["entries"][-1]
    assert fails(shrunk) == "omitted"


def test_format_is_strict(log: Log) -> None:
    good = log.document(busiest(log))
    for mutate in (
        lambda d: d.pop("count"),
        lambda d: d.__setitem__("extra", 1),
        lambda d: d["map_proof"].__setitem__("siblings", ["0x" + "00" * 32]),
        lambda d: d.__setitem__("format", "model-ledger/completeness/v2"),
        lambda d: d["postings_proof"].__setitem__("before", -1),
        lambda d: d.__setitem__("producer", 5),
    ):
        bad = copy.deepcopy(good)
        mutate(bad)
        assert fails(bad) == "completeness"
    with pytest.raises(FormatError):
        parse_completeness(b"[]")
    # The producer names the software that wrote it; no check depends on it.
    assert good["producer"].startswith("mledger ")
    other = verify_completeness(json.dumps(good | {"producer": "another tool 2.0"}), None)
    assert other.valid


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def bitmap_of(proof: dict[str, Any]) -> tuple[int, bytes, bytes]:
    return proof["depth"], bytes.fromhex(proof["empty"][2:]), base64.b64decode(proof["siblings"])


def spelling_cases(log: Log) -> list[tuple[dict[str, Any], str]]:
    """Documents whose map or postings proof is spelt otherwise than the one way the
    format allows, or whose parts disagree, each with words its ``completeness``
    failure must hold."""
    documents = [log.document(f"account:nobody-{n}") for n in range(40)]
    sample = next(
        d
        for d in documents
        if d["map_proof"]["depth"] % 8
        and int(d["map_proof"]["empty"], 0)
        and base64.b64decode(d["map_proof"]["siblings"])
        and d["map_proof"]["siblings"].endswith("=")
    )
    assert verify_completeness(json.dumps(sample), None).valid
    depth, bitmap, blob = bitmap_of(sample["map_proof"])
    empty_at = next(i for i in range(depth) if bitmap[i // 8] & (0x80 >> (i % 8)))
    before = sum(1 for i in range(empty_at) if not bitmap[i // 8] & (0x80 >> (i % 8)))
    cleared = bytearray(bitmap)
    cleared[empty_at // 8] &= ~(0x80 >> (empty_at % 8)) & 0xFF
    spare = bytearray(bitmap)
    spare[-1] |= 1
    text = b64(blob)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = text.rstrip("=")
    loose = last[:-1] + alphabet[alphabet.index(last[-1]) | 1] + text[len(last) :]
    assert base64.b64decode(loose) == blob  # the same bytes, spelt otherwise
    changes: list[tuple[dict[str, Any], str]] = [
        ({"empty": "0x" + bytes(spare).hex()}, "past the path"),
        ({"empty": "0x" + (bitmap + b"\0").hex()}, "map_proof.empty must be"),
        ({"empty": "0x" + bitmap[:-1].hex()}, "map_proof.empty must be"),
        ({"empty": "0x" + bitmap.hex() + "0"}, "map_proof.empty must be"),
        ({"siblings": b64(blob + bytes(range(1, 33)))}, "map_proof.siblings must hold"),
        ({"siblings": b64(blob[:-1])}, "map_proof.siblings must hold"),
        ({"siblings": b64(blob + b"\1")}, "map_proof.siblings must hold"),
        ({"siblings": text.rstrip("=")}, "map_proof.siblings must hold"),
        ({"siblings": text[:-4] + "AAA="}, "map_proof.siblings must hold"),
        ({"siblings": " " + text[1:]}, "not base64"),
        ({"siblings": "\u00e9" + text[1:]}, "not base64"),
        ({"siblings": "\U0001f600" + text[1:]}, "not base64"),
        ({"siblings": text[:8] + "=" + text[9:]}, "not base64"),
        ({"siblings": text.replace("+", "-").replace("/", "_") + "x"}, "must hold"),
        ({"siblings": list(blob)}, "base64 string"),
        ({"siblings": loose}, "not canonical base64"),
        (
            {
                "empty": "0x" + bytes(cleared).hex(),
                "siblings": b64(blob[: 32 * before] + bytes(32) + blob[32 * before :]),
            },
            "32 zero bytes",
        ),
        ({"depth": depth + 1}, ""),
        ({"depth": depth - 1}, ""),
        ({"depth": 257}, "map_proof.depth"),
        ({"depth": True}, "map_proof.depth"),
        ({"other": b64(bytes(72))}, "count must be 1 or more"),
        ({"other": b64(bytes(range(1, 74)))}, "map_proof.other must hold 72 bytes"),
        ({"other": {"key_hash": "0x" + "11" * 32}}, "base64 string"),
    ]
    cases = []
    for change, words in changes:
        bad = copy.deepcopy(sample)
        bad["map_proof"] |= change
        cases.append((bad, words))
    window = log.document(busiest(log), 30, 90)
    nodes = base64.b64decode(window["postings_proof"]["nodes"])
    assert nodes and verify_completeness(json.dumps(window), None).valid
    for value, words in (
        (b64(nodes[:-1]), "must hold"),
        (b64(nodes + b"\0"), "must hold"),
        (b64(bytes(32 * 129)), "the most a proof can need is 128"),
        (b64(nodes).rstrip("="), "must hold"),
        ([], "base64 string"),
    ):
        bad = copy.deepcopy(window)
        bad["postings_proof"]["nodes"] = value
        cases.append((bad, words))
    # An erased entry's time has one spelling too: a newline after it (which a Python
    # pattern's $ would let through) is refused, as the page refuses it.
    for at in ("2026-01-01T00:00:00.000Z\n", " 2026-01-01T00:00:00.000Z"):
        bad = erased_first(window, at)
        cases.append((bad, "erased.at must be a time"))
    # The proof of an erased marker, and the erasures it proves against, are shaped too.
    proven = proven_erased(Log(), 3)
    member = proven["entries"][0]["erased"]["member"]
    for change, words in [
        ({"position": -1}, "erased.member.position must be between 0 and"),
        ({"position": True}, "erased.member.position must be an integer, got bool"),
        ({"path": "0x00"}, "erased.member.path must be a list of hashes"),
        ({"path": ["0x00"]}, "erased.member.path[0] must be 0x and 64 lowercase hex"),
        ({"side": 1}, "erased.member has unknown field 'side'"),
    ]:
        bad = copy.deepcopy(proven)
        bad["entries"][0]["erased"]["member"] = {**member, **change}
        cases.append((bad, words))
    bad = copy.deepcopy(proven)
    del bad["entries"][0]["erased"]["member"]["path"]
    cases.append((bad, "erased.member lacks 'path'"))
    erasure = proven["erasures"][0]
    for value, words in [
        ([], "erasures must be a list of 1 to 100000 erasures (absent for none)"),
        ({}, "erasures must be a list of 1 to 100000 erasures (absent for none)"),
        ([erasure, erasure], "erasures[1].leaf_index is"),
        ([{**erasure, "record": []}], "erasures[0].record must be a JSON object"),
        ([{**erasure, "statement": "x"}], "erasures[0].statement must be a JSON object"),
        ([{**erasure, "proof": "x"}], "erasures[0].proof must be a list of hashes"),
        ([{**erasure, "at": 1}], "erasures[0] has unknown field 'at'"),
    ]:
        bad = copy.deepcopy(proven)
        bad["erasures"] = value
        cases.append((bad, words))
    return cases


ERASED_AT = "2026-12-02T00:41:21.354Z"


def erase_in(log: Log, erased: list[int], at: str = ERASED_AT) -> tuple[Any, dict[int, Any]]:
    """Log the erasure of the entries `erased` of `log` (its digest record appended, with
    a statement committing to their leaves root): the erasure as documents carry it, and
    each erased leaf index's membership proof."""
    members = [(i, log.leaves[i]) for i in erased]
    statement = erasure_statement(
        "leaves",
        "test erasure",
        len(erased),
        leaves_digest(leaf for _, leaf in members),
        at,
        root=leaves_root(members),
    )
    digest = parse_object(
        {
            "v": 1,
            "kind": "digest",
            "ts": at,
            "salt": statement_salt(statement_sha256(statement)),
            "body": {"sha256": statement_sha256(statement)},
        }
    )
    log.records.append(json.loads(digest.canonical))
    log.reindex()
    tree = [erasure_member(i, leaf) for i, leaf in members]
    index = len(log.leaves) - 1
    proof = ErasureProof(
        index,
        log.records[index],
        statement,
        tuple(inclusion_proof(index, log.leaves)),
        filed_in(log, index),
    )
    return proof, {
        i: Member(position, tuple(inclusion_proof(position, tree)))
        for position, (i, _) in enumerate(members)
    }


def filed_in(log: Log, index: int, key: str = STATEMENT_KEY) -> FiledProof:
    """The proof, in `log`'s index, of `key`'s postings in the window [index, index + 1)
    (of ``statement:log``: that the record at `index` is a statement record)."""
    claim = build_claim(log.map.store, log.size, key, log.postings.get(key, []), index, index + 1)
    assert claim.postings_root is not None and claim.window is not None
    return FiledProof(claim.count, claim.postings_root, claim.map_proof, claim.window)


def proven_erased(log: Log, every: int) -> dict[str, Any]:
    """The document of `log`'s busiest account with every `every`-th entry erased by one
    logged erasure, each marker proven."""
    key = busiest(log)
    erased = log.postings[key][::every]
    erasure, members = erase_in(log, erased)
    claim = build_claim(log.map.store, log.size, key, log.postings[key], 0, log.size)
    checkpoint = AnchoredCheckpoint(
        log.size, log.root, AnchorRef(b"\x11" * 32, 7, b"\x22" * 32, 1_780_000_000)
    )
    entries = [
        (
            i,
            log.leaves[i],
            ErasureMarker(ERASED_AT, log.leaves[erasure.leaf_index], members[i])
            if i in members
            else log.records[i],
            inclusion_proof(i, log.leaves),
        )
        for i in claim.leaf_indices
    ]
    return completeness_json(CHAIN_ID, CONTRACT, LOG_ID, checkpoint, claim, entries, [erasure])


def forged_erasures() -> tuple[dict[str, Any], list[tuple[dict[str, Any], str]]]:
    """A document whose erased markers are proven by a logged erasure, and forgeries of
    it, each with words its check ``erasure`` failure must hold: a live entry shown
    erased by that erasure (with a listed entry's proof), two erased entries' proofs
    swapped, an erasure given that no marker uses, and an entry logged after the
    erasure that names it."""
    base = Log()
    document = proven_erased(base, 3)
    live = copy.deepcopy(document)
    entry = live["entries"][1]
    del entry["record"]
    entry["erased"] = live["entries"][0]["erased"]
    swapped = copy.deepcopy(document)
    first, second = swapped["entries"][0], swapped["entries"][3]
    first["erased"]["member"], second["erased"]["member"] = (
        second["erased"]["member"],
        first["erased"]["member"],
    )
    unused = copy.deepcopy(document)
    for entry in unused["entries"]:
        if "erased" in entry:
            del entry["erased"]["member"]
    later = Log()
    key = busiest(later)
    earlier = proven_erased(later, 3)
    added = parse_object(interaction(999, seed=3, account=key.partition(":")[2]))
    later.records.append(json.loads(added.canonical))
    later.reindex()
    after = later.document(key)
    after["entries"][-1].pop("record")
    after["entries"][-1]["erased"] = earlier["entries"][0]["erased"]
    erasure = earlier["erasures"][0]
    index = erasure["leaf_index"]
    after["erasures"] = [
        {
            **erasure,
            "proof": ["0x" + n.hex() for n in inclusion_proof(index, later.leaves)],
            "filed": filed_json(filed_in(later, index)),
        }
    ]
    twice = Log()
    first = twice.postings[busiest(twice)][0]
    twice.records.append(copy.deepcopy(twice.records[first]))  # the same record again
    twice.reindex()
    erasure, members = erase_in(twice, [first])
    borrowed = twice.document(busiest(twice))
    entry = borrowed["entries"][-1]
    assert entry["leaf_hash"] == "0x" + twice.leaves[first].hex()
    assert entry["leaf_index"] == erasure.leaf_index - 1 != first
    del entry["record"]
    entry["erased"] = {
        "at": ERASED_AT,
        "by": "0x" + twice.leaves[erasure.leaf_index].hex(),
        "member": {"position": 0, "path": ["0x" + n.hex() for n in members[first].path]},
    }
    borrowed["erasures"] = erasures_json([erasure])["erasures"]
    unfiled = copy.deepcopy(document)
    del unfiled["erasures"][0]["filed"]
    # Two erasures in one log: each one's statement:log proof is of its own leaf index.
    two = Log()
    account = busiest(two)
    first_erasure, _ = erase_in(two, two.postings[account][:1])
    two_erased = proven_erased(two, 3)
    other_window = copy.deepcopy(two_erased)
    assert other_window["erasures"][0]["leaf_index"] != first_erasure.leaf_index
    other_window["erasures"][0]["filed"] = filed_json(filed_in(two, first_erasure.leaf_index))
    other_key = copy.deepcopy(document)
    index = document["erasures"][0]["leaf_index"]
    other_key["erasures"][0]["filed"] = filed_json(filed_in(base, index, busiest(base)))
    return document, [
        (live, "that erasure does not list this entry"),
        # A record logged twice: the live copy borrows its erased twin's membership
        # proof (same leaf hash, other leaf index).
        (borrowed, "that erasure does not list this entry"),
        (swapped, "that erasure does not list this entry"),
        (unused, "proves no marker of the document"),
        (after, "not after the entry: an erasure erases entries logged before it"),
        (unfiled, "the document does not prove its record filed under statement:log"),
        (other_window, "its record is not proven filed under statement:log at leaf index"),
        (other_key, "its record is not proven filed under statement:log at leaf index"),
    ]


def test_proven_erased_entries_and_forged_markers() -> None:
    """Markers proven by a logged erasure verify, said proven (check erasure just before
    record); every forgery of `forged_erasures` fails check erasure."""
    document, forgeries = forged_erasures()
    erased = len(document["entries"][::3])
    result = verify_completeness(json.dumps(document), None)
    record = next(c.detail for c in result.checks if c.name == "record")
    assert record.endswith(
        f"; {erased} erased entries carry their leaf hash only, each proven erased by a"
        " logged erasure"
    )
    names = [c.name for c in result.checks]
    assert names.index("erasure") == names.index("record") - 1
    for bad, words in forgeries:
        with pytest.raises(VerificationError) as failure:
            verify_completeness(json.dumps(bad), None)
        assert failure.value.check == "erasure" and words in failure.value.message


def erased_first(document: dict[str, Any], at: str) -> dict[str, Any]:
    """`document` with its first entry given as erased at `at` (by some record)."""
    erased = copy.deepcopy(document)
    entry = erased["entries"][0]
    entry.pop("record")
    entry["erased"] = {"at": at, "by": "0x" + "ab" * 32}
    erased["entries"][0] = {k: entry[k] for k in ("leaf_index", "leaf_hash", "erased", "proof")}
    return erased


def test_the_compact_encoding_has_one_spelling(log: Log) -> None:
    """Each map proof and postings proof has exactly one encoding: every other spelling
    of the same path, and every path whose parts disagree, fails ``completeness``
    naming the field."""
    window = log.document(busiest(log), 30, 90)
    erased = erased_first(window, "2026-01-01T00:00:00.000Z")
    assert verify_completeness(json.dumps(erased), None).valid
    for bad, words in spelling_cases(log):
        with pytest.raises(VerificationError) as failure:
            verify_completeness(json.dumps(bad), None)
        assert failure.value.check == "completeness", bad["map_proof"]
        assert words in failure.value.message, (words, failure.value.message)


# --- against a real chain ---


def anchor_log(
    log: Log, where: tuple[DeployedLog, LogAnchor], key: LogSigner, client: ChainClient, ir: bytes
) -> AnchorRef:
    info, contract = where
    receipt = contract.anchor(
        info.log_id,
        log.size,
        log.root,
        [],
        key.anchor_signature(log.size, log.root, ir),
        index_root=ir,
    )
    block = client.block(receipt.block_number)
    assert block is not None
    return AnchorRef(receipt.tx_hash, receipt.block_number, receipt.block_hash, block.timestamp)


def anchor_and_pin(
    log: Log,
    where: tuple[DeployedLog, LogAnchor],
    key: LogSigner,
    client: ChainClient,
    account: LocalAccount,
) -> tuple[Log, AnchorRef, LogIdentity]:
    """`log` anchored with its index root, and the identity that pins it."""
    info = where[0]
    anchor = anchor_log(log, where, key, client, log.index_root)
    identity = LogIdentity(
        name=info.log_name,
        chain_id=info.chain_id,
        log_anchor=info.contract,
        log_id=info.log_id,
        licence_registry=None,
        log_signer=bytes.fromhex(account.address[2:]),
        deployment_block=info.block_number,
    )
    return log, anchor, identity


def on_chain(document: dict[str, Any], info: DeployedLog) -> dict[str, Any]:
    return document | {
        "chain_id": info.chain_id,
        "contract": "0x" + info.contract.hex(),
        "log_id": "0x" + info.log_id.hex(),
    }


def test_against_the_chain_the_index_root_is_the_signed_one(
    deployed: tuple[DeployedLog, LogAnchor],  # noqa: F811
    signer: LogSigner,  # noqa: F811
    chain: ChainClient,  # noqa: F811
    log_account: LocalAccount,  # noqa: F811
) -> None:
    log, anchor, identity = anchor_and_pin(Log(60, seed=9), deployed, signer, chain, log_account)
    info = deployed[0]
    key = busiest(log)
    with JsonRpcReader(chain.rpc_url) as reader:
        document = on_chain(log.document(key, anchor=anchor), info)
        result = verify_completeness(json.dumps(document), reader, identity)
        assert result.valid and result.anchored is not None
        assert result.anchored.index_root == log.index_root
        assert completeness_statement(result) == (
            f"COMPLETE: {len(log.postings[key])} entries of {key} in the first 60 entries"
            f" (anchored at block {anchor.block_number}, time "
            + completeness_statement(result).split(", time ")[1]
        )
        # The operator, after anchoring, drops an entry from its index and serves a proof
        # that is consistent in itself: the signed index root refutes it.
        doctored = Log(60, seed=9)
        dropped = doctored.postings[key].pop(2)
        doctored.map.apply(
            {key_hash(key): (len(doctored.postings[key]), postings_root(doctored.postings[key]))}
        )
        forged = on_chain(doctored.document(key, anchor=anchor), info)
        assert dropped not in [e["leaf_index"] for e in forged["entries"]]
        assert verify_completeness(json.dumps(forged), None).valid  # offline it holds together
        with pytest.raises(VerificationError) as failure:
            verify_completeness(json.dumps(forged), reader, identity)
        assert failure.value.check == "index root on chain"
        # A size that was never anchored.
        never = on_chain(Log(62, seed=9).document(key, anchor=anchor), info)
        with pytest.raises(VerificationError) as failure:
            verify_completeness(json.dumps(never), reader, identity)
        assert failure.value.check == "root on chain"
        # A checkpoint anchored without an index root backs no completeness claim.
        longer = Log(61, seed=9)
        contract = deployed[1]
        receipt = contract.anchor(
            info.log_id,
            61,
            longer.root,
            consistency_proof(60, longer.leaves),
            signer.anchor_signature(61, longer.root),
        )
        block = chain.block(receipt.block_number)
        assert block is not None
        bare = AnchorRef(receipt.tx_hash, receipt.block_number, receipt.block_hash, block.timestamp)
        unindexed = on_chain(longer.document(key, anchor=bare), info)
        with pytest.raises(VerificationError) as failure:
            verify_completeness(json.dumps(unindexed), reader, identity)
        assert failure.value.check == "index root on chain"
        assert "commits to no index" in failure.value.message


# --- whatever verifies is true ---

UNCHECKED_OFFLINE = {"anchor", "chain_id", "contract", "log_id", "format"}


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [
            p
            for k, v in value.items()
            if k not in UNCHECKED_OFFLINE
            for p in leaf_paths(v, (*path, k))
        ]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in leaf_paths(v, (*path, i))]
    return [path]


def mutated(value: Any, rng: random.Random) -> Any:
    if isinstance(value, bool) or value is None:
        return rng.choice([0, 1, "0x", None, True]) if value is None else (not value)
    if isinstance(value, int):
        return max(0, value + rng.choice([-2, -1, 1, 2, 64]))
    if isinstance(value, str) and value.startswith("0x") and len(value) > 2:
        at = rng.randrange(2, len(value))
        digit = "0123456789abcdef"[(int(value[at], 16) + rng.randrange(1, 16)) % 16]
        return value[:at] + digit + value[at + 1 :]
    if isinstance(value, str):
        return value + rng.choice(["x", "0", ":"])
    return value


@pytest.mark.parametrize("seed", range(6))
def test_random_mutations_verify_only_when_true(log: Log, seed: int) -> None:
    """Change one field at random, many times: the verifier refuses, or what it then
    certifies is the truth about the log (a wider window that holds the same entries,
    say)."""
    rng = random.Random(seed)
    documents = [
        log.document(busiest(log)),
        log.document(busiest(log, "model:"), 20, 70),
        log.document("licensee:nobody"),
        log.document(busiest(log, "licence:")),
    ]
    accepted = 0
    for _ in range(60):
        document = copy.deepcopy(rng.choice(documents))
        path = rng.choice(leaf_paths(document))
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = mutated(target[path[-1]], rng)
        try:
            result = verify_completeness(json.dumps(document), None)
        except VerificationError:
            continue
        accepted += 1
        complete = result.complete
        assert complete is not None and complete.tree_size == log.size
        truth = [
            i for i in log.postings.get(complete.key, []) if complete.start <= i < complete.end
        ]
        assert list(complete.leaf_indices) == truth, (path, document)
    assert accepted < 60
