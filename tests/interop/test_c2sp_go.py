"""Our C2SP formats against code not written here: Go's golang.org/x/mod/sumdb/note and
sumdb/tlog (Debian's golang-golang-x-mod-dev, built offline by tests/interop/go/c2sp).

Notes we sign open in Go and Go's open with us, byte for byte the same; our checkpoints
read in Go's tlog.ParseTree and their inclusion and consistency proofs pass
tlog.CheckRecord and tlog.CheckTree; Go builds the same trees and proofs as
ledger.core.merkle; our tlog-proofs verify in Go; and the checksum database's own signed
tree heads open in Go and with us alike. Nothing is skipped: `make test` installs Go
(scripts/ensure-go.sh)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ledger.core.merkle import consistency_proof, hash_leaf, inclusion_proof, root_hash
from ledger.formats.cosignature import Cosigner
from ledger.formats.note import (
    Signature,
    Signer,
    note_verifier,
    open_note,
    parse_note,
    parse_signer,
    sign_note,
)
from ledger.formats.tlog_checkpoint import Checkpoint, add_signatures, open_checkpoint
from ledger.formats.tlog_proof import TlogProof

GO_SOURCE = Path(__file__).parent / "go" / "c2sp"
GOPATH = "/usr/share/gocode"
VECTORS = Path(__file__).parents[1] / "vectors" / "c2sp"
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
REKOR_VKEY = "log2025-1.rekor.sigstore.dev+cf119915+AbfK5adZJxsI323FwGD2AJJ9F4i89cfDuLdGJBIYntuO"

ORIGIN = "ledger.example/model-ledger"
LOG = Signer(ORIGIN, bytes(range(32)))
WITNESS = Cosigner("witness.example/w1", bytes([5]) * 32)
LEAVES = [hash_leaf(f"record {i}".encode()) for i in range(37)]


@pytest.fixture(scope="module")
def go(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go program, built for this run."""
    binary = shutil.which("go")
    if binary is None or not Path(GOPATH, "src/golang.org/x/mod/sumdb/note").is_dir():
        pytest.fail("Go and golang.org/x/mod are not installed: run scripts/ensure-go.sh")
    out = tmp_path_factory.mktemp("go")
    env = os.environ | {"GOPATH": GOPATH, "GO111MODULE": "off", "GOCACHE": str(out / "cache")}
    done = subprocess.run(
        [binary, "build", "-o", str(out / "c2sp"), "."],
        cwd=GO_SOURCE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out / "c2sp"


def run(go: Path, **request: Any) -> dict[str, Any]:
    done = subprocess.run(
        [str(go)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_a_note_we_sign_opens_in_go(go: Path) -> None:
    text = "model-ledger says hello\n\nwith an empty line, and \u00e9\n"
    other = Signer("other.example/key", bytes(range(3, 35)))
    both = sign_note(text, [LOG, other]).decode()
    answer = run(go, op="open", note=both, vkeys=[LOG.vkey()])
    assert answer["ok"] and answer["text"] == text
    assert answer["verified"] == [f"{ORIGIN}+{LOG.key_id:08x}"]
    assert answer["unverified"] == [f"other.example/key+{other.key_id:08x}"]
    tampered = both.replace("hello", "hellO")
    assert not run(go, op="open", note=tampered, vkeys=[LOG.vkey()])["ok"]


def test_a_note_go_signs_opens_with_us_and_our_signature_is_the_same(go: Path) -> None:
    keys = run(go, op="generate", name="go.example/signer")
    assert keys["ok"]
    signer = parse_signer(keys["skey"])
    assert signer.vkey() == keys["vkey"]
    text = "signed in Go\n"
    signed = run(go, op="sign", skey=keys["skey"], text=text)["note"]
    opened = open_note(signed.encode(), [note_verifier(keys["vkey"])])
    assert opened.text == text
    # Ed25519 is deterministic: the same key signs the same bytes in both languages.
    assert sign_note(text, [signer]).decode() == signed
    assert signer.private_text() == keys["skey"]


def test_go_parses_our_checkpoint_text(go: Path) -> None:
    """tlog.ParseTree reads only the checksum database's origin line; with that origin our
    checkpoint text is what Go's own log writes."""
    signer = Signer("go.sum.example", bytes(range(32)))
    checkpoint = Checkpoint("go.sum database tree", len(LEAVES), root_hash(LEAVES))
    answer = run(
        go, op="parse-tree", note=checkpoint.sign([signer]).decode(), vkeys=[signer.vkey()]
    )
    assert answer["ok"], answer
    assert answer["size"] == len(LEAVES) and answer["root"] == b64(root_hash(LEAVES))


def test_our_inclusion_and_consistency_proofs_pass_go_tlog(go: Path) -> None:
    text = Checkpoint(ORIGIN, len(LEAVES), root_hash(LEAVES)).text()
    note = add_signatures(
        Checkpoint(ORIGIN, len(LEAVES), root_hash(LEAVES)).sign([LOG]),
        [WITNESS.cosign(text, 1_700_000_000)],
    ).decode()
    for index in (0, 1, 17, 31, 32, 36):
        answer = run(
            go,
            op="check-record",
            note=note,
            vkeys=[LOG.vkey()],
            origin=ORIGIN,
            index=index,
            leaf_hash=b64(LEAVES[index]),
            proof=[b64(h) for h in inclusion_proof(index, LEAVES)],
        )
        assert answer["ok"], (index, answer)
        wrong = run(
            go,
            op="check-record",
            note=note,
            vkeys=[LOG.vkey()],
            origin=ORIGIN,
            index=index,
            leaf_hash=b64(LEAVES[(index + 1) % len(LEAVES)]),
            proof=[b64(h) for h in inclusion_proof(index, LEAVES)],
        )
        assert not wrong["ok"]
    for old in (1, 5, 16, 30):
        old_note = Checkpoint(ORIGIN, old, root_hash(LEAVES[:old])).sign([LOG]).decode()
        answer = run(
            go,
            op="check-tree",
            old_note=old_note,
            note=note,
            vkeys=[LOG.vkey()],
            origin=ORIGIN,
            proof=[b64(h) for h in consistency_proof(old, LEAVES)],
        )
        assert answer["ok"], (old, answer)


def test_go_builds_the_same_trees_and_proofs(go: Path) -> None:
    data = [f"entry {i}".encode() for i in range(21)]
    leaves = [hash_leaf(d) for d in data]
    answer = run(go, op="prove", leaves=[b64(d) for d in data])
    assert answer["ok"] and answer["root"] == b64(root_hash(leaves))
    for index in range(len(data)):
        assert answer["inclusion"][index] == [b64(h) for h in inclusion_proof(index, leaves)]
        size = index + 1
        ours = consistency_proof(size, leaves) if size < len(leaves) else []
        assert answer["consistency"][index] == [b64(h) for h in ours]


def test_our_tlog_proof_verifies_in_go(go: Path) -> None:
    checkpoint = Checkpoint(ORIGIN, len(LEAVES), root_hash(LEAVES))
    note = parse_note(
        add_signatures(checkpoint.sign([LOG]), [WITNESS.cosign(checkpoint.text(), 1)])
    )
    for index, extra in ((0, None), (22, b"opaque context")):
        proof = TlogProof(index, tuple(inclusion_proof(index, LEAVES)), note, extra)
        answer = run(
            go,
            op="check-tlog-proof",
            text=proof.encode().decode(),
            vkeys=[LOG.vkey()],
            origin=ORIGIN,
            leaf_hash=b64(LEAVES[index]),
        )
        assert answer["ok"], answer
        assert answer["index"] == index and answer.get("extra") == (extra and b64(extra))


@pytest.mark.parametrize("path", sorted(VECTORS.glob("sumdb-*.note")), ids=lambda p: p.name)
def test_the_checksum_databases_heads_open_in_go_and_with_us(go: Path, path: Path) -> None:
    data = path.read_bytes()
    answer = run(go, op="parse-tree", note=data.decode(), vkeys=[SUMDB_VKEY])
    assert answer["ok"], answer
    ours = open_checkpoint(data, "go.sum database tree", [note_verifier(SUMDB_VKEY)])
    assert answer["size"] == ours.checkpoint.size
    assert answer["root"] == b64(ours.checkpoint.root)


def test_a_rekor_v2_head_opens_in_go_and_with_us(go: Path) -> None:
    data = (VECTORS / "rekor-v2-34356369.note").read_bytes()
    answer = run(go, op="open", note=data.decode(), vkeys=[REKOR_VKEY])
    assert answer["ok"], answer
    ours = open_checkpoint(data, "log2025-1.rekor.sigstore.dev", [note_verifier(REKOR_VKEY)])
    assert answer["text"] == ours.checkpoint.text()


def test_go_embeds_the_checksum_database_key_we_pin() -> None:
    """The vkey the tests pin is the one the go command ships (cmd/go/internal/modfetch)."""
    sources = list(Path("/usr/lib").glob("go-*/src/cmd/go/internal/modfetch/key.go"))
    if not sources:
        pytest.fail("the Go toolchain's sources are missing: run scripts/ensure-go.sh")
    assert f'"{SUMDB_VKEY}"' in sources[0].read_text()


def test_our_cosignatures_verify_through_gos_note_open(go: Path) -> None:
    """x/mod 0.7.0 predates cosignature/v1, so the Go side plugs a small verifier of the
    spec's signed message into note.Open, which still parses every line and matches names
    and key IDs itself."""
    second = Cosigner("witness.example/w2", bytes([6]) * 32)
    stranger = Cosigner("stranger.example/w", bytes([7]) * 32)
    checkpoint = Checkpoint(ORIGIN, len(LEAVES), root_hash(LEAVES))
    text = checkpoint.text()
    lines = [WITNESS.cosign(text, 1_700_000_000), second.cosign(text, 1_700_000_500)]
    note = add_signatures(checkpoint.sign([LOG]), [*lines, stranger.cosign(text, 5)]).decode()
    answer = run(
        go,
        op="open-cosigned",
        note=note,
        vkeys=[LOG.vkey()],
        witness_vkeys=[WITNESS.vkey(), second.vkey()],
    )
    assert answer["ok"], answer
    assert answer["verified"] == [
        f"{ORIGIN}+{LOG.key_id:08x}",
        f"{WITNESS.name}+{WITNESS.key_id:08x}",
        f"{second.name}+{second.key_id:08x}",
    ]
    assert answer["unverified"] == [f"{stranger.name}+{stranger.key_id:08x}"]
    assert answer["times"] == {WITNESS.name: 1_700_000_000, second.name: 1_700_000_500}
    # The same bytes with another time: Go rejects the note, as we do.
    forged = lines[0].signature
    moved = Signature(
        lines[0].name, lines[0].key_id, (1_700_000_001).to_bytes(8, "big") + forged[8:]
    )
    bad = add_signatures(checkpoint.sign([LOG]), [moved]).decode()
    answer = run(
        go, op="open-cosigned", note=bad, vkeys=[LOG.vkey()], witness_vkeys=[WITNESS.vkey()]
    )
    assert not answer["ok"] and "invalid signature" in answer["error"]


def test_a_proof_of_sigstores_rekor_v2_verifies_in_go(go: Path) -> None:
    """The same real Rekor v2 entry as tests/formats/test_tlog_proof.py, checked by Go."""
    entry = (VECTORS / "rekor-v2-412114.entry").read_bytes()
    answer = run(
        go,
        op="check-tlog-proof",
        text=(VECTORS / "rekor-v2-412114.tlog-proof").read_text(),
        vkeys=[
            "log2025-1.rekor.sigstore.dev+cf119915+AbfK5adZJxsI323FwGD2AJJ9F4i89cfDuLdGJBIYntuO"
        ],
        origin="log2025-1.rekor.sigstore.dev",
        leaf_hash=b64(hash_leaf(entry)),
    )
    assert answer["ok"], answer
    assert answer["index"] == 412114 and answer["size"] == 412115


def test_our_witness_takes_gos_proofs_and_go_opens_its_cosignature(
    go: Path, tmp_path: Path
) -> None:
    """`ledger witness serve` accepts a consistency proof Go's tlog.ProveTree made, and Go's
    note.Open (with the cosignature/v1 verifier) accepts the cosignature it returns."""
    import httpx

    from ledger.formats.tlog_witness import encode_add_checkpoint
    from tests.service.test_witness import start, stop

    data = [f"entry {i}".encode() for i in range(21)]
    built = run(go, op="prove", leaves=[b64(d) for d in data])
    leaves = [hash_leaf(d) for d in data]
    served = start(tmp_path / "witness", LOG.vkey())
    try:
        first = Checkpoint(ORIGIN, 8, root_hash(leaves[:8])).sign([LOG])
        url = served.url + "/add-checkpoint"
        assert httpx.post(url, content=encode_add_checkpoint(0, [], first)).status_code == 200
        latest = Checkpoint(ORIGIN, 21, base64.b64decode(built["root"])).sign([LOG])
        proof = [base64.b64decode(h) for h in built["consistency"][7]]  # Go: 8 -> 21
        answer = httpx.post(url, content=encode_add_checkpoint(8, proof, latest))
        assert answer.status_code == 200, answer.text
        cosigned = (latest + answer.content).decode()
        opened = run(
            go, op="open-cosigned", note=cosigned, vkeys=[LOG.vkey()], witness_vkeys=[served.vkey]
        )
        assert opened["ok"], opened
        assert len(opened["verified"]) == 2 and opened["unverified"] == []
        # The same checkpoint again with a proof (there must be none): 422.
        wrong = encode_add_checkpoint(
            21, [base64.b64decode(h) for h in built["consistency"][7]], latest
        )
        assert httpx.post(url, content=wrong).status_code == 422
    finally:
        stop(served)


def test_go_reads_a_witness_vkey_whose_base64_holds_a_plus(go: Path) -> None:
    """Regression: the Go program split the vkey on every '+', base64's included."""
    seeds = (bytes([i]) * 32 for i in range(256))
    witness = next(
        c for c in (Cosigner("w.example/w", s) for s in seeds) if "+" in c.vkey().split("+", 2)[2]
    )
    checkpoint = Checkpoint(ORIGIN, len(LEAVES), root_hash(LEAVES))
    note = add_signatures(checkpoint.sign([LOG]), [witness.cosign(checkpoint.text(), 7)])
    answer = run(
        go,
        op="open-cosigned",
        note=note.decode(),
        vkeys=[LOG.vkey()],
        witness_vkeys=[witness.vkey()],
    )
    assert answer["ok"], answer
