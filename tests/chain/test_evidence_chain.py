"""Evidence bundles against a real Anvil: `ledger evidence` builds them from the store,
`ledger verify --log IDENTITY --rpc-url` checks them against the pinned contract, as a
user runs both."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from typer.testing import CliRunner

from ledger.chain.anvil import Anvil, free_port
from ledger.chain.client import ChainClient
from ledger.chain.deployment import deploy_log
from ledger.cli.common import app
from ledger.core.merkle import root_from_inclusion_proof
from ledger.core.records import parse_json, parse_object
from ledger.errors import NotAnchoredError, NotFoundError, NotPublishedError, NotSequencedError
from ledger.formats.bundle import BUNDLE_FORMAT
from ledger.formats.cosignature import CLOCK_SKEW, generate_cosigner, witness_policy
from ledger.formats.pack import PackQuery
from ledger.formats.tlog_checkpoint import Checkpoint
from ledger.service.evidence import build_evidence
from ledger.service.evidence_pack import build_pack
from ledger.service.proofs import inclusion
from ledger.service.provenance import lineage, register_model
from ledger.service.sequencer import seal
from ledger.store.witness import CosignatureRepository
from ledger.verify.bundle import verify_bundle
from ledger.verify.result import VerificationError
from ledger.verify.rpc import JsonRpcReader
from ledger.workload import interaction, ndjson_lines
from tests.chain.conftest import ADMIN_KEY, Setup


def ledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


def run(*args: str) -> Any:
    """`ledger ARGS` in this process (quicker than a new one): exit_code, stdout, stderr."""
    return CliRunner().invoke(app, list(args))


def ok(result: Any) -> str:
    code = (
        result.returncode if isinstance(result, subprocess.CompletedProcess) else result.exit_code
    )
    assert code == 0, result.stdout + result.stderr
    return str(result.stdout)


def h(data: bytes) -> str:
    return "0x" + data.hex()


def write(path: Path, bundle: dict[str, Any]) -> str:
    path.write_text(json.dumps(bundle))
    return str(path)


def test_evidence_verify_end_to_end(tmp_path: Path, chain: ChainClient) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    rpc = ["--rpc-url", chain.rpc_url]
    ok(ledger("deploy", *data, *rpc))
    (tmp_path / "r.ndjson").write_text("\n".join(ndjson_lines(20)) + "\n")
    leaves = [
        json.loads(line)["leaf_hash"]
        for line in ok(ledger("ingest", str(tmp_path / "r.ndjson"), *data)).splitlines()
    ]
    anchored = json.loads(ok(ledger("anchor", *data, *rpc)))
    identity = tmp_path / "log.json"
    ok(ledger("identity", *data, "--out", str(identity)))
    log = ["--log", str(identity)]
    assert (
        json.loads(identity.read_text())["log_anchor"]
        == json.loads(ok(run("identity", *data)))["log_anchor"]
    )

    bundle = json.loads(ok(ledger("evidence", leaves[5], *data)))
    assert bundle["format"] == BUNDLE_FORMAT and bundle["chain_id"] == 31337
    assert bundle["checkpoint"] == {
        "tree_size": 20,
        "root": anchored["root"],
        "anchor": {
            k: anchored[k] for k in ("tx_hash", "block_number", "block_hash", "block_timestamp")
        },
    }
    (entry,) = bundle["entries"]
    assert (entry["leaf_index"], entry["leaf_hash"]) == (5, leaves[5]) and entry[
        "record"
    ] == interaction(5)

    path = write(tmp_path / "bundle.json", bundle)
    out = ok(ledger("verify", path, *log, *rpc))
    when = datetime.fromtimestamp(anchored["block_timestamp"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (
        f"VALID: existed no later than {when} (block"
        f" {anchored['block_number']}), in log 'model-ledger'" in out
    )
    assert [line.split()[1] for line in out.splitlines()[:5]] == [
        "bundle",
        "log",
        "record",
        "leaf",
        "inclusion",
    ]

    report = json.loads(ok(run("verify", path, *log, *rpc, "--json")))
    assert report["valid"] and report["chain_consulted"] and report["error"] is None
    assert (report["existed_no_later_than"], report["block_number"]) == (
        when,
        anchored["block_number"],
    )
    assert [c["check"] for c in report["checks"]][-4:] == [
        "log",
        "root on chain",
        "anchor transaction",
        "anchor block",
    ]
    assert report["log"] == json.loads(identity.read_text())

    offline = ok(run("verify", path, "--offline"))
    assert (
        "MATHEMATICS ONLY: the chain was NOT consulted (offline)" in offline
        and "existed no later than" not in offline
    )
    assert "VALID" not in offline

    # A bundle whose mathematics hold, but for a tree the chain never saw.
    forged = copy.deepcopy(bundle)
    record = interaction(5) | {"salt": "0" * 32}
    forged_leaf = parse_object(record).leaf_hash
    forged["entries"][0] |= {"record": record, "leaf_hash": h(forged_leaf)}
    proof = [bytes.fromhex(node[2:]) for node in entry["proof"]]
    forged["checkpoint"]["root"] = h(root_from_inclusion_proof(5, 20, forged_leaf, proof))
    # The log's signed checkpoint note gives the forgery away, offline already ...
    noted = run("verify", write(tmp_path / "noted.json", forged), *log, "--offline")
    assert noted.exit_code == 1
    assert "INVALID: checkpoint note check failed: the note is of tree size 20" in noted.stdout
    # ... so a forger drops it (it is optional): the mathematics hold, the chain refuses.
    del forged["checkpoint_note"]
    forged_path = write(tmp_path / "forged.json", forged)
    ok(run("verify", forged_path, *log, "--offline"))
    refused = run("verify", forged_path, *log, *rpc)
    assert (
        refused.exit_code == 1
        and "FAIL  root on chain  the contract holds root " + anchored["root"] in refused.stdout
    )
    assert refused.stderr.startswith(
        "error: invalid bundle: root on chain: the contract holds root"
    )
    assert (
        json.loads(run("verify", forged_path, *log, *rpc, "--json").stdout)["error"]["check"]
        == "root on chain"
    )

    # Unreadable or unreachable: no verdict.
    closed = run("verify", path, *log, "--rpc-url", f"http://127.0.0.1:{free_port()}")
    assert closed.exit_code == 3 and "NOT VERIFIED: the chain could not be read" in closed.stdout
    assert "is unreachable" in closed.stderr
    assert run("verify", path, *log).exit_code == 2  # neither --rpc-url nor --offline
    unpinned = run("verify", path, *rpc)  # against a chain, but which log counts?
    assert unpinned.exit_code == 2 and "no log identity pinned" in unpinned.stderr
    missing = run("verify", str(tmp_path / "nope.json"), "--offline")
    assert missing.exit_code == 2 and "cannot read" in missing.stderr

    (tmp_path / "more.ndjson").write_text("\n".join(ndjson_lines(5, start=20)) + "\n")
    more = [
        json.loads(line)["leaf_hash"]
        for line in ok(run("ingest", str(tmp_path / "more.ndjson"), *data)).splitlines()
    ]
    pending = run("evidence", more[0], *data)
    assert pending.exit_code == 1 and "is pending: it has no leaf index yet" in pending.stderr
    unknown = run("evidence", "0x" + "ee" * 32, *data)
    assert unknown.exit_code == 1 and f"no entry has leaf hash 0x{'ee' * 32}" in unknown.stderr


def test_evidence_errors_and_anchor_choice(setup: Setup) -> None:
    setup.grow(8)
    leaf = parse_json(ndjson_lines(8, seed=7)[3]).leaf_hash
    with pytest.raises(
        NotAnchoredError,
        match="has leaf index 3 but is not anchored yet: no anchor is confirmed yet",
    ):
        build_evidence(setup.store, setup.repo, leaf)
    setup.anchorer().anchor_latest(60)
    assert build_evidence(setup.store, setup.repo, leaf)["checkpoint"]["tree_size"] == 8

    setup.grow(4)
    late = parse_json(ndjson_lines(12, seed=7)[10]).leaf_hash
    with pytest.raises(
        NotAnchoredError,
        match=(
            r"has leaf index 10 but .* the newest confirmed anchor is of tree size 8"
            r" \(leaves 0 to 7\)"
        ),
    ):
        build_evidence(setup.store, setup.repo, late)
    setup.store.add_entries([[parse_json(line) for line in ndjson_lines(1, seed=99)]])
    with pytest.raises(NotSequencedError, match="is pending"):
        build_evidence(setup.store, setup.repo, parse_json(ndjson_lines(1, seed=99)[0]).leaf_hash)
    with pytest.raises(NotFoundError, match="no entry has leaf hash 0x0000"):
        build_evidence(setup.store, setup.repo, bytes(32))

    seal(setup.store)  # the pending one too: size 13
    setup.anchorer().anchor_latest(60)
    identity = setup.identity
    with JsonRpcReader(setup.anvil.url) as chain:
        # By default the earliest confirmed anchor holding the entry; "latest" the newest.
        for wanted, choice, size in (
            (leaf, "earliest", 8),
            (leaf, "latest", 13),
            (leaf, 13, 13),
            (late, "earliest", 13),
        ):
            bundle = build_evidence(setup.store, setup.repo, wanted, choice)
            assert bundle["checkpoint"]["tree_size"] == size
            assert verify_bundle(json.dumps(bundle), chain, identity).valid

        # A size that was sealed (so its proof is right) but never anchored.
        never = copy.deepcopy(bundle)
        proof = inclusion(setup.store, late, 11)
        never["checkpoint"] |= {"tree_size": 11, "root": h(proof.root)}
        never["entries"][0]["proof"] = [h(node) for node in proof.proof]
        assert verify_bundle(json.dumps(never), None, identity).valid
        with pytest.raises(VerificationError) as caught:
            verify_bundle(json.dumps(never), chain, identity)
        assert caught.value.check == "root on chain"
        assert f"nothing is anchored at tree size 11 of log {bundle['log_id']}" in str(caught.value)

        # An identity pinning the wrong contract (and a bundle naming it): an address with
        # no code, another LogAnchor without this anchor, code that stops at once, code
        # that reverts. Only the shipped code at the pinned address counts.
        def stub(code: str) -> str:
            address = "0x" + code[2:].rjust(40, "7")
            setup.rpc("anvil_setCode", address, code)
            return address

        for contract, words in (
            ("0x" + "12" * 20, "contract: no contract at 0x" + "12" * 20 + " on chain id 31337"),
            (
                h(
                    deploy_log(
                        setup.chain, setup.signer.address, admin=Account.from_key(ADMIN_KEY).address
                    )[0].contract
                ),
                "root on chain: nothing is anchored at tree size 13",
            ),
            (
                stub("0x00"),
                "contract: the code at 0x"
                + "7" * 38
                + "00 is not the LogAnchor model-ledger ships",
            ),
            (
                stub("0xfe"),
                "contract: the code at 0x"
                + "7" * 38
                + "fe is not the LogAnchor model-ledger ships",
            ),
        ):
            elsewhere = dataclasses.replace(identity, log_anchor=bytes.fromhex(contract[2:]))
            with pytest.raises(VerificationError) as caught:
                verify_bundle(json.dumps(bundle | {"contract": contract}), chain, elsewhere)
            assert words in str(caught.value), caught.value
            with pytest.raises(VerificationError) as caught:  # the real identity: another log
                verify_bundle(json.dumps(bundle | {"contract": contract}), chain, identity)
            assert caught.value.check == "log identity"


def test_default_evidence_is_published_under_the_log_witnesses(setup: Setup) -> None:
    # With witnesses configured, default evidence proves against the earliest anchor whose
    # checkpoint a quorum of them cosigned: what a verifier pinning the identity asks.
    w1, w2 = generate_cosigner("witness.example/w1"), generate_cosigner("witness.example/w2")
    witnesses = witness_policy([w1.vkey(), w2.vkey()], 1)
    cosignatures = CosignatureRepository(setup.store)
    now = int(datetime.now(UTC).timestamp())

    def cosign(size: int, timestamp: int, witness: Any = w1) -> None:
        anchor = setup.repo.get(size)
        assert anchor is not None
        text = Checkpoint("localhost/model-ledger", size, anchor.root).text()
        assert cosignatures.add(size, anchor.root, witness.cosign(text, timestamp), timestamp)

    setup.grow(8)
    setup.anchorer().anchor_latest(60)
    leaf = parse_json(ndjson_lines(8, seed=7)[3]).leaf_hash
    query = PackQuery(kind="interaction")
    with pytest.raises(NotPublishedError, match="is not yet published: no confirmed anchor"):
        build_evidence(setup.store, setup.repo, leaf, witnesses=witnesses)
    with pytest.raises(NotPublishedError, match="is not yet published"):
        build_pack(setup.store, setup.repo, query, witnesses=witnesses)
    with pytest.raises(NotPublishedError, match="the complete pack is not yet published"):
        account = json.loads(ndjson_lines(8, seed=7)[3])["body"]["account_id"]
        complete = PackQuery(account_ids=(account,), kind="interaction")
        build_pack(setup.store, setup.repo, complete, complete=True, witnesses=witnesses)
    # chosen explicitly, the anchor is taken as it is
    assert build_evidence(setup.store, setup.repo, leaf, 8, witnesses=witnesses)
    assert build_evidence(setup.store, setup.repo, leaf, "latest", witnesses=witnesses)
    # a cosignature dated beyond the clock skew does not publish it
    cosign(8, now + CLOCK_SKEW + 60, w2)
    with pytest.raises(NotPublishedError):
        build_evidence(setup.store, setup.repo, leaf, witnesses=witnesses)
    cosign(8, now)
    assert (
        build_evidence(setup.store, setup.repo, leaf, witnesses=witnesses)["checkpoint"][
            "tree_size"
        ]
        == 8
    )
    setup.grow(4)
    setup.anchorer().anchor_latest(60)
    late = parse_json(ndjson_lines(12, seed=7)[10]).leaf_hash
    with pytest.raises(NotPublishedError, match="leaf index 10"):
        build_evidence(setup.store, setup.repo, late, witnesses=witnesses)
    cosign(12, now)
    for wanted, size in ((leaf, 8), (late, 12)):
        bundle = build_evidence(setup.store, setup.repo, wanted, witnesses=witnesses)
        assert bundle["checkpoint"]["tree_size"] == size
    pack = json.loads(build_pack(setup.store, setup.repo, query, witnesses=witnesses).document)
    assert pack["checkpoint"]["tree_size"] == 12
    # without witnesses, nothing changes: the earliest anchor
    assert build_evidence(setup.store, setup.repo, late)["checkpoint"]["tree_size"] == 12


def test_lineage_evidence_waits_for_publication(setup: Setup) -> None:
    # A model's lineage (GET /v1/models/{id}, mledger models show) builds its evidence as
    # every bundle is: under the log's witnesses, against a published anchor only.
    witness = generate_cosigner("witness.example/w1")
    witnesses = witness_policy([witness.vkey()], 1)
    body = {"model_id": "lineage-m", "version": "1", "artifact_sha256": "ab" * 32, "parents": []}
    register_model(setup.store, parse_object({"v": 1, "kind": "model", "body": body}))
    size = seal(setup.store).tree_size
    setup.anchorer().anchor_latest(60)
    plain = lineage(setup.store, setup.repo, "lineage-m")["versions"][0]
    assert plain["status"] == "anchored" and plain["evidence"] is not None
    held = lineage(setup.store, setup.repo, "lineage-m", witnesses=witnesses)["versions"][0]
    assert held["status"] == "sequenced" and held["evidence"] is None
    anchor = setup.repo.get(size)
    assert anchor is not None
    now = int(datetime.now(UTC).timestamp())
    text = Checkpoint("localhost/model-ledger", size, anchor.root).text()
    CosignatureRepository(setup.store).add(size, anchor.root, witness.cosign(text, now), now)
    shown = lineage(setup.store, setup.repo, "lineage-m", witnesses=witnesses)["versions"][0]
    assert shown["status"] == "anchored"
    assert shown["evidence"]["checkpoint"]["tree_size"] == size


@pytest.mark.parametrize("chain_id", [1, 10, 31337])
def test_chain_id_is_read_as_a_quantity(tmp_path: Path, chain_id: int) -> None:
    """eth_chainId answers a quantity ("0x1", "0xa"), not even-length hex data."""
    with (
        Anvil(
            0,
            None,
            tmp_path / "anvil.log",
            extra_args=("--chain-id", str(chain_id)),
            save_interval=0,
        ) as anvil,
        JsonRpcReader(anvil.url) as chain,
    ):
        assert chain.chain_id() == chain_id
