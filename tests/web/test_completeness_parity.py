"""The page's verifier of completeness proofs (ledger/web/verify-completeness.js) against
ledger/verify/completeness.py, run under Node: every committed index vector
(tests/vectors/index/) gets the manifest's verdict and failed check in both, with the
same words (every check's name, outcome and detail, and the COMPLETE sentence); the map
vectors give the same roots; a few hundred documents with one field changed at random
get the same checks in both; and against a real Anvil, a proof whose index root the log
key signed is VALID in both, while a forged index, a size never anchored and a
checkpoint anchored without an index fail the same check in both.

The page's dispatch is exercised too: the documents go through `verifyDocument`, the
entry point the page calls for whatever is dropped on it."""

from __future__ import annotations

import copy
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.chain.client import ChainClient
from ledger.chain.deployment import DeployedLog
from ledger.chain.log_anchor import LogAnchor
from ledger.core.index import key_hash, postings_root
from ledger.core.merkle import consistency_proof
from ledger.core.records import parse_object
from ledger.formats.checkpoint import AnchorRef
from ledger.formats.completeness import filed_json
from ledger.formats.identity import LogIdentity
from ledger.service.signer import LogSigner
from ledger.verify.completeness import completeness_statement, verify_completeness
from ledger.verify.result import ChainReadError, VerificationError
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
from tests.verify.test_completeness import (
    CHAIN_ID,
    CONTRACT,
    LOG_ID,
    Log,
    anchor_and_pin,
    busiest,
    filed_in,
    forged_erasures,
    leaf_paths,
    mutated,
    on_chain,
    proven_erased,
    spelling_cases,
)

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "ledger" / "web"
VECTORS = ROOT / "tests" / "vectors" / "index"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text())["documents"]

DRIVER = r"""
const core = require(process.argv[1] + '/verify-core.js');
const C = require(process.argv[1] + '/verify-completeness.js');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
function outcome(result) {
  const out = {
    kind: result.kind,
    verdict: result.verdict,
    sentence: result.sentence,
    statement: result.statement,
    checks: result.checks.map((c) => [c.check, c.passed, c.detail]),
    meaning: result.meaning,
  };
  if (result.error) out.check = result.error.check;
  if (result.complete) out.leaf_indices = result.complete.leafIndices.map(Number);
  if (result.completeLines) out.complete_lines = result.completeLines;
  return out;
}
(async () => {
  const identity = input.identity === null ? null : core.parseIdentity(input.identity);
  const documents = [];
  for (const text of input.documents) {
    const options = { identity, rpcUrl: input.rpc_url || '' };
    documents.push(outcome(await core.verifyDocument(text, options)));
  }
  const maps = [];
  for (const probe of input.maps) {
    const leaf = probe.leaf === null ? null : {
      keyHash: probe.leaf.key_hash,
      count: BigInt(probe.leaf.count),
      postingsRoot: probe.leaf.postings_root,
    };
    // The page's reader of the compact map proof (JSON.parse gives numbers, it reads bigints).
    const proof = C.parseMapProof({ ...probe.proof, depth: BigInt(probe.proof.depth) });
    const keyHash = await C.keyHash(probe.key);
    const mapRoot = await C.rootFromMapProof(keyHash, leaf, proof);
    maps.push({
      key_hash: keyHash,
      map_root: mapRoot,
      index_root: await C.indexRoot(BigInt(probe.tree_size), mapRoot),
    });
  }
  process.stdout.write(JSON.stringify({ documents, maps }));
})().catch((error) => {
  process.stderr.write(String((error && error.stack) || error));
  process.exit(1);
});
"""


def node(
    documents: list[str],
    maps: list[dict[str, Any]] | None = None,
    identity: LogIdentity | None = None,
    rpc_url: str = "",
) -> dict[str, Any]:
    """What the page's verifier concludes on `documents` (and computes for `maps`)."""
    binary = shutil.which("node")
    if binary is None:
        pytest.fail("node is not installed (the project needs Node 20 for Hardhat and Anvil)")
    payload = {
        "documents": documents,
        "maps": maps or [],
        "identity": None if identity is None else json.dumps(identity.as_json()),
        "rpc_url": rpc_url,
    }
    done = subprocess.run(
        [binary, "-e", DRIVER, str(WEB)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def python(
    document: str, identity: LogIdentity | None = None, reader: JsonRpcReader | None = None
) -> dict[str, Any]:
    """ledger/verify/completeness.py's conclusion, in the page's terms."""
    try:
        result = verify_completeness(document, reader, identity)
    except VerificationError as error:
        assert error.result is not None
        checks = [[c.name, c.passed, c.detail] for c in error.result.checks]
        verdict = "not verified" if isinstance(error, ChainReadError) else "invalid"
        return {
            "verdict": verdict,
            "check": error.check,
            "sentence": "not verified",
            "checks": checks,
        }
    assert result.complete is not None
    return {
        "verdict": "valid" if reader is not None else "mathematics only",
        "sentence": completeness_statement(result),
        "checks": [[c.name, c.passed, c.detail] for c in result.checks],
        "leaf_indices": list(result.complete.leaf_indices),
    }


def comparable(found: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in found.items() if k not in ("kind", "statement", "meaning")}


def test_every_index_vector_gets_the_same_verdict_and_words() -> None:
    texts = [(VECTORS / item["file"]).read_text(encoding="utf-8") for item in MANIFEST]
    browser = node(texts)["documents"]
    for item, text, found in zip(MANIFEST, texts, browser, strict=True):
        assert found["kind"] == "completeness", item["file"]  # the page's dispatch chose it
        expected = python(text)
        assert comparable(found) == expected, item["file"]
        assert found.get("check") == item["check"], item["file"]
        assert (found["verdict"] == "mathematics only") == item["valid"], item["file"]
        if item["valid"]:
            # Offline the page says so first, then the sentence, then what it means.
            assert found["statement"].startswith("MATHEMATICS ONLY: the chain was NOT consulted")
            assert expected["sentence"] + ". " in found["statement"]
            meaning = (
                "Complete: " if expected["leaf_indices"] else "Absence: the log holds no entry"
            )
            assert meaning in found["statement"], found["statement"]
        else:
            assert found["statement"].startswith(f"INVALID: {item['check']} check failed: ")
    assert {item["check"] for item in MANIFEST} >= {
        None,
        "omitted",
        "added",
        "reordered",
        "duplicated",
        "index root",
        "tree size",
    }


def test_map_vectors_give_the_same_roots() -> None:
    cases = json.loads((VECTORS / "map.json").read_text())["cases"]
    probes = []
    for case in cases:
        values = {k["key"]: k for k in case["keys"]}
        for proof in case["proofs"]:
            present = values.get(proof["key"]) if proof["present"] else None
            probes.append(
                {
                    "key": proof["key"],
                    "tree_size": case["tree_size"],
                    "proof": proof["proof"],
                    "leaf": None
                    if present is None
                    else {
                        "key_hash": present["key_hash"],
                        "count": len(present["postings"]),
                        "postings_root": present["postings_root"],
                    },
                    "want": (proof["key_hash"], case["map_root"], case["index_root"]),
                }
            )
    assert len(probes) > 10 and any(p["proof"]["other"] for p in probes)
    found = node([], probes)["maps"]
    for probe, got in zip(probes, found, strict=True):
        assert (got["key_hash"], got["map_root"], got["index_root"]) == probe["want"], probe


def test_documents_changed_at_random_get_the_same_checks() -> None:
    """One field changed at random (the mutations of tests/verify/test_completeness.py),
    400 times: the same verdict, check and words in both."""
    log = Log()
    rng = random.Random(13)
    originals = [
        log.document(busiest(log)),
        log.document(busiest(log, "model:"), 20, 70),
        log.document("licensee:nobody"),
        log.document(busiest(log, "licence:")),
        log.document(busiest(log, "model_id:")),
    ]
    texts = [json.dumps(document) for document in originals]
    for _ in range(400):
        document = rng.choice(originals)
        texts.append(changed_at(document, rng.choice(leaf_paths(document)), rng))
    checks = same_checks(texts)
    assert checks >= {None, "completeness", "omitted", "index root", "inclusion", "leaf hash"}


def changed_at(document: dict[str, Any], path: tuple[Any, ...], rng: random.Random) -> str:
    """`document` with the field at `path` changed at random (`mutated`), as JSON."""
    document = copy.deepcopy(document)
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = mutated(target[path[-1]], rng)
    return json.dumps(document)


def same_checks(texts: list[str]) -> set[str | None]:
    """Asserts the page and Python conclude the same of each text; the checks failed."""
    browser = node(texts)["documents"]
    checks = set()
    for text, found in zip(texts, browser, strict=True):
        expected = python(text)
        assert comparable(found) == expected, text[:2000]
        checks.add(expected.get("check"))
    return checks


def test_a_document_that_is_not_json_or_the_wrong_shape_fails_the_same() -> None:
    log = Log(30, seed=5)
    good = log.document(busiest(log))
    cases = [
        json.dumps(good | {"count": True}),
        json.dumps(good | {"extra": 1}),
        json.dumps({k: v for k, v in good.items() if k != "map_proof"}),
        json.dumps(good | {"map_proof": {"siblings": ["0x" + "00" * 32], "other": None}}),
        json.dumps(good | {"key": "colour:red"}),
        json.dumps(good | {"key": "account:"}),
        json.dumps(good | {"key": "account:\ud800"}),
        json.dumps(good | {"key": "account:" + "x" * 257}),
        json.dumps(good | {"key": "model:\u00e9t\u00e9 \ud83d\ude00"}),
        json.dumps(good | {"window": {"from_size": 5, "to_size": 5}}),
        json.dumps(good | {"postings_proof": None}),
        json.dumps(good | {"producer": 5}),
        json.dumps(good | {"producer": "x" * 201}),
        # Two unknown fields: Python's sorted() names U+FFFD before U+1F600 (code points),
        # which a plain JavaScript sort() puts the other way round (UTF-16 code units).
        json.dumps(good | {"\ufffd": 1, "\U0001f600": 2}),
        json.dumps(good | {"map_proof": good["map_proof"] | {"\U0001f600": 1, "\ufffd": 2}}),
    ]
    browser = node(cases)["documents"]
    for text, found in zip(cases, browser, strict=True):
        assert comparable(found) == python(text), text[:300]
        assert found["verdict"] == "invalid"


def test_every_other_spelling_of_an_index_proof_fails_the_same() -> None:
    """The compact map and postings proofs: bits past the path, bytes short or left
    over, a zero hash where the bitmap should mark an empty sibling, non-canonical
    base64... the same ``completeness`` failure and words in both."""
    cases = [json.dumps(bad) for bad, _ in spelling_cases(Log())]
    browser = node(cases)["documents"]
    for text, found in zip(cases, browser, strict=True):
        assert comparable(found) == python(text), text[:600]
        assert found["check"] == "completeness", text[:600]


# --- against a real chain ---


def test_against_the_chain_both_read_the_signed_index_root(
    deployed: tuple[DeployedLog, LogAnchor],  # noqa: F811
    signer: LogSigner,  # noqa: F811
    chain: ChainClient,  # noqa: F811
    log_account: LocalAccount,  # noqa: F811
) -> None:
    log, anchor, identity = anchor_and_pin(Log(60, seed=9), deployed, signer, chain, log_account)
    info = deployed[0]
    key = busiest(log)
    genuine = on_chain(log.document(key, anchor=anchor), info)
    absent = on_chain(log.document("account:nobody", anchor=anchor), info)
    # The operator drops an entry from its index after anchoring.
    doctored = Log(60, seed=9)
    doctored.postings[key].pop(2)
    doctored.map.apply(
        {key_hash(key): (len(doctored.postings[key]), postings_root(doctored.postings[key]))}
    )
    forged = on_chain(doctored.document(key, anchor=anchor), info)
    never = on_chain(Log(62, seed=9).document(key, anchor=anchor), info)
    # A checkpoint anchored without an index root.
    longer = Log(61, seed=9)
    receipt = deployed[1].anchor(
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
    texts = [json.dumps(d) for d in (genuine, absent, forged, never, unindexed)]
    browser = node(texts, identity=identity, rpc_url=chain.rpc_url)["documents"]
    with JsonRpcReader(chain.rpc_url) as reader:
        expected = [python(text, identity, reader) for text in texts]
    for found, want in zip(browser, expected, strict=True):
        assert comparable(found) == want
    verdicts = [(found["verdict"], found.get("check")) for found in browser]
    assert verdicts == [
        ("valid", None),
        ("valid", None),
        ("invalid", "index root on chain"),
        ("invalid", "root on chain"),
        ("invalid", "index root on chain"),
    ]
    statement = browser[0]["statement"]
    count = len(log.postings[key])
    assert statement.startswith(
        f"COMPLETE: {count} entries of {key} in the first 60 entries"
        f" (anchored at block {anchor.block_number}, time "
    )
    assert f"Complete: the {count} entries at leaf indices " in statement
    assert browser[1]["statement"].startswith(
        "COMPLETE: 0 entries of account:nobody in the first 60 entries (anchored at block"
    )
    assert "Absence: the log holds no entry of account:nobody" in browser[1]["statement"]
    assert "commits to no index" in browser[4]["checks"][-1][2]
    # In plain words, for the page's "What this means".
    assert browser[0]["meaning"]["proven"][0] == (
        f"Completeness: the {count} entries shown are every entry of {key} among the first 60"
        " entries of the log; the log holds no other."
    )
    assert f"in block {anchor.block_number} (" in browser[0]["meaning"]["proven"][1]
    assert browser[1]["meaning"]["proven"][0] == (
        "Absence: account:nobody has no entry among the first 60 entries of the log."
    )
    assert any("Entries after the first 60" in line for line in browser[0]["meaning"]["notProven"])
    assert browser[2]["meaning"] == {
        "proven": [
            (
                'Nothing in this document can be relied on: the "index root on chain" check'
                " failed (see the checks below). A list with an entry left out, an entry of"
                " another key, entries reordered or repeated, or an index that is not the one"
                " anchored fails this way."
            )
        ],
        "notProven": [],
    }


def test_with_a_anchor_and_pin_both_refuse_another_logs_proof() -> None:
    """Offline with a pinned identity: the proof must name the pinned log; one naming
    another log id or contract fails "log identity" in the same words."""
    log = Log(30, seed=5)
    good = log.document(busiest(log))
    identity = LogIdentity(
        name="pinned",
        chain_id=CHAIN_ID,
        log_anchor=CONTRACT,
        log_id=LOG_ID,
        licence_registry=None,
        log_signer=bytes(range(20)),
        deployment_block=1,
    )
    texts = [
        json.dumps(good),
        json.dumps(good | {"log_id": "0x" + "ee" * 32}),
        json.dumps(good | {"contract": "0x" + "ee" * 20}),
        json.dumps(good | {"__proto__": {"count": 0}}),
    ]
    browser = node(texts, identity=identity)["documents"]
    for text, found in zip(texts, browser, strict=True):
        assert comparable(found) == python(text, identity), text[:300]
    assert [found.get("check") for found in browser] == [
        None,
        "log identity",
        "log identity",
        "completeness",
    ]


def _erased(document: dict[str, Any], every: int) -> dict[str, Any]:
    """`document` with every `every`-th entry erased as the service writes it."""
    out = copy.deepcopy(document)
    for entry in out["entries"][::every]:
        del entry["record"]
        entry["erased"] = {"at": "2026-12-02T00:41:21.354Z", "by": "0x" + "ab" * 32}
    return out


def test_erased_entries_verify_the_same_in_both() -> None:
    """A completeness proof whose entries include erased ones (leaf hash and marker, no
    record: docs/privacy.md) is valid in both verifiers, in the same words; an erased
    entry with another leaf hash, or a bad marker, fails the same check in both."""
    log = Log()
    key = busiest(log)
    document = _erased(log.document(key), 3)
    erased = len(document["entries"][::3])
    forged = copy.deepcopy(document)
    forged["entries"][0]["leaf_hash"] = "0x" + "cd" * 32
    bad_time = copy.deepcopy(document)
    bad_time["entries"][0]["erased"]["at"] = "yesterday"
    both = copy.deepcopy(document)
    both["entries"][0]["record"] = log.records[both["entries"][0]["leaf_index"]]
    texts = [json.dumps(d) for d in (document, forged, bad_time, both)]
    browser = node(texts)["documents"]
    for text, found in zip(texts, browser, strict=True):
        assert comparable(found) == python(text)
    valid, inclusion, time_format, unknown = browser
    assert valid["verdict"] == "mathematics only"
    words = (
        f"all {len(document['entries']) - erased} records are valid v1 records in"
        f" canonical form (RFC 8785); {erased} erased entries carry their leaf hash only"
        ": that a logged erasure covers them is the operator's claim here; `mledger"
        " audit` of the log's export checks it"
    )
    assert [c for c in valid["checks"] if c[0] == "record"] == [["record", True, words]]
    assert (inclusion["check"], time_format["check"], unknown["check"]) == (
        "inclusion",
        "completeness",
        "completeness",
    )
    assert "erased.at must be a time" in time_format["checks"][-1][2]
    assert "has unknown field 'record'" in unknown["checks"][-1][2]


def test_a_document_past_the_size_limit_is_refused_by_mledger_verify_and_the_page(
    tmp_path: Path,
) -> None:
    """A completeness proof is read up to 64 MiB (MAX_COMPLETENESS_BYTES) by both
    verifiers: `mledger verify`, which first reads any document under the larger pack
    limit, refuses one a byte past it as the page does, in the same words; one at the
    limit exactly is valid in both."""
    from ledger.formats.completeness import MAX_COMPLETENESS_BYTES
    from tests.api.conftest import ledger

    log = Log(30, seed=5)
    text = json.dumps(log.document(busiest(log)))
    at_limit = text[:-1] + " " * (MAX_COMPLETENESS_BYTES - len(text)) + "}"
    past = at_limit[:-1] + " }"
    browser = node([at_limit, past])["documents"]
    path = tmp_path / "proof.json"
    for document, found in zip((at_limit, past), browser, strict=True):
        path.write_text(document)
        done = ledger("verify", str(path), "--offline", check=False)
        if document is at_limit:
            assert done.returncode == 0, done.stdout + done.stderr
            assert found["verdict"] == "mathematics only"
            continue
        words = f"completeness proof is {len(past)} bytes; the limit is {MAX_COMPLETENESS_BYTES}"
        assert done.returncode != 0 and words in done.stdout + done.stderr, done.stdout
        assert found["check"] == "completeness" and found["checks"][-1][2] == words


def test_proven_and_forged_erasure_markers_get_the_same_words() -> None:
    """Markers proven by a logged erasure are said proven in both, in the same words;
    each forged marker fails check erasure in both, with the same words."""
    document, forgeries = forged_erasures()
    # Erasures that are not what they must be: a statement without canonical form, of
    # another type, with leaves_root in capitals; a record that is not a digest record,
    # or not a record.
    for part, change, words in [
        ("statement", {"count": 2**60}, "the statement has no canonical form"),
        ("statement", {"type": "x"}, "the statement's SHA-256 is"),
        ("statement", {"leaves_root": "AB" * 32}, "the statement's SHA-256 is"),
        ("record", {"kind": "interaction"}, "not a valid v1 record"),
        ("record", {"v": 3}, "not a valid v"),
    ]:
        bad = copy.deepcopy(document)
        bad["erasures"][0][part].update(change)
        forgeries.append((bad, words))
    texts = [json.dumps(d) for d in (document, *(bad for bad, _ in forgeries))]
    browser = node(texts)["documents"]
    for text, found in zip(texts, browser, strict=True):
        assert comparable(found) == python(text)
    assert browser[0]["verdict"] == "mathematics only"
    assert [found["check"] for found in browser[1:]] == ["erasure"] * len(forgeries)
    for found, (_, words) in zip(browser[1:], forgeries, strict=True):
        assert words in found["checks"][-1][2]


def test_erasures_changed_at_random_get_the_same_checks() -> None:
    """A document with proven erased markers, one field of its erasures (their records,
    statements, proofs and `filed` proofs) or of its markers changed at random, 300
    times, and its erasure's `filed` proof taken from the same log grown by five entries
    (another size, so another index root): the same verdict, check and words in both,
    and the grown log's proof fails check erasure (hostile review of statement-key)."""
    log = Log()
    document = proven_erased(log, 3)
    rng = random.Random(31)
    paths = [p for p in leaf_paths(document) if p[0] == "erasures" or "erased" in p]
    texts = [json.dumps(document)]
    texts += [changed_at(document, rng.choice(paths), rng) for _ in range(300)]
    at = document["erasures"][0]["leaf_index"]
    for i in range(5):
        log.records.append(json.loads(parse_object(interaction(900 + i, seed=3)).canonical))
    log.reindex()
    grown = copy.deepcopy(document)
    grown["erasures"][0]["filed"] = filed_json(filed_in(log, at))
    texts.append(json.dumps(grown))
    assert same_checks(texts) >= {None, "erasure", "completeness"}
    last = python(texts[-1])
    assert python(texts[0])["verdict"] == "mathematics only" and last["check"] == "erasure"
    assert "is not proven filed under statement:log" in last["checks"][-1][2]
