"""Write the verifiable index's test vectors to tests/vectors/index/, deterministically.

`map.json`: key sets with their postings, map root, index root, and proofs of presence
and absence (an empty slot and another key's leaf); `completeness/`: completeness
documents, valid and tampered, with `manifest.json` stating each one's verdict and
failed check (offline, no identity pinned). A later verifier (the page's JavaScript) is
held equal to ledger.core.index and ledger.verify.completeness by these files;
tests/core/test_index_vectors.py checks they are current and recomputes every root with
an independent reference.

    .venv/bin/python scripts/make_index_vectors.py [--check]
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from ledger.core.index import (
    EMPTY,
    STATEMENT_KEY,
    MapProof,
    SparseMap,
    build_claim,
    index_root,
    key_hash,
    postings_root,
    record_keys,
)
from ledger.core.merkle import inclusion_proof, root_hash
from ledger.core.records import parse_object
from ledger.formats.checkpoint import AnchoredCheckpoint, AnchorRef
from ledger.formats.completeness import (
    ErasureMarker,
    ErasureProof,
    FiledProof,
    Member,
    b64_text,
    completeness_json,
    erasures_json,
    filed_json,
    map_proof_json,
)
from ledger.formats.statement import (
    erasure_member,
    erasure_statement,
    leaves_digest,
    leaves_root,
    statement_salt,
    statement_sha256,
)
from ledger.workload import interaction

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "index"


def h(data: bytes) -> str:
    return "0x" + data.hex()


def proof_json(siblings: tuple[bytes, ...], other: Any) -> dict[str, Any]:
    return map_proof_json(MapProof(siblings, other))


def map_case(name: str, tree_size: int, postings: dict[str, list[int]], probes: list[str]) -> Any:
    live = SparseMap()
    live.apply({key_hash(k): (len(v), postings_root(v)) for k, v in postings.items()})
    proofs = []
    for key in [*sorted(postings), *probes]:
        leaf, proof = live.prove(key_hash(key))
        proofs.append(
            {
                "key": key,
                "key_hash": h(key_hash(key)),
                "present": leaf is not None,
                "proof": proof_json(proof.siblings, proof.other),
            }
        )
    return {
        "name": name,
        "tree_size": tree_size,
        "keys": [
            {
                "key": k,
                "key_hash": h(key_hash(k)),
                "postings": v,
                "postings_root": h(postings_root(v)),
            }
            for k, v in sorted(postings.items())
        ],
        "map_root": h(live.root),
        "index_root": h(index_root(tree_size, live.root)),
        "proofs": proofs,
    }


def probe_names(live: SparseMap, want_other: bool) -> str:
    """The first `account:probe-N` whose absence proof ends at another key's leaf
    (want_other) or at an empty slot."""
    for n in range(10_000):
        name = f"account:probe-{n}"
        leaf, proof = live.prove(key_hash(name))
        if leaf is None and (proof.other is not None) == want_other:
            return name
    raise AssertionError("no probe found")


def encoding_probe(live: SparseMap) -> str:
    """The first absent `account:probe-N` whose map proof has an empty sibling and a
    non-empty one, a depth that is not a multiple of 8, and padded base64."""
    for n in range(10_000):
        name = f"account:probe-{n}"
        leaf, proof = live.prove(key_hash(name))
        given = sum(1 for s in proof.siblings if s != EMPTY)
        if (
            leaf is None
            and len(proof.siblings) % 8
            and 0 < given < len(proof.siblings)
            and (32 * given) % 3
        ):
            return name
    raise AssertionError("no probe found")


def records() -> list[dict[str, Any]]:
    """A small log: interactions of three accounts, licence and model records."""
    out: list[dict[str, Any]] = []
    for i in range(24):
        if i % 8 == 5:
            body = {
                "action": "grant",
                "licence_id": "lic-1",
                "licensee": "acme",
                "models": ["frontier-large"],
                "scope": ["inference"],
                "terms_sha256": "ab" * 32,
                "valid_from": "2026-01-01T00:00:00.000Z",
                "valid_until": "2027-01-01T00:00:00.000Z",
            }
            if i > 8:
                body = {"action": "revoke", "licence_id": "lic-1", "licensee": "acme"}
            out.append(
                {
                    "v": 1,
                    "kind": "licence",
                    "salt": f"{i:032x}",
                    "ts": "2026-06-01T00:00:00.000Z",
                    "body": body,
                }
            )
        elif i % 8 == 7:
            out.append(
                {
                    "v": 1,
                    "kind": "model",
                    "salt": f"{i:032x}",
                    "ts": "2026-06-01T00:00:00.000Z",
                    "body": {"artifact_sha256": "cd" * 32, "model_id": "m-1", "version": f"v{i}"},
                }
            )
        else:
            out.append(interaction(i, seed=13, account=f"acct-{i % 3}"))
    return [json.loads(parse_object(copy.deepcopy(r)).canonical) for r in out]


def indexed(
    log: list[dict[str, Any]], leaves: list[bytes]
) -> tuple[dict[str, list[int]], SparseMap, AnchoredCheckpoint]:
    """The postings of `log`, its map and its anchored checkpoint."""
    postings: dict[str, list[int]] = {}
    for i, record in enumerate(log):
        for key in record_keys(record):
            postings.setdefault(key, []).append(i)
    live = SparseMap()
    live.apply({key_hash(k): (len(v), postings_root(v)) for k, v in postings.items()})
    anchor = AnchorRef(b"\x11" * 32, 7, b"\x22" * 32, 1_780_000_000)
    return postings, live, AnchoredCheckpoint(len(log), root_hash(leaves), anchor)


def documents() -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    log = records()
    leaves = [hashlib.sha256(b"\x00" + json_bytes(r)).digest() for r in log]
    size = len(log)
    postings, live, checkpoint = indexed(log, leaves)

    def document(key: str, start: int = 0, end: int | None = None) -> dict[str, Any]:
        claim = build_claim(live.store, size, key, postings.get(key, []), start, end)
        entries = [(i, leaves[i], log[i], inclusion_proof(i, leaves)) for i in claim.leaf_indices]
        return completeness_json(31337, b"\x5f" * 20, bytes(range(32)), checkpoint, claim, entries)

    files: dict[str, bytes] = {}
    manifest: list[dict[str, Any]] = []

    def add(name: str, doc: dict[str, Any], check: str | None, shows: str) -> None:
        files[f"completeness/{name}.json"] = (json.dumps(doc, indent=1) + "\n").encode()
        manifest.append(
            {
                "file": f"completeness/{name}.json",
                "valid": check is None,
                "check": check,
                "shows": shows,
            }
        )

    full = document("account:acct-0")
    add("account-full", full, None, "every entry of account:acct-0 in the log")
    add("licence-history", document("licence:lic-1"), None, "a licence's grant and revocation")
    add("model-window", document("model:frontier-large", 4, 17), None, "a window [4, 17)")
    add(
        "window-empty",
        document("account:acct-0", 19, 24),
        None,
        "a key none of whose entries lies in [19, 24)",
    )
    add("absent-empty-slot", document(probe_names(live, False)), None, "absence: empty slot")
    add("absent-other-leaf", document(probe_names(live, True)), None, "absence: another leaf")
    bad = copy.deepcopy(full)
    del bad["entries"][1]
    add("omitted", bad, "omitted", "an entry left out")
    bad = copy.deepcopy(full)
    bad["entries"].insert(1, document("account:acct-1")["entries"][0])
    bad["entries"].sort(key=lambda e: e["leaf_index"])
    add("added", bad, "added", "an entry of another key put in")
    bad = copy.deepcopy(full)
    bad["entries"][0], bad["entries"][1] = bad["entries"][1], bad["entries"][0]
    add("reordered", bad, "reordered", "two entries swapped")
    bad = copy.deepcopy(full)
    bad["entries"].insert(0, bad["entries"][0])
    add("duplicated", bad, "duplicated", "an entry twice")
    bad = copy.deepcopy(full)
    bad["index_root"] = h(index_root(size - 1, live.root))
    add("stale-root", bad, "index root", "the index root of another size")
    bad = copy.deepcopy(full)
    bad["window"]["to_size"] = size + 1
    add("wrong-size", bad, "tree size", "a window beyond the log")
    bad = copy.deepcopy(full)
    blob = bytearray(base64.b64decode(bad["map_proof"]["siblings"]))
    blob[31] ^= 1
    bad["map_proof"]["siblings"] = b64_text(bytes(blob))
    add("map-bit-flipped", bad, "index root", "one bit of the map proof flipped")
    # The compact encoding has one spelling per proof: every other one is refused.
    absent = document(encoding_probe(live))
    proof = absent["map_proof"]
    depth, bitmap = proof["depth"], bytes.fromhex(proof["empty"][2:])
    blob = base64.b64decode(proof["siblings"])

    def encoding(name: str, change: dict[str, Any], shows: str) -> None:
        bad = copy.deepcopy(absent)
        bad["map_proof"] |= change
        add(name, bad, "completeness", shows)

    encoding(
        "bitmap-past-path",
        {"empty": h(bitmap[:-1] + bytes([bitmap[-1] | 1]))},
        "a bit of the empty-sibling bitmap set past the path's depth",
    )
    encoding(
        "bitmap-too-long",
        {"empty": h(bitmap + b"\x00")},
        "a bitmap one byte longer than the depth needs",
    )
    encoding(
        "siblings-trailing-bytes",
        {"siblings": b64_text(blob + bytes(range(1, 33)))},
        "a 32-byte hash more than the bitmap leaves room for",
    )
    encoding(
        "siblings-short",
        {"siblings": b64_text(blob[:-1])},
        "the siblings one byte short",
    )
    first_empty = next(i for i in range(depth) if bitmap[i >> 3] & (0x80 >> (i & 7)))
    cleared = bytearray(bitmap)
    cleared[first_empty >> 3] &= ~(0x80 >> (first_empty & 7)) & 0xFF
    before = sum(1 for i in range(first_empty) if not bitmap[i >> 3] & (0x80 >> (i & 7)))
    encoding(
        "siblings-zero-hash",
        {
            "empty": h(bytes(cleared)),
            "siblings": b64_text(blob[: 32 * before] + EMPTY + blob[32 * before :]),
        },
        "an empty sibling written as 32 zero bytes instead of marked in the bitmap",
    )
    text = proof["siblings"]
    assert text.endswith("=")  # padding: the last data character has unused bits
    last = text.rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    spare = alphabet[alphabet.index(last[-1]) | 1]
    encoding(
        "siblings-not-canonical",
        {"siblings": last[:-1] + spare + text[len(last) :]},
        "base64 with unused bits set (decodes to the same bytes)",
    )
    encoding(
        "depth-deeper",
        {"depth": depth + 1},
        "the depth one level more than the siblings given",
    )
    erased_documents(add)
    return files, manifest


ERASED_AT = ("2026-07-01T00:00:00.000Z", "2026-07-02T00:00:00.000Z")


def erased_documents(add: Any) -> None:
    """Documents of a log whose first 24 records are `records()` and whose last two are
    the digest records of two erasures: the first erased account acct-0's first three
    entries, the second acct-1's first. Each erased entry's marker is proven (its
    membership in its erasure's ``leaves_root``) or not (the operator's claim), and the
    ways an operator could forge a marker fail check ``erasure``."""
    log = records()
    erasures = [
        [i for i, r in enumerate(log) if "account:acct-0" in record_keys(r)][:3],
        [i for i, r in enumerate(log) if "account:acct-1" in record_keys(r)][:1],
    ]
    leaves = [hashlib.sha256(b"\x00" + json_bytes(r)).digest() for r in log]
    statements, trees = [], []
    for number, erased in enumerate(erasures):
        members = [(i, leaves[i]) for i in erased]
        statement = erasure_statement(
            "account",
            f"vector erasure {number}",
            len(erased),
            leaves_digest(leaf for _, leaf in members),
            ERASED_AT[number],
            root=leaves_root(members),
        )
        digest = {
            "v": 1,
            "kind": "digest",
            "salt": statement_salt(statement_sha256(statement)),
            "ts": ERASED_AT[number],
            "body": {"sha256": statement_sha256(statement)},
        }
        log.append(json.loads(json_bytes(digest)))
        leaves.append(hashlib.sha256(b"\x00" + json_bytes(digest)).digest())
        statements.append(statement)
        trees.append([erasure_member(i, leaf) for i, leaf in members])
    size = len(log)
    postings, live, checkpoint = indexed(log, leaves)
    records_at = [24, 25]

    def filed_at(at: int, store: Any = live.store, listed: Any = None) -> FiledProof:
        listed = postings[STATEMENT_KEY] if listed is None else listed
        claim = build_claim(store, size, STATEMENT_KEY, listed, at, at + 1)
        assert claim.postings_root is not None and claim.window is not None
        return FiledProof(claim.count, claim.postings_root, claim.map_proof, claim.window)

    def proof_of(number: int) -> ErasureProof:
        at = records_at[number]
        return ErasureProof(
            at, log[at], statements[number], tuple(inclusion_proof(at, leaves)), filed_at(at)
        )

    def document(key: str, proven: bool, store: Any = live.store) -> dict[str, Any]:
        claim = build_claim(store, size, key, postings.get(key, []), 0, size)
        entries: list[Any] = []
        for i in claim.leaf_indices:
            record: Any = log[i]
            for number, erased in enumerate(erasures):
                if i in erased:
                    position = erased.index(i)
                    member = Member(position, tuple(inclusion_proof(position, trees[number])))
                    by = leaves[records_at[number]]
                    record = ErasureMarker(ERASED_AT[number], by, member if proven else None)
            entries.append((i, leaves[i], record, inclusion_proof(i, leaves)))
        used = [proof_of(0)] if proven and key == "account:acct-0" else []
        return completeness_json(
            31337, b"\x5f" * 20, bytes(range(32)), checkpoint, claim, entries, used
        )

    proven = document("account:acct-0", True)
    add("erased-proven", proven, None, "three entries proven erased by a logged erasure")
    add(
        "erased-unproven",
        document("account:acct-0", False),
        None,
        "three entries marked erased without proof (the operator's claim)",
    )
    add(
        "statement-log",
        document(STATEMENT_KEY, False),
        None,
        "every statement record of the log (statement:log: its two erasures)",
    )

    def forged(name: str, change: Any, shows: str) -> None:
        bad = copy.deepcopy(proven)
        change(bad)
        add(name, bad, "erasure", shows)

    def live_shown_erased(bad: dict[str, Any]) -> None:
        # acct-0's fourth entry is live; shown erased by the second erasure, with that
        # erasure's own membership proof (of acct-1's entry), and the erasure given.
        entry = bad["entries"][3]
        del entry["record"]
        entry["erased"] = {
            "at": ERASED_AT[1],
            "by": h(leaves[records_at[1]]),
            "member": {"position": 0, "path": []},
        }
        bad["erasures"] = erasures_json([proof_of(0), proof_of(1)])["erasures"]

    def flip(value: str) -> str:
        return value[:-1] + ("0" if value[-1] != "0" else "1")

    def wrong_path(bad: dict[str, Any]) -> None:
        path = bad["entries"][0]["erased"]["member"]["path"]
        path[0] = flip(path[0])

    def statement_changed(bad: dict[str, Any]) -> None:
        bad["erasures"][0]["statement"]["reason"] = "another reason"

    def not_included(bad: dict[str, Any]) -> None:
        bad["erasures"][0]["proof"][0] = flip(bad["erasures"][0]["proof"][0])

    def beyond_size(bad: dict[str, Any]) -> None:
        bad["erasures"][0]["leaf_index"] = size

    def time_changed(bad: dict[str, Any]) -> None:
        bad["entries"][0]["erased"]["at"] = "2026-07-01T00:00:00.001Z"

    def position_past_count(bad: dict[str, Any]) -> None:
        bad["entries"][0]["erased"]["member"]["position"] = 3  # the erasure lists 3

    def path_too_long(bad: dict[str, Any]) -> None:
        path = bad["entries"][0]["erased"]["member"]["path"]
        path.append(path[0])

    def salt_changed(bad: dict[str, Any]) -> None:
        # Any key may log a digest record of a forged statement, but not with this salt.
        bad["erasures"][0]["record"]["salt"] = "ab" * 16

    def table_missing(bad: dict[str, Any]) -> None:
        del bad["erasures"]

    def not_filed(bad: dict[str, Any]) -> None:
        del bad["erasures"][0]["filed"]

    def filed_other_window(bad: dict[str, Any]) -> None:
        # the proof that the other erasure's record (leaf 25) is filed, not this one's
        bad["erasures"][0]["filed"] = filed_json(filed_at(records_at[1]))

    def filed_other_key(bad: dict[str, Any]) -> None:
        # account:acct-0's own map path and postings, given as statement:log's
        claim = build_claim(live.store, size, "account:acct-0", postings["account:acct-0"])
        assert claim.postings_root is not None and claim.window is not None
        other = FiledProof(claim.count, claim.postings_root, claim.map_proof, claim.window)
        bad["erasures"][0]["filed"] = filed_json(other)

    # An operator's false index that leaves the first erasure's record (leaf 24) out of
    # statement:log, as one that means to erase it later must (the audit fails an erased
    # line filed under it): the document is made against that index's root.
    unfiled = {**postings, STATEMENT_KEY: [records_at[1]]}
    false_map = SparseMap()
    false_map.apply({key_hash(k): (len(v), postings_root(v)) for k, v in unfiled.items()})
    false_index = document("account:acct-0", True, false_map.store)
    empty_window = build_claim(false_map.store, size, STATEMENT_KEY, unfiled[STATEMENT_KEY], 24, 25)
    assert empty_window.postings_root is not None and empty_window.window is not None
    false_index["erasures"][0]["filed"] = filed_json(
        FiledProof(
            empty_window.count,
            empty_window.postings_root,
            empty_window.map_proof,
            empty_window.window,
        )
    )
    add(
        "erased-record-not-filed",
        false_index,
        "erasure",
        "an index that does not file the erasure's record under statement:log",
    )

    forged(
        "erased-live-entry",
        live_shown_erased,
        "a live entry shown erased by a logged erasure that does not list it",
    )
    forged("erased-wrong-path", wrong_path, "a membership path with one node changed")
    forged(
        "erased-statement-changed",
        statement_changed,
        "an erasure statement that is not the one its digest record commits to",
    )
    forged(
        "erased-record-not-included",
        not_included,
        "the erasure's digest record not included in the document's tree",
    )
    forged(
        "erased-beyond-size",
        beyond_size,
        "the erasure's digest record at a leaf index not within the tree size",
    )
    forged("erased-time-changed", time_changed, "a marker's time not the erasure's")
    forged(
        "erased-position-past-count",
        position_past_count,
        "a membership position at the erasure's count",
    )
    forged("erased-path-too-long", path_too_long, "a membership path one node too long")
    forged(
        "erased-record-salt",
        salt_changed,
        "the erasure's digest record without the salt of the log's own statement records",
    )
    forged(
        "erased-table-missing",
        table_missing,
        "markers with membership proofs but the erasure they name not given",
    )
    forged(
        "erased-filed-missing",
        not_filed,
        "the erasure given without the proof that its record is filed under statement:log",
    )
    forged(
        "erased-filed-other-window",
        filed_other_window,
        "the statement:log proof of another statement record's leaf index",
    )
    forged(
        "erased-filed-other-key",
        filed_other_key,
        "another key's map path and postings given as statement:log's",
    )


def json_bytes(record: dict[str, Any]) -> bytes:
    return parse_object(copy.deepcopy(record)).canonical


def build() -> dict[str, bytes]:
    cases = [
        map_case("empty", 0, {}, ["account:a"]),
        map_case("one key", 1, {"account:a": [0]}, ["account:b"]),
        map_case(
            "five keys",
            9,
            {
                "account:a": [0, 3, 8],
                "account:b": [1],
                "model:m": [0, 1, 2, 3, 4, 5, 6],
                "licence:L": [7],
                "licensee:acme": [7],
            },
            ["account:c", "model_id:x"],
        ),
        map_case(
            "forty keys",
            200,
            {f"account:k{i}": list(range(i, 200, 40)) for i in range(40)},
            [f"account:z{i}" for i in range(4)],
        ),
    ]
    files, manifest = documents()
    files["map.json"] = (
        json.dumps(
            {
                "description": "Map roots and proofs of ledger.core.index (docs/completeness.md):"
                " leaf SHA-256(0x02||k||u64be(n)||P), node SHA-256(0x03||l||r), empty 32 zero"
                " bytes; a proof as completeness/v1 writes it: the depth, the bitmap of the"
                " empty siblings (root side first), the others as one base64 string.",
                "cases": cases,
            },
            indent=1,
        )
        + "\n"
    ).encode()
    files["manifest.json"] = (json.dumps({"documents": manifest}, indent=1) + "\n").encode()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the files differ")
    args = parser.parse_args(argv)
    files = build()
    if args.check:
        stale = [
            p
            for p, data in files.items()
            if not (OUT / p).exists() or (OUT / p).read_bytes() != data
        ]
        if stale:
            print(f"stale: {stale}", file=sys.stderr)
            return 1
        return 0
    for path, data in files.items():
        (OUT / path).parent.mkdir(parents=True, exist_ok=True)
        (OUT / path).write_bytes(data)
    print(f"wrote {len(files)} files to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
