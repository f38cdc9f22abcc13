"""Write tests/vectors/: the documents both verifiers must read alike.

The corpus proves the Python verifiers (`mledger verify`, `mledger licence check`, the log
identity reader and the JSON reading rule of ledger/formats/strict_json.py) and the
browser page's core (ledger/web/verify-*.js) give the same verdict, naming the same
check, on the same bytes. tests/web/test_vectors.py runs every vector through both and
fails if a file here differs from what this script writes (run it after a change):

    .venv/bin/python scripts/make_vectors.py

Deterministic: fixed records, salts, keys and times; no randomness, no clock.

Layout (all paths relative to tests/vectors/):
    vectors.json            the manifest: every vector, its file, what it shows, and the
                            outcome both verifiers must give
    identity/*.json         log identity documents (the pinned ones among them)
    evidence/*.json         evidence bundles and packs
    licence/*.json          licence files (a record, or a GET /v1/licences/{id} answer)
    json/*.json             documents for the JSON reading rule alone
    tlog-proof/             c2sp.org/tlog-proof@v1 files, the records and log identities
                            they are checked with, and manifest.json: per case the
                            witnesses, the quorum, the clock, and the lines `mledger verify`
                            prints (tests/web/tlog_proofs.py builds them; checked by
                            tests/web/test_tlog_proof_parity.py)

Outcomes: evidence and licences give one `offline` (no identity pinned) and one `pinned`
(the vector's identity pinned, still no chain) outcome: {"verdict": "mathematics only"}
or {"verdict": "invalid", "check": NAME}, with the "field" that differs when the check is
"log identity" (a document about another chain, contract, log id or registry). Identity
documents: {"verdict": "accepted"} or {"verdict": "refused", "field": FIELD} ("" for the
document as a whole). JSON documents:
{"verdict": "accepted"} (and both must read the same value) or {"verdict": "refused"}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger.core.disclosure import disclose
from ledger.core.merkle import inclusion_proof, root_hash
from ledger.core.merkle.multiproof import multi_inclusion_ranges
from ledger.core.records import parse_object
from ledger.formats.cosignature import Cosigner
from ledger.formats.note import ALG_ED25519, Note, Signature, Signer, VerifierKey, key_id
from ledger.formats.tlog_checkpoint import Checkpoint

OUT = Path(__file__).resolve().parents[1] / "tests" / "vectors"
"""Where the corpus lives."""

FOLDERS = ("identity", "evidence", "licence", "json", "tlog-proof")
"""The corpus folders this script owns entirely (anything else in them is stale)."""

MANIFEST = "vectors.json"

Outcome = dict[str, str]
MO: Outcome = {"verdict": "mathematics only"}


def invalid(check: str, field: str | None = None) -> Outcome:
    """A failed check (and, for "log identity", the field that differs)."""
    return {"verdict": "invalid", "check": check} | ({"field": field} if field is not None else {})


def refused(field: str = "") -> Outcome:
    return {"verdict": "refused", "field": field}


ACCEPTED: Outcome = {"verdict": "accepted"}


def hx(data: bytes) -> str:
    return "0x" + data.hex()


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pretty(document: Any) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


# -- the log -----------------------------------------------------------------------------------

LOG_NAME = "model-ledger"
CHAIN_ID = 31337
LOG_ANCHOR = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
REGISTRY = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
SIGNER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
LOG_ID = hx(hashlib.sha256(LOG_NAME.encode()).digest())
STRANGER = "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"
"""Another deployment of LogAnchor (or LicenceRegistry): anyone can make one."""

IDENTITY: dict[str, Any] = {
    "format": "model-ledger/log/v1",
    "name": LOG_NAME,
    "chain_id": CHAIN_ID,
    "log_anchor": LOG_ANCHOR,
    "log_id": LOG_ID,
    "licence_registry": REGISTRY,
    "log_signer": SIGNER,
    "deployment_block": 1,
    "rpc_url": "http://127.0.0.1:8545",
    "explorer": "https://explorer.example/",
}

ANCHOR = {
    "tx_hash": hx(hashlib.sha256(b"anchor tx").digest()),
    "block_number": 7,
    "block_hash": hx(hashlib.sha256(b"block 7").digest()),
    "block_timestamp": 1_780_000_000,
}


# -- records -------------------------------------------------------------------------------------


def salt(n: int) -> str:
    return hashlib.sha256(f"salt {n}".encode()).hexdigest()[:32]


def interaction(n: int, account: str, model: str, ts: str, **extra: Any) -> dict[str, Any]:
    body = {
        "account_id": account,
        "input_tokens": 100 + n,
        "model": model,
        "output_tokens": 2 * n + 1,
        "prompt_sha256": sha(f"prompt {n}"),
        "request_id": f"req-{n}",
        "response_sha256": sha(f"response {n}"),
    } | extra
    return {"v": 1, "kind": "interaction", "ts": ts, "salt": salt(n), "body": body}


def licence(n: int, **changes: Any) -> dict[str, Any]:
    body = {
        "action": "grant",
        "licence_id": f"lic-{n}",
        "licensee": "acct-acme",
        "models": ["frontier-*"],
        "scope": ["inference", "fine-tune"],
        "terms_sha256": sha(f"terms {n}"),
        "valid_from": "2026-01-01T00:00:00.000Z",
        "valid_until": "2027-01-01T00:00:00.000Z",
    } | changes
    return {
        "v": 1,
        "kind": "licence",
        "ts": "2026-01-01T00:00:00.000Z",
        "salt": salt(1000 + n),
        "body": body,
    }


def model_record(n: int) -> dict[str, Any]:
    body = {
        "artifact_sha256": sha(f"weights {n}"),
        "licence_id": "lic-1",
        "model_id": "org/frontier-ft",
        "parents": [{"model_id": "org/frontier", "relation": "fine-tune", "version": "3"}],
        "version": "1",
    }
    return {
        "v": 1,
        "kind": "model",
        "ts": "2026-02-02T02:02:02.002Z",
        "salt": salt(2000 + n),
        "body": body,
    }


def digest_record(n: int) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "digest",
        "ts": "2026-03-03T03:03:03.003Z",
        "salt": salt(3000 + n),
        "body": {"sha256": sha(f"doc {n}")},
    }


AWKWARD = '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["{{ é 🙂 \u2028 \\u0000'
"""Text full of what trips JSON readers: brackets and quotes inside a string, non-ASCII,
an astral character, a line separator, a backslash."""

RECORDS: list[dict[str, Any]] = [
    interaction(0, "acct-alice", "frontier-large", "2026-06-01T09:00:00.000Z"),
    interaction(1, "acct-bob", "frontier-small", "2026-06-01T10:30:00.250Z"),
    licence(1),
    interaction(2, "acct-alice", "frontier-large", "2026-06-02T11:00:00.000Z", endpoint=AWKWARD),
    model_record(1),
    interaction(
        3,
        "acct-carol",
        "coder-2",
        "2026-06-02T12:00:00.000Z",
        metadata={"a.b": "x", "n": -5, "ok": True},
    ),
    digest_record(1),
    interaction(
        4,
        "acct-alice",
        "coder-2",
        "2026-06-03T08:00:00.999Z",
        client={"asn": 64500, "user_agent": "curl/8"},
    ),
    interaction(5, "acct-bob", "frontier-large", "2026-06-03T23:59:59.999Z", api_key_id="key-7"),
    interaction(6, "acct-alice", "frontier-small", "2026-06-04T00:00:00.000Z"),
    interaction(
        7, "acct-dave", "frontier-large", "2026-06-05T05:05:05.005Z", endpoint="/v1/chat 🙂"
    ),
    licence(2, action="amend", reason="more models", models=["frontier-*", "coder-*"]),
    interaction(8, "acct-alice", "frontier-large", "2026-06-06T06:06:06.006Z"),
]
"""The log's 13 entries, in order."""

LEAVES = [parse_object(record).leaf_hash for record in RECORDS]
SIZE = len(LEAVES)
ROOT = hx(root_hash(LEAVES))


def bundle(*indices: int, **changes: Any) -> dict[str, Any]:
    """The bundle of the entries at `indices`."""
    return {
        "format": "model-ledger/evidence/v1",
        "chain_id": CHAIN_ID,
        "contract": LOG_ANCHOR,
        "log_id": LOG_ID,
        "checkpoint": {"tree_size": SIZE, "root": ROOT, "anchor": dict(ANCHOR)},
        "entries": [
            {
                "leaf_index": i,
                "leaf_hash": hx(LEAVES[i]),
                "record": json.loads(json.dumps(RECORDS[i])),
                "proof": [hx(node) for node in inclusion_proof(i, LEAVES)],
            }
            for i in indices
        ],
    } | changes


def pack(indices: list[int], query: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The pack of the entries at `indices` (increasing), stating `query`."""
    ranges = multi_inclusion_ranges(indices, SIZE)
    return {
        "format": "model-ledger/evidence-pack/v1",
        "chain_id": CHAIN_ID,
        "contract": LOG_ANCHOR,
        "log_id": LOG_ID,
        "checkpoint": {"tree_size": SIZE, "root": ROOT, "anchor": dict(ANCHOR)},
        "query": query,
        "entries": [
            {"leaf_index": i, "record": json.loads(json.dumps(RECORDS[i]))} for i in indices
        ],
        "proof": [hx(root_hash(LEAVES[a:b])) for a, b in ranges],
    } | changes


ALICE = [0, 3, 7, 9, 12]
"""acct-alice's interactions."""
ALICE_QUERY = {
    "account_ids": ["acct-alice"],
    "from": "2026-06-01",
    "to": "2026-06-07T00:00:00Z",
    "kind": "interaction",
}


def edited(document: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(document))
    change(copy)
    return copy


def flip(hex_text: str) -> str:
    """The same hash with its last digit changed."""
    return hex_text[:-1] + ("0" if hex_text[-1] != "0" else "1")


def replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) >= 1, old
    return data.replace(old, new, 1)


# -- the vectors ---------------------------------------------------------------------------------


class Corpus:
    """Files and manifest entries, added in order."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.vectors: list[dict[str, Any]] = []

    def add(self, kind: str, name: str, data: bytes, about: str, **outcome: Any) -> None:
        folder = {
            "evidence": "evidence",
            "licence": "licence",
            "identity": "identity",
            "json": "json",
        }[kind]
        path = f"{folder}/{name}.json"
        assert path not in self.files, path
        self.files[path] = data
        self.vectors.append({"name": name, "kind": kind, "file": path, "about": about, **outcome})

    def checked(
        self,
        kind: str,
        name: str,
        data: bytes | dict[str, Any],
        about: str,
        offline: Outcome,
        pinned: Outcome,
        identity: str = "identity/log.json",
    ) -> None:
        """An evidence or licence vector: its outcome offline and with `identity` pinned."""
        raw = data if isinstance(data, bytes) else pretty(data)
        extra = {} if identity == "identity/log.json" else {"identity": identity}
        self.add(kind, name, raw, about, offline=offline, pinned=pinned, **extra)

    def evidence(self, *args: Any, **kwargs: Any) -> None:
        self.checked("evidence", *args, **kwargs)

    def licence(self, *args: Any, **kwargs: Any) -> None:
        self.checked("licence", *args, **kwargs)

    def identity(
        self, name: str, data: bytes | dict[str, Any], about: str, expect: Outcome
    ) -> None:
        raw = data if isinstance(data, bytes) else pretty(data)
        self.add("identity", name, raw, about, expect=expect)

    def json(self, name: str, data: bytes, about: str, accepted: bool) -> None:
        self.add("json", name, data, about, expect=ACCEPTED if accepted else {"verdict": "refused"})


def identities(c: Corpus) -> None:
    c.identity(
        "log",
        IDENTITY,
        "the log's identity, as `mledger identity` prints it (the one pinned by default)",
        ACCEPTED,
    )
    minimal = {k: v for k, v in IDENTITY.items() if k not in ("rpc_url", "explorer")} | {
        "licence_registry": None
    }
    c.identity(
        "log-no-registry",
        minimal,
        "no rpc_url, no explorer, a log that issues no licences",
        ACCEPTED,
    )
    text = pretty(IDENTITY)
    c.identity("bom", b"\xef\xbb\xbf" + text, "a UTF-8 byte order mark", refused())
    c.identity(
        "duplicate-key",
        replace_once(text, b'"chain_id": 31337,', b'"chain_id": 1,\n  "chain_id": 31337,'),
        "chain_id twice: which one counts?",
        refused(),
    )
    c.identity(
        "float-chain-id",
        replace_once(text, b"31337", b"31337.0"),
        "a chain id written 31337.0",
        refused(),
    )
    c.identity(
        "unknown-field",
        IDENTITY | {"witness": "w"},
        "a field this format does not have",
        refused("witness"),
    )
    c.identity(
        "missing-signer",
        {k: v for k, v in IDENTITY.items() if k != "log_signer"},
        "no log_signer",
        refused("log_signer"),
    )
    c.identity(
        "uppercase-anchor",
        IDENTITY | {"log_anchor": LOG_ANCHOR.upper().replace("0X", "0x")},
        "uppercase hex",
        refused("log_anchor"),
    )
    c.identity("chain-id-zero", IDENTITY | {"chain_id": 0}, "chain id 0", refused("chain_id"))
    c.identity("chain-id-bool", IDENTITY | {"chain_id": True}, "chain id true", refused("chain_id"))
    c.identity(
        "rpc-javascript",
        IDENTITY | {"rpc_url": "javascript:alert(1)"},
        "an rpc_url that is not http(s)",
        refused("rpc_url"),
    )
    c.identity(
        "explorer-space",
        IDENTITY | {"explorer": "https://explorer.example/ x"},
        "a space in the explorer URL",
        refused("explorer"),
    )
    c.identity(
        "explorer-nbsp",
        IDENTITY | {"explorer": "https://explorer.example/\u00a0x"},
        "a no-break space (Unicode whitespace)",
        refused("explorer"),
    )
    c.identity(
        "explorer-unit-separator",
        IDENTITY | {"explorer": "https://explorer.example/\u001fx"},
        "U+001F, whitespace to Python's \\s and not to JavaScript's",
        refused("explorer"),
    )
    c.identity(
        "explorer-bom-char",
        IDENTITY | {"explorer": "https://explorer.example/\ufeffx"},
        "U+FEFF, whitespace to JavaScript's \\s and not to Python's",
        ACCEPTED,
    )
    c.identity("name-empty", IDENTITY | {"name": ""}, "an empty name", refused("name"))
    c.identity(
        "name-257", IDENTITY | {"name": "n" * 257}, "a name of 257 characters", refused("name")
    )
    c.identity(
        "name-256-astral",
        IDENTITY | {"name": "🙂" * 256},
        "256 characters, 512 UTF-16 units",
        ACCEPTED,
    )
    c.identity(
        "too-big",
        text[:-2] + b" " * (64 * 1024 - len(text) + 1) + b"}\n",
        "one byte over 64 KiB",
        refused(),
    )
    c.identity(
        "at-limit", text[:-2] + b" " * (64 * 1024 - len(text)) + b"}\n", "exactly 64 KiB", ACCEPTED
    )
    c.identity(
        "wrong-format",
        IDENTITY | {"format": "model-ledger/log/v2"},
        "another format",
        refused("format"),
    )
    c.identity("array", b"[]\n", "not an object", refused())
    c.identity(
        "deployment-block-negative",
        IDENTITY | {"deployment_block": -1},
        "a negative block",
        refused("deployment_block"),
    )
    c.identity(
        "two-faults",
        IDENTITY | {"name": "", "chain_id": "1"},
        "the first fault in the reader's order is named",
        refused("name"),
    )
    c.identity(
        "registry-short",
        IDENTITY | {"licence_registry": REGISTRY[:-2]},
        "an address of 19 bytes",
        refused("licence_registry"),
    )
    c.identity(
        "lone-surrogate-name",
        replace_once(text, b'"model-ledger"', b'"\\ud800"'),
        "a name holding a lone surrogate",
        ACCEPTED,
    )
    for label, public, what in (
        ("small-order", bytes([1]) + bytes(31), "the identity point (small order)"),
        ("non-canonical", (2**255 - 18).to_bytes(32, "little"), "y = p + 1 (not canonical)"),
    ):
        name = "ledger.example/model-ledger"
        weak = VerifierKey(name, key_id(name, ALG_ED25519, public), ALG_ED25519, public)
        c.identity(
            f"note-vkey-{label}",
            IDENTITY | {"note_vkey": weak.text()},
            f"a note key that is {what}: a signature under it is anyone's",
            refused("note_vkey"),
        )


def evidence(c: Corpus) -> None:
    one = bundle(3)
    c.evidence(
        "bundle",
        one,
        "a valid bundle (its record's text full of brackets, quotes, an emoji)",
        MO,
        MO,
    )
    c.evidence(
        "bundle-reordered",
        json.dumps(json.loads(pretty(bundle(1)).decode()), indent=5, sort_keys=True)
        .replace('"acct-bob"', '"\\u0061cct-bob"')
        .encode(),
        "keys in another order, other whitespace, an escaped letter: the same values",
        MO,
        MO,
    )
    c.evidence(
        "bundle-three",
        bundle(2, 4, 6),
        "a licence, a model and a digest record in one bundle",
        MO,
        MO,
    )
    c.evidence(
        "bundle-every-field",
        bundle(5, 7, 8, 10, 11),
        "metadata, client, api key, an emoji, an amendment",
        MO,
        MO,
    )
    c.evidence(
        "bundle-producer",
        bundle(3, producer="mledger 0.1.0"),
        "the version of mledger that wrote it: a note, no check depends on it",
        MO,
        MO,
    )
    c.evidence(
        "bundle-producer-not-text",
        bundle(3, producer=1),
        "a producer that is not a string",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "bundle-time-past-9999",
        edited(one, lambda d: d["checkpoint"]["anchor"].update(block_timestamp=2**63)),
        "a claimed block time no calendar can print",
        MO,
        MO,
    )
    c.evidence(
        "pack",
        pack(ALICE, ALICE_QUERY),
        "a valid pack: acct-alice's interactions of 1-7 June",
        MO,
        MO,
    )
    c.evidence("pack-one", pack([4], {"kind": "model"}), "a pack of one entry", MO, MO)
    c.evidence(
        "pack-everything", pack(list(range(SIZE)), {}), "every entry: the proof is empty", MO, MO
    )
    text = pretty(one)
    c.evidence(
        "bundle-bom",
        b"\xef\xbb\xbf" + text,
        "a UTF-8 byte order mark",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "pack-bom",
        b"\xef\xbb\xbf" + pretty(pack(ALICE, ALICE_QUERY)),
        "a pack with a byte order mark",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "duplicate-key",
        replace_once(text, b'"chain_id": 31337,', b'"chain_id": 1,\n  "chain_id": 31337,'),
        "chain_id twice",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "duplicate-key-in-record",
        replace_once(
            text, b'"input_tokens": 102,', b'"input_tokens": 9,\n        "input_tokens": 102,'
        ),
        "a record field twice (a reader keeping the first would hash another record)",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "duplicate-key-escaped",
        replace_once(text, b'"v": 1', b'"v": 1, "\\u0076": 1'),
        "the same key written two ways",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "float-in-record",
        replace_once(text, b'"input_tokens": 102', b'"input_tokens": 102.0'),
        "a number with a fraction",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "exponent",
        replace_once(text, b'"tree_size": 13', b'"tree_size": 1.3e1'),
        "a number with an exponent",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "nan",
        replace_once(text, b'"block_number": 7', b'"block_number": NaN'),
        "NaN",
        invalid("bundle"),
        invalid("bundle"),
    )
    deep = "[" * 32 + "]" * 32
    c.evidence(
        "deep-33",
        replace_once(text, b'"format"', f'"x": {deep},\n  "format"'.encode()),
        "nested 33 deep",
        invalid("bundle"),
        invalid("bundle"),
    )
    deep_record = edited(one, lambda d: d["entries"][0]["record"]["body"].update(metadata={"k": 0}))
    c.evidence(
        "deep-32-in-record",
        replace_once(pretty(deep_record), b'"k": 0', f'"k": {"[" * 26}0{"]" * 26}'.encode()),
        "nested exactly 32 deep: read, then refused as a record (metadata values are flat)",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "not-utf8",
        replace_once(text, b"acct-alice", b"acct-\xffalice"),
        "a byte that is not UTF-8",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "surrogate-bytes",
        replace_once(text, b"acct-alice", b"acct-\xed\xa0\x80alice"),
        "a lone surrogate written as bytes (CESU-8): not UTF-8",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "surrogate-escaped-value",
        replace_once(text, b'"acct-alice"', b'"acct-\\ud800"'),
        "a lone surrogate escaped in a record value: no RFC 8785 text",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "surrogate-escaped-key",
        replace_once(text, b'"account_id"', b'"\\udc00": 1, "account_id"'),
        "a lone surrogate escaped in a record key",
        invalid("record"),
        invalid("record"),
    )
    pair = edited(one, lambda d: None)
    c.evidence(
        "surrogate-pair-escaped",
        replace_once(pretty(pair), "🙂".encode(), b"\\ud83d\\ude42"),
        "an emoji written as an escaped surrogate pair: the same record",
        MO,
        MO,
    )
    c.evidence(
        "null-field",
        edited(one, lambda d: d["entries"][0]["record"]["body"].update(api_key_id=None)),
        "an absent field written null: not canonical",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "v-true",
        edited(one, lambda d: d["entries"][0]["record"].update(v=True)),
        "v written true: not canonical",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "model-no-parents",
        edited(bundle(4), lambda d: d["entries"][0]["record"]["body"].pop("parents")),
        "a model record without its parents list: not canonical",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "record-unknown-field",
        edited(one, lambda d: d["entries"][0]["record"]["body"].update(extra="x")),
        "a record field v1 does not have",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "record-uppercase-salt",
        edited(one, lambda d: d["entries"][0]["record"].update(salt=salt(2).upper())),
        "a salt in uppercase hex",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "record-2-pow-53",
        edited(one, lambda d: d["entries"][0]["record"]["body"].update(input_tokens=2**53)),
        "an integer beyond 2^53 - 1",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "record-kind-object",
        edited(one, lambda d: d["entries"][0]["record"].update(kind={"a": 1})),
        "a kind that is an object",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "record-bool-tokens",
        edited(one, lambda d: d["entries"][0]["record"]["body"].update(input_tokens=True)),
        "a count written true",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "record-too-big",
        edited(
            one,
            lambda d: d["entries"][0]["record"]["body"].update(
                metadata={f"k{i}": "x" * 1024 for i in range(16)}
            ),
        ),
        "a record over 16384 bytes",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "record-bad-date",
        edited(one, lambda d: d["entries"][0]["record"].update(ts="2026-02-29T00:00:00.000Z")),
        "29 February 2026",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "record-arabic-digit",
        edited(one, lambda d: d["entries"][0]["record"].update(ts="2026-06-02T11:00:00.00\u0663Z")),
        "a timestamp with an Arabic-Indic digit",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "record-long-id",
        edited(one, lambda d: d["entries"][0]["record"]["body"].update(account_id="🙂" * 257)),
        "an id of 257 characters (514 UTF-16 units)",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "record-astral-id",
        edited(one, lambda d: d["entries"][0]["record"]["body"].update(account_id="🙂" * 256)),
        "an id of 256 characters: valid, but another record than the logged one",
        invalid("leaf hash"),
        invalid("leaf hash"),
    )
    c.evidence(
        "record-changed",
        edited(one, lambda d: d["entries"][0]["record"]["body"].update(input_tokens=103)),
        "one field changed: another leaf hash",
        invalid("leaf hash"),
        invalid("leaf hash"),
    )
    c.evidence(
        "proof-node-changed",
        edited(
            one,
            lambda d: d["entries"][0]["proof"].__setitem__(1, flip(d["entries"][0]["proof"][1])),
        ),
        "a proof node changed",
        invalid("inclusion"),
        invalid("inclusion"),
    )
    c.evidence(
        "proof-short",
        edited(one, lambda d: d["entries"][0]["proof"].pop()),
        "a proof node missing",
        invalid("inclusion"),
        invalid("inclusion"),
    )
    c.evidence(
        "index-beyond-size",
        edited(one, lambda d: d["entries"][0].update(leaf_index=13)),
        "leaf index 13 of 13",
        invalid("inclusion"),
        invalid("inclusion"),
    )
    c.evidence(
        "root-changed",
        edited(one, lambda d: d["checkpoint"].update(root=flip(ROOT))),
        "another root",
        invalid("inclusion"),
        invalid("inclusion"),
    )
    c.evidence(
        "size-changed",
        edited(one, lambda d: d["checkpoint"].update(tree_size=14)),
        "tree size 14: the proof of leaf 3 has the same nodes in a tree of"
        " 14, and leads to the same root (only the chain pins the size)",
        MO,
        MO,
    )
    c.evidence(
        "duplicate-entry",
        edited(bundle(3, 5), lambda d: d["entries"].__setitem__(1, d["entries"][0])),
        "the same entry listed twice",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "uppercase-contract",
        edited(one, lambda d: d.update(contract="0x" + LOG_ANCHOR[2:].upper())),
        "uppercase hex",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "unknown-field",
        edited(one, lambda d: d.update(note="x")),
        "a field the format does not have",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "missing-field",
        edited(one, lambda d: d.pop("log_id")),
        "no log_id",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "tree-size-zero",
        edited(one, lambda d: d["checkpoint"].update(tree_size=0)),
        "tree size 0",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "chain-id-bool",
        edited(one, lambda d: d.update(chain_id=True)),
        "chain id true",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "no-entries",
        edited(one, lambda d: d.update(entries=[])),
        "no entries",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "proof-65-nodes",
        edited(one, lambda d: d["entries"][0].update(proof=[ROOT] * 65)),
        "65 proof nodes",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "unknown-format",
        edited(one, lambda d: d.update(format="model-ledger/evidence/v2")),
        "another format",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "no-format",
        edited(one, lambda d: d.pop("format")),
        "no format",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence("array", b"[]", "a JSON array", invalid("bundle"), invalid("bundle"))
    c.evidence("empty", b"", "an empty file", invalid("bundle"), invalid("bundle"))
    c.evidence(
        "trailing-garbage",
        text + b"x",
        "a bundle and then more",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "escaped-quotes-unterminated",
        ESCAPED_QUOTES_128K,
        "an unterminated string of 64 Ki escaped quotes (128 KiB): refused"
        " in linear time (the page's depth check was quadratic on it)",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "deep-after-the-value",
        b"{}" + b"[" * 40,
        "a value, then 40 brackets: not too deep (only the first"
        " value's nesting counts), refused as extra data",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "int-4301-digits",
        replace_once(text, b'"block_number": 7', b'"block_number": ' + b"7" * 4301),
        "an integer of 4301 digits (Python reads at most 4300)",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "other-contract",
        edited(one, lambda d: d.update(contract=STRANGER)),
        "a bundle about a copy of LogAnchor at another address",
        MO,
        invalid("log identity", "log_anchor"),
    )
    c.evidence(
        "other-log-id",
        edited(one, lambda d: d.update(log_id=hx(hashlib.sha256(b"another log").digest()))),
        "a bundle about another log id",
        MO,
        invalid("log identity", "log_id"),
    )
    c.evidence(
        "other-chain",
        edited(one, lambda d: d.update(chain_id=1)),
        "a bundle about another chain",
        MO,
        invalid("log identity", "chain_id"),
    )
    alice = pack(ALICE, ALICE_QUERY)
    c.evidence(
        "pack-same-index-twice",
        edited(alice, lambda d: d["entries"].insert(1, d["entries"][0])),
        "a pack listing one entry twice",
        invalid("pack"),
        invalid("pack"),
    )
    twice = pack([0, 12], {})
    twice["entries"][1]["record"] = twice["entries"][0]["record"]
    c.evidence(
        "pack-same-record-twice",
        twice,
        "one record at two leaf indices",
        invalid("records"),
        invalid("records"),
    )
    c.evidence(
        "pack-unordered",
        edited(alice, lambda d: d["entries"].reverse()),
        "leaf indices not increasing",
        invalid("pack"),
        invalid("pack"),
    )
    c.evidence(
        "pack-index-beyond-size",
        edited(alice, lambda d: d["entries"][-1].update(leaf_index=13)),
        "leaf index 13 of 13",
        invalid("pack"),
        invalid("pack"),
    )
    c.evidence(
        "pack-proof-short",
        edited(alice, lambda d: d["proof"].pop()),
        "a proof node missing",
        invalid("inclusion"),
        invalid("inclusion"),
    )
    c.evidence(
        "pack-proof-long",
        edited(alice, lambda d: d["proof"].append(ROOT)),
        "a proof node too many",
        invalid("inclusion"),
        invalid("inclusion"),
    )
    c.evidence(
        "pack-proof-changed",
        edited(alice, lambda d: d["proof"].__setitem__(0, flip(d["proof"][0]))),
        "a proof node changed",
        invalid("inclusion"),
        invalid("inclusion"),
    )
    c.evidence(
        "pack-query-mismatch",
        edited(alice, lambda d: d["query"].update(to="2026-06-06")),
        "an entry of 6 June in a pack for up to 5 June",
        invalid("query"),
        invalid("query"),
    )
    c.evidence(
        "pack-query-unknown-field",
        edited(alice, lambda d: d["query"].update(region="eu")),
        "a query field that does not exist",
        invalid("pack"),
        invalid("pack"),
    )
    c.evidence(
        "pack-producer",
        pack(ALICE, ALICE_QUERY, producer="mledger 0.1.0"),
        "the version of mledger that wrote it: a note, no check depends on it",
        MO,
        MO,
    )
    c.evidence(
        "pack-producer-too-long",
        pack(ALICE, ALICE_QUERY, producer="😀" * 201),
        "a producer of 201 characters (the limit is 200; each an emoji: UTF-16 counts 402)",
        invalid("pack"),
        invalid("pack"),
    )
    c.evidence(
        "pack-query-fullwidth",
        edited(alice, lambda d: d["query"].update(to="２０２７-01-01")),
        "a bound in fullwidth digits: reads as 2027, sorts after every timestamp",
        invalid("pack"),
        invalid("pack"),
    )
    c.evidence(
        "pack-query-newline",
        edited(alice, lambda d: d["query"].update(to="2026-06-07\n")),
        "a bound with a trailing newline",
        invalid("pack"),
        invalid("pack"),
    )
    c.evidence(
        "pack-query-reversed",
        edited(alice, lambda d: d["query"].update({"from": "2026-06-07"})),
        "from after to",
        invalid("pack"),
        invalid("pack"),
    )
    c.evidence(
        "pack-query-not-a-date",
        edited(alice, lambda d: d["query"].update({"from": "2026-02-30"})),
        "30 February",
        invalid("pack"),
        invalid("pack"),
    )
    c.evidence(
        "pack-query-second-60",
        edited(alice, lambda d: d["query"].update({"from": "2026-06-01T00:00:60Z"})),
        "second 60",
        invalid("pack"),
        invalid("pack"),
    )
    c.evidence(
        "pack-null-field",
        edited(alice, lambda d: d["entries"][0]["record"]["body"].update(endpoint=None)),
        "an absent field written null",
        invalid("records"),
        invalid("records"),
    )
    c.evidence(
        "pack-record-changed",
        edited(alice, lambda d: d["entries"][2]["record"]["body"].update(output_tokens=1)),
        "a record changed: the multi-entry proof leads to another root",
        invalid("inclusion"),
        invalid("inclusion"),
    )
    c.evidence(
        "pack-duplicate-key",
        replace_once(pretty(alice), b'"query": {', b'"query": {"kind": "licence", '),
        "a query field twice",
        invalid("bundle"),
        invalid("bundle"),
    )
    c.evidence(
        "pack-other-log-id",
        edited(alice, lambda d: d.update(log_id=hx(hashlib.sha256(b"another log").digest()))),
        "a pack about another log id",
        MO,
        invalid("log identity", "log_id"),
    )


# -- v2 records: per-field commitments and disclosures (a log of their own) ------------------


def as_v2(record: dict[str, Any]) -> dict[str, Any]:
    return record | {"v": 2}


V2_RECORDS: list[dict[str, Any]] = [
    as_v2(
        interaction(
            20,
            "acct-erin",
            "frontier-large",
            "2026-06-10T10:00:00.000Z",
            endpoint=AWKWARD,
            client={"asn": 64500, "user_agent": "sdk/2 🙂"},
            metadata={"z": 1, "a.b": "x" * 80, "ok": False},
        )
    ),
    as_v2(licence(20)),
    as_v2(model_record(20)),
    as_v2(digest_record(20)),
    as_v2(interaction(21, "acct-erin", "coder-2", "2026-06-11T11:00:00.000Z")),
]
"""A v2 log of five entries (every kind), apart from the v1 log's so its vectors stay."""

V2_ENTRIES = [parse_object(record) for record in V2_RECORDS]
V2_LEAVES = [entry.leaf_hash for entry in V2_ENTRIES]
V2_ROOT = hx(root_hash(V2_LEAVES))


def v2_bundle(disclosed: dict[int, tuple[str, ...]], *indices: int) -> dict[str, Any]:
    """The bundle of v2 entries at `indices`, those in `disclosed` opening only those fields."""
    return {
        "format": "model-ledger/evidence/v1",
        "chain_id": CHAIN_ID,
        "contract": LOG_ANCHOR,
        "log_id": LOG_ID,
        "checkpoint": {"tree_size": len(V2_LEAVES), "root": V2_ROOT, "anchor": dict(ANCHOR)},
        "entries": [
            {
                "leaf_index": i,
                "leaf_hash": hx(V2_LEAVES[i]),
                "record": (
                    disclose(V2_ENTRIES[i].canonical, disclosed[i])
                    if i in disclosed
                    else json.loads(json.dumps(V2_RECORDS[i]))
                ),
                "proof": [hx(node) for node in inclusion_proof(i, V2_LEAVES)],
            }
            for i in indices
        ],
    }


def evidence_v2(c: Corpus) -> None:
    c.evidence("bundle-v2", v2_bundle({}, 0, 1, 2, 3), "whole v2 records of every kind", MO, MO)
    part = v2_bundle({0: ("account_id", "model")}, 0)
    c.evidence("bundle-v2-disclosed", part, "a v2 interaction, two fields disclosed", MO, MO)
    c.evidence(
        "bundle-v2-disclosed-many",
        v2_bundle(
            {
                0: ("api_key_id", "client", "endpoint", "metadata"),
                1: ("licensee", "valid_until"),
                2: ("parents",),
                3: (),
                4: ("input_tokens", "output_tokens"),
            },
            0,
            1,
            2,
            3,
            4,
        ),
        "nested values, an absent field disclosed as absent, a long value cut, no field at all",
        MO,
        MO,
    )
    record = ("entries", 0, "record")

    def at(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        def apply(document: dict[str, Any]) -> None:
            target: Any = document
            for key in record:
                target = target[key]
            change(target)

        return apply

    for name, change, about, check in [
        (
            "value",
            lambda r: r["body"].update(account_id="acct-eve"),
            "a value changed",
            "leaf hash",
        ),
        (
            "digest",
            lambda r: r["withheld"].update(request_id=flip(r["withheld"]["request_id"])),
            "a withheld digest changed",
            "leaf hash",
        ),
        (
            "salt",
            lambda r: r["field_salts"].update(model=flip(r["field_salts"]["model"])),
            "a field salt changed",
            "leaf hash",
        ),
        ("ts", lambda r: r.update(ts="2026-06-10T10:00:00.001Z"), "the time changed", "leaf hash"),
        ("missing", lambda r: r["withheld"].pop("request_id"), "a field left out", "record"),
        (
            "both",
            lambda r: r["withheld"].update(model="00" * 32),
            "a field disclosed and withheld",
            "record",
        ),
        ("record-salt", lambda r: r.update(salt="00" * 16), "the record salt added", "record"),
        (
            "bad-value",
            lambda r: r["body"].update(account_id=""),
            "an empty account id",
            "record",
        ),
        ("null", lambda r: r["body"].update(model=None), "a null value", "record"),
        ("no-salt", lambda r: r["field_salts"].pop("model"), "a value without salt", "record"),
        ("v1", lambda r: r.update(v=1), "a disclosure saying v 1", "record"),
        (
            "unknown-name",
            lambda r: r["withheld"].update(prompt="00" * 32),
            "a withheld field the kind has not",
            "record",
        ),
        (
            "short-digest",
            lambda r: r["withheld"].update(request_id="ab"),
            "a digest of one byte",
            "record",
        ),
    ]:
        c.evidence(
            f"bundle-v2-disclosed-{name}",
            edited(part, at(change)),
            about,
            invalid(check),
            invalid(check),
        )
    c.evidence(
        "bundle-v2-nested-null",
        edited(
            v2_bundle({0: ("client",)}, 0),
            at(lambda r: r["body"]["client"].update(asn=None)),
        ),
        "a disclosed nested value with a null member: not its canonical form",
        invalid("record"),
        invalid("record"),
    )
    c.evidence(
        "bundle-v2-as-v1",
        edited(v2_bundle({}, 4), at(lambda r: r.update(v=1))),
        "a whole v2 record relabelled v1: another leaf",
        invalid("leaf hash"),
        invalid("leaf hash"),
    )
    ranges = multi_inclusion_ranges([0, 4], len(V2_LEAVES))
    query = {"account_ids": ["acct-erin"], "from": "2026-06-01", "to": "2026-07-01T00:00:00Z"}
    v2_pack = {
        "format": "model-ledger/evidence-pack/v1",
        "chain_id": CHAIN_ID,
        "contract": LOG_ANCHOR,
        "log_id": LOG_ID,
        "checkpoint": {"tree_size": len(V2_LEAVES), "root": V2_ROOT, "anchor": dict(ANCHOR)},
        "query": query,
        "entries": [
            {"leaf_index": i, "record": disclose(V2_ENTRIES[i].canonical, ("account_id", "model"))}
            for i in (0, 4)
        ],
        "proof": [hx(root_hash(V2_LEAVES[a:b])) for a, b in ranges],
    }
    c.evidence("pack-v2-disclosed", v2_pack, "a pack of two disclosed v2 records", MO, MO)
    c.evidence(
        "pack-v2-account-withheld",
        edited(
            v2_pack,
            lambda d: [
                e.update(record=disclose(V2_ENTRIES[e["leaf_index"]].canonical, ("model",)))
                for e in d["entries"]
            ],
        ),
        "a pack whose records withhold the account the query selects on",
        invalid("query"),
        invalid("query"),
    )


def licences(c: Corpus) -> None:
    record = licence(1)
    served = {
        "licence_id": "lic-1",
        "status": "active",
        "record": record,
        "registry": {"chain_id": CHAIN_ID, "contract": REGISTRY},
        "on_chain": {"grant": None, "revoke": None},
    }
    c.licence("record", record, "a licence record as the licensee keeps it", MO, MO)
    c.licence("served", served, "what GET /v1/licences/{id} answers: it names the registry", MO, MO)
    c.licence(
        "served-other-registry",
        served | {"registry": {"chain_id": CHAIN_ID, "contract": STRANGER}},
        "a licence naming a stranger's LicenceRegistry",
        MO,
        invalid("log identity", "licence_registry"),
    )
    c.licence(
        "served-other-chain",
        served | {"registry": {"chain_id": 1, "contract": REGISTRY}},
        "a licence naming another chain",
        MO,
        invalid("log identity", "chain_id"),
    )
    c.licence(
        "served-uppercase-registry",
        served | {"registry": {"chain_id": CHAIN_ID, "contract": "0X" + REGISTRY[2:].upper()}},
        "the pinned registry in uppercase hex (read as the same address)",
        MO,
        MO,
    )
    c.licence(
        "served-spaced-registry",
        served
        | {
            "registry": {
                "chain_id": CHAIN_ID,
                "contract": "0x " + " ".join(REGISTRY[i : i + 2] for i in range(2, 42, 2)),
            }
        },
        "the address with spaces between bytes, as bytes.fromhex reads it",
        MO,
        MO,
    )
    c.licence(
        "served-registry-null",
        served | {"registry": None},
        "a registry of null: the pinned one is read",
        MO,
        MO,
    )
    c.licence(
        "reason-null",
        edited(record, lambda d: d["body"].update(reason=None)),
        "a null optional field: read as absent, the same commitment",
        MO,
        MO,
    )
    c.licence(
        "v-true",
        edited(record, lambda d: d.update(v=True)),
        "v written true: read as 1, the same commitment",
        MO,
        MO,
    )
    c.licence("amend", licence(2, action="amend"), "an amendment is checked like a grant", MO, MO)
    c.licence(
        "revoke",
        licence(3, action="revoke"),
        "a revoke record: check the grant instead",
        invalid("licence"),
        invalid("licence"),
    )
    c.licence(
        "digest", digest_record(1), "not a licence record", invalid("licence"), invalid("licence")
    )
    c.licence(
        "salt-null",
        edited(record, lambda d: d.update(salt=None)),
        "salt null (it used to get a random salt, and a random commitment)",
        invalid("licence"),
        invalid("licence"),
    )
    c.licence(
        "ts-missing",
        edited(record, lambda d: d.pop("ts")),
        "no ts",
        invalid("licence"),
        invalid("licence"),
    )
    text = pretty(record)
    c.licence(
        "bom", b"\xef\xbb\xbf" + text, "a byte order mark", invalid("licence"), invalid("licence")
    )
    c.licence(
        "duplicate-key",
        replace_once(
            text,
            b'"licensee": "acct-acme",',
            b'"licensee": "acct-evil",\n    "licensee": "acct-acme",',
        ),
        "the licensee twice",
        invalid("licence"),
        invalid("licence"),
    )
    c.licence(
        "float",
        replace_once(text, b'"v": 1', b'"v": 1.0'),
        "v written 1.0",
        invalid("licence"),
        invalid("licence"),
    )
    c.licence(
        "registry-bad-address",
        served | {"registry": {"chain_id": CHAIN_ID, "contract": REGISTRY[:-1]}},
        "an address of 39 digits",
        invalid("licence"),
        invalid("licence"),
    )
    c.licence(
        "registry-chain-bool",
        served | {"registry": {"chain_id": True, "contract": REGISTRY}},
        "chain id true",
        invalid("licence"),
        invalid("licence"),
    )
    c.licence(
        "window-reversed",
        licence(4, valid_from="2027-01-01T00:00:00.000Z", valid_until="2026-01-01T00:00:00.000Z"),
        "valid until before valid from",
        invalid("licence"),
        invalid("licence"),
    )
    c.licence(
        "lone-surrogate",
        replace_once(text, b'"acct-acme"', b'"\\ud800"'),
        "a licensee holding a lone surrogate",
        invalid("licence"),
        invalid("licence"),
    )
    c.licence(
        "no-registry-pinned",
        record,
        "a log identity that names no LicenceRegistry",
        MO,
        invalid("log identity", "licence_registry"),
        identity="identity/log-no-registry.json",
    )


ESCAPED_QUOTES_128K = b'{"a":"' + b'\\"' * (1 << 16)
"""An unterminated string full of escaped quotes: a backtracking string pattern is quadratic
on it (the page took 10 s on 128 KiB), strict_json.py's depth check linear."""


def documents(c: Corpus) -> None:
    def add(name: str, data: bytes, about: str, accepted: bool) -> None:
        c.json(name, data, about, accepted)

    add("depth-32", b"[" * 32 + b"]" * 32, "nested exactly 32 deep", True)
    add("depth-33", b"[" * 33 + b"]" * 33, "nested 33 deep", False)
    add("depth-32-objects", b'{"a":' * 32 + b"1" + b"}" * 32, "32 objects deep", True)
    add(
        "depth-33-mixed",
        b'{"a":[' * 16 + b'{"b":1}' + b"]}" * 16,
        "33 deep, objects and arrays",
        False,
    )
    add(
        "brackets-in-strings",
        b'["' + b"[" * 40 + b'", "\\"' + b"{" * 40 + b'"]',
        "brackets inside strings do not count",
        True,
    )
    add(
        "unterminated-then-brackets",
        b'["abc' + b"[" * 40,
        "an unterminated string: the brackets after it are inside it (refused: unterminated)",
        False,
    )
    add(
        "escaped-quotes-unterminated",
        ESCAPED_QUOTES_128K,
        "an unterminated string of 64 Ki escaped quotes (128 KiB)",
        False,
    )
    add(
        "escaped-quotes-unterminated-2mib",
        b'{"a":"' + b'\\"' * (1 << 20),
        "the same, 2 MiB: past the 1 MiB prefix the depth check reads first",
        False,
    )
    add(
        "escaped-backslashes-then-deep",
        b'["' + b"\\\\" * 1000 + b'", ' + b"[" * 32 + b"]" * 33,
        "escaped backslashes end the string: the brackets after it count (33 deep)",
        False,
    )
    add(
        "escaped-quote-then-deep",
        b'["' + b'\\"' * 1000 + b"[" * 40 + b'"]',
        "escaped quotes keep the string open: the brackets in it do not count",
        True,
    )
    add("bom", b'\xef\xbb\xbf{"a": 1}', "a UTF-8 byte order mark", False)
    add("utf16-bom", b"\xff\xfe{\x00}\x00", "UTF-16", False)
    add("duplicate-key", b'{"a": 1, "a": 1}', "a key twice, with the same value", False)
    add("duplicate-key-escaped", b'{"a": 1, "\\u0061": 2}', "a key twice, written two ways", False)
    add(
        "duplicate-key-nested",
        b'[{"x": {"a": 1, "b": 2, "a": 3}}]',
        "a key twice in a nested object",
        False,
    )
    add("same-key-siblings", b'[{"a": 1}, {"a": 2}]', "the same key in two objects", True)
    add("fraction", b"1.0", "1.0", False)
    add("exponent", b"1e5", "1e5", False)
    add("exponent-upper", b"[1E+2]", "1E+2", False)
    add("minus-zero", b"-0", "-0 is the integer 0", True)
    add("minus-zero-fraction", b"-0.0", "-0.0", False)
    add("nan", b"NaN", "NaN", False)
    add("infinity", b"[Infinity]", "Infinity", False)
    add("minus-infinity", b'{"a": -Infinity}', "-Infinity", False)
    add("surrogate-escaped", b'"\\ud800"', "a lone surrogate, escaped: JSON allows it", True)
    add("surrogate-pair-escaped", b'"\\ud83d\\ude42"', "a surrogate pair, escaped", True)
    add(
        "surrogate-then-letter",
        b'"\\ud800\\u0041"',
        "a high surrogate before an escaped letter",
        True,
    )
    add("surrogate-bytes", b'"\xed\xa0\x80"', "a lone surrogate as bytes: not UTF-8", False)
    add("overlong", b'"\xc0\xaf"', "an overlong encoding of /", False)
    add("above-unicode", b'"\xf4\x90\x80\x80"', "above U+10FFFF", False)
    add("max-unicode", b'"\xf4\x8f\xbf\xbf"', "U+10FFFF", True)
    add("noncharacter", b'"\xef\xbf\xbf"', "U+FFFF, a noncharacter but UTF-8", True)
    add("truncated-utf8", b'"\xe2\x82', "a sequence cut short", False)
    add("control-raw", b'"a\x01b"', "a raw control character in a string", False)
    add("control-escaped", b'"a\\u0001b\\n"', "escaped control characters", True)
    add("del-raw", b'"\x7f"', "DEL needs no escape", True)
    add("line-separator-raw", '"\u2028\u2029"'.encode(), "U+2028 and U+2029 raw", True)
    add("leading-zero", b"[01]", "a leading zero", False)
    add("minus-alone", b"-", "a minus sign alone", False)
    add("int-4300-digits", b"9" * 4300, "an integer of 4300 digits", True)
    add("int-4301-digits", b"9" * 4301, "an integer of 4301 digits", False)
    add("negative-4300-digits", b"-" + b"9" * 4300, "4300 digits and a sign", True)
    add(
        "big-negative",
        b"[-18446744073709551616, 340282366920938463463374607431768211456]",
        "integers past 64 bits",
        True,
    )
    add("trailing-comma-array", b"[1,]", "a trailing comma", False)
    add("trailing-comma-object", b'{"a": 1,}', "a trailing comma in an object", False)
    add("single-quotes", b"{'a': 1}", "single quotes", False)
    add("nbsp", b'\xc2\xa0{"a": 1}', "a no-break space before the value", False)
    add(
        "json-whitespace",
        b' \t\r\n{ "a" :\t[ 1 , 2 ] }\r\n ',
        "the four whitespace characters JSON has",
        True,
    )
    add("vertical-tab", b'\x0b{"a": 1}', "a vertical tab before the value", False)
    add("empty", b"", "nothing", False)
    add("only-space", b"   ", "only whitespace", False)
    add("bad-escape", b'"\\x41"', "an escape JSON does not have", False)
    add("short-unicode-escape", b'"\\u12"', "\\u with two digits", False)
    add("non-hex-unicode-escape", b'"\\u12g4"', "\\u with a letter that is not hex", False)
    add("slash-escape", b'"\\/"', "an escaped slash", True)
    add("uppercase-unicode-escape", b'"\\u00E9"', "\\u00E9", True)
    add("extra-value", b"1 2", "two values", False)
    add("trailing-garbage", b'{"a": 1}x', "a value and then more", False)
    add("scalar", b"1", "a lone number is a document", True)
    add(
        "proto-key",
        b'{"__proto__": {"polluted": true}, "constructor": 1}',
        "keys that are special in JavaScript",
        True,
    )
    add("literals", b"[true, false, null]", "the three literals", True)
    add("truncated-literal", b"[tru]", "a literal cut short", False)
    add("capital-literal", b"[True]", "a Python literal", False)
    add("unterminated-string", b'"abc', "no closing quote", False)
    add("astral-key", '{"🙂": 1, "\uffff": 2}'.encode(), "keys above the BMP and at its end", True)


def tlog_proofs() -> dict[str, bytes]:
    """tlog-proof/: each case's proof, its record and log identity (each distinct file
    once, named after the first case that uses it), and manifest.json."""
    # Late import: the cases are the page tests' (tests/web/tlog_proofs.py), written from
    # the repository root.
    sys.path.insert(0, str(OUT.parents[1]))
    from tests.web.tlog_proofs import NOW, cases, expected_lines

    files: dict[str, bytes] = {}
    named: dict[bytes, str] = {}

    def once(data: bytes, path: str) -> str:
        if data not in named:
            named[data] = path
            files[path] = data
        return named[data]

    entries = []
    for case in cases():
        identity = case.identity_json()
        assert identity is not None
        entries.append(
            {
                "name": case.name,
                "proof": once(case.proof, f"tlog-proof/{case.name}.tlog-proof"),
                "record": once(case.record, f"tlog-proof/{case.name}.record.json"),
                "log": once(identity, f"tlog-proof/{case.name}.log.json"),
                "witnesses": list(case.witnesses),
                "quorum": case.quorum,
                "check": case.check,
                "lines": expected_lines(case),
            }
        )
    manifest = {
        "about": (
            "Generated by scripts/make_vectors.py from tests/web/tlog_proofs.py: `mledger verify"
            " PROOF --record RECORD --log LOG [--witness VKEY]... [--quorum M]` run at unix time"
            " `now` prints `lines`; the /verify page must print the same. Do not edit by hand."
        ),
        "now": NOW,
        "cases": entries,
    }
    files["tlog-proof/manifest.json"] = (json.dumps(manifest, indent=1) + "\n").encode()
    return files


# -- cosigned checkpoint notes (c2sp.org/signed-note, tlog-cosignature) ----------------------

NOTE_LOG = Signer("ledger.example/model-ledger", bytes(range(32)))
"""The log's note key (fixed seed: Ed25519 signatures are deterministic)."""
W1 = Cosigner("witness.example/w1", bytes([5]) * 32)
W2 = Cosigner("witness.example/w2", bytes([6]) * 32)
UNTRUSTED = Cosigner("stranger.example/w", bytes([9]) * 32)
COSIGNED_AT = 1_780_000_100
"""When the witnesses cosigned (unix seconds, after the anchor's block)."""
WITNESSED = IDENTITY | {
    "note_vkey": NOTE_LOG.vkey(),
    "witnesses": [W1.vkey(), W2.vkey()],
    "witness_quorum": 2,
}
"""The log's identity with its note key and its two witnesses, both of which must cosign."""
WITNESSED_FILE = "identity/log-witnessed.json"


def checkpoint_note(
    *cosigners: Cosigner, size: int = SIZE, root: str = ROOT, log: Signer = NOTE_LOG
) -> Note:
    """The checkpoint of `size` and `root` as a note signed by `log`, cosigned by `cosigners`."""
    text = Checkpoint(NOTE_LOG.name, size, bytes.fromhex(root[2:])).text()
    cosigned = (c.cosign(text, COSIGNED_AT + n) for n, c in enumerate(cosigners))
    return Note(text, (log.sign(text.encode()), *cosigned))


def note_text(note: Note) -> str:
    return note.encode().decode()


def flipped(signature: Signature, at: int) -> Signature:
    """`signature` with one bit of its byte `at` (after the key ID) changed: a forgery."""
    raw = bytearray(signature.signature)
    raw[at] ^= 0x01
    return Signature(signature.name, signature.key_id, bytes(raw))


def witness_identities(c: Corpus) -> None:
    c.identity(
        "log-witnessed",
        WITNESSED,
        "the note key and two witnesses, a quorum of two: the identity the note vectors pin",
        ACCEPTED,
    )
    bare = {k: v for k, v in WITNESSED.items() if k != "witness_quorum"}
    c.identity(
        "witnesses-no-quorum", bare, "witnesses without witness_quorum", refused("witness_quorum")
    )
    c.identity(
        "witness-quorum-too-high",
        WITNESSED | {"witness_quorum": 3},
        "a quorum of three of two witnesses",
        refused("witness_quorum"),
    )
    c.identity(
        "witnesses-log-key",
        WITNESSED | {"witnesses": [W1.vkey(), NOTE_LOG.vkey()]},
        "a note key (type 0x01) among the witnesses: it makes note signatures, not cosignatures",
        refused("witnesses"),
    )
    c.identity(
        "witnesses-twice",
        WITNESSED | {"witnesses": [W1.vkey(), W1.vkey()]},
        "one witness listed twice: it would count twice",
        refused("witnesses"),
    )
    c.identity(
        "witnesses-note-key",
        WITNESSED
        | {"witnesses": [W1.vkey(), Cosigner("witness.example/sock", bytes(range(32))).vkey()]},
        "a witness whose key is the log's note key (the same seed): it witnesses nothing",
        refused("witnesses"),
    )
    c.identity(
        "witnesses-without-note-key",
        {k: v for k, v in WITNESSED.items() if k != "note_vkey"},
        "witnesses but no note key: no log signature or origin to check a cosignature on",
        refused("witnesses"),
    )
    c.identity(
        "witnesses-empty",
        WITNESSED | {"witnesses": [], "witness_quorum": 0},
        "an empty list of witnesses",
        refused("witnesses"),
    )


def noted(c: Corpus) -> None:
    """Bundles and packs carrying `checkpoint_note`, checked against the witnessed identity."""
    good = checkpoint_note(W1, W2)
    log_line, w1_line, w2_line = good.signatures

    def add(
        name: str, document: dict[str, Any], about: str, offline: Outcome, pinned: Outcome
    ) -> None:
        c.evidence(name, document, about, offline, pinned, identity=WITNESSED_FILE)

    add(
        "bundle-note",
        bundle(3, checkpoint_note=note_text(good)),
        "a cosigned checkpoint note: signed by the log's note key, cosigned by both witnesses",
        MO,
        MO,
    )
    add(
        "pack-note",
        pack(ALICE, ALICE_QUERY, checkpoint_note=note_text(good)),
        "a pack with its cosigned checkpoint note",
        MO,
        MO,
    )
    add(
        "bundle-note-other-size",
        bundle(3, checkpoint_note=note_text(checkpoint_note(W1, W2, size=SIZE - 1))),
        "a note the log signed and the witnesses cosigned, of another tree size than the bundle's",
        invalid("checkpoint note"),
        invalid("checkpoint note"),
    )
    add(
        "bundle-note-forged",
        bundle(
            3, checkpoint_note=note_text(Note(good.text, (flipped(log_line, 9), w1_line, w2_line)))
        ),
        "the log's note signature altered in one bit: no signature of the pinned note key",
        MO,
        invalid("checkpoint note"),
    )
    add(
        "bundle-note-other-log",
        bundle(
            3,
            checkpoint_note=note_text(
                checkpoint_note(W1, W2, log=Signer(NOTE_LOG.name, bytes([3]) * 32))
            ),
        ),
        "signed by another key under the log's name: not the pinned note key",
        MO,
        invalid("checkpoint note"),
    )
    add(
        "bundle-note-forged-cosignature",
        bundle(
            3, checkpoint_note=note_text(Note(good.text, (log_line, w1_line, flipped(w2_line, 20))))
        ),
        "a trusted witness's cosignature altered in one bit: it does not verify",
        MO,
        invalid("witnesses"),
    )
    add(
        "bundle-note-untrusted-witness",
        bundle(3, checkpoint_note=note_text(checkpoint_note(W1, UNTRUSTED))),
        "cosigned by one trusted witness and a stranger: the stranger does not count, the quorum"
        " of two is not met",
        MO,
        invalid("witnesses"),
    )
    add(
        "bundle-note-quorum-unmet",
        bundle(3, checkpoint_note=note_text(checkpoint_note(W2))),
        "cosigned by one of the two trusted witnesses, the quorum is two",
        MO,
        invalid("witnesses"),
    )
    add(
        "bundle-note-no-cosignature",
        bundle(3, checkpoint_note=note_text(checkpoint_note())),
        "the log's signature alone, no cosignature",
        MO,
        invalid("witnesses"),
    )
    add(
        "bundle-no-note",
        bundle(3),
        "no checkpoint_note at all, under an identity whose quorum is two: the identity's"
        " witnesses are not met",
        MO,
        invalid("witnesses"),
    )
    add(
        "bundle-note-null",
        bundle(3, checkpoint_note=None),
        "checkpoint_note null: not a signed note",
        invalid("bundle"),
        invalid("bundle"),
    )
    add(
        "bundle-note-unsigned",
        bundle(3, checkpoint_note=good.text),
        "a checkpoint without its signature lines",
        invalid("bundle"),
        invalid("bundle"),
    )
    add(
        "pack-note-not-checkpoint",
        pack(
            ALICE,
            ALICE_QUERY,
            checkpoint_note=note_text(Note("not a checkpoint\n", good.signatures[:1])),
        ),
        "a signed note whose text is not a checkpoint",
        invalid("pack"),
        invalid("pack"),
    )


def build() -> dict[str, bytes]:
    """Every file of the corpus, by path relative to tests/vectors/, the manifest included."""
    corpus = Corpus()
    identities(corpus)
    witness_identities(corpus)
    evidence(corpus)
    noted(corpus)
    evidence_v2(corpus)
    licences(corpus)
    documents(corpus)
    manifest = {
        "about": (
            "Generated by scripts/make_vectors.py; run by tests/web/test_vectors.py through"
            " mledger verify's Python checks and the verification page's JavaScript core. Do not"
            " edit by hand."
        ),
        "identity": "identity/log.json",
        "vectors": corpus.vectors,
    }
    return (
        corpus.files
        | tlog_proofs()
        | {MANIFEST: (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode()}
    )


def on_disk(root: Path = OUT) -> dict[str, bytes]:
    """The corpus files as they are in `root`."""
    found = {MANIFEST: (root / MANIFEST).read_bytes()} if (root / MANIFEST).exists() else {}
    for folder in FOLDERS:
        for path in sorted((root / folder).glob("*")):
            found[f"{folder}/{path.name}"] = path.read_bytes()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the shared verifier corpus to tests/vectors/."
    )
    parser.add_argument(
        "--check", action="store_true", help="Exit 1 if the files differ; write nothing."
    )
    args = parser.parse_args(argv)
    files = build()
    current = on_disk()
    if args.check:
        stale = sorted(
            set(files) ^ set(current) | {p for p in files if current.get(p) not in (None, files[p])}
        )
        for path in stale:
            sys.stderr.write(f"stale: tests/vectors/{path}\n")
        return 1 if stale else 0
    for path in set(current) - set(files):
        (OUT / path).unlink()
    for path, data in files.items():
        target = OUT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if current.get(path) != data:
            target.write_bytes(data)
    sys.stderr.write(f"wrote {len(files)} files to {OUT}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
