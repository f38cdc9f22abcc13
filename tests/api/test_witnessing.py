"""Witnessing wired into the service, through what users run: `mledger up` and `mledger
serve` with `--witness`, a real `mledger witness serve` process, a dead URL, a witness that
never answers and one that refuses; GET /checkpoint, GET /v1/log, /healthz, /metrics,
evidence (bundles, packs, tlog-proofs) and `mledger verify` on them."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from ledger.chain.anvil import free_port
from ledger.formats.cosignature import generate_cosigner, open_cosigned_checkpoint, witness_policy
from ledger.formats.note import Signer, parse_note
from ledger.workload import interaction
from tests.api.conftest import ADMIN_KEY, Server, ledger
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture: fails clearly without Anvil
from tests.service.test_witness import Served, start, stop

ORIGIN = "localhost/model-ledger"
"""The origin of a log with the default public host and log name."""
NOTE_KEY = Signer(ORIGIN, bytes([7]) * 32)
"""The log's note key, given to the service (LEDGER_NOTE_KEY) so the witness can trust it
before the log starts."""


def _read(stream: IO[str], sink: Any) -> None:
    for line in stream:
        sink(line)


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[Served]:
    served = start(tmp_path / "witness", NOTE_KEY.vkey())
    yield served
    stop(served)


def _verify(*args: str) -> subprocess.CompletedProcess[str]:
    return ledger("verify", *args, check=False)


def test_up_with_a_witness_and_a_dead_one(
    tmp_path: Path,
    witness: Served,
    anvil_binary: Path,  # noqa: F811
) -> None:
    dead = generate_cosigner("dead.example/w2")
    dead_url = f"http://127.0.0.1:{free_port()}"
    port, rpc_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledger",
            "up",
            "--data-dir",
            str(tmp_path / "data"),
            "--rpc-port",
            str(rpc_port),
            "--port",
            str(port),
            "--seal-interval",
            "0.2",
            "--anchor-interval",
            "0.5",
            "--witness",
            f"{witness.url} {witness.vkey}",
            "--witness",
            f"{dead_url} {dead.vkey()}",
            "--witness-quorum",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "LEDGER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
            "LEDGER_NOTE_KEY": NOTE_KEY.private_text(),
            "LEDGER_WITNESS_INTERVAL": "0.2",
            "LEDGER_WITNESS_TIMEOUT": "2",
        },
    )
    lines: queue.Queue[str] = queue.Queue()
    stderr: list[str] = []
    assert process.stdout is not None and process.stderr is not None
    threading.Thread(target=_read, args=(process.stdout, lines.put), daemon=True).start()
    threading.Thread(target=_read, args=(process.stderr, stderr.append), daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    rpc = f"http://127.0.0.1:{rpc_port}"
    try:
        deadline = time.monotonic() + 60
        # The service notes its API first, then (after starting the anchorer) the
        # witnesses: wait for both lines, not just the first.
        while not (
            any(f"API at {url}" in line for line in stderr)
            and any("witnessing: 2 witness(es)" in line for line in stderr)
        ):
            assert process.poll() is None and time.monotonic() < deadline, "".join(stderr)
            time.sleep(0.05)
        admin = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60
        )
        records = [interaction(i, seed=43) for i in range(12)]
        receipts = admin.post("/v1/entries/batch", json={"entries": records}).json()["receipts"]
        while True:
            event = json.loads(lines.get(timeout=60))
            if event["type"] == "anchor" and event["tree_size"] >= 12:
                break
        assert event["tree_size"] == 12
        # Published once one of the two witnesses cosigned; the dead one is reported.
        deadline = time.monotonic() + 30
        while True:
            health = admin.get("/healthz").json()
            if health["witnessing"]["published_size"] == 12:
                break
            assert time.monotonic() < deadline, health
            time.sleep(0.1)
        assert health["witnessing"] == {
            "witnesses": 2,
            "quorum": 1,
            "cosigned": 1,
            "published": True,
            "published_size": 12,
        }
        metrics = admin.get("/metrics").text
        assert "ledger_published_tree_size 12" in metrics
        assert "ledger_witness_cosignatures 1" in metrics
        assert any(f"witness dead.example/w2: {dead_url}/add-checkpoint" in s for s in stderr)

        # GET /checkpoint (public) carries the live witness's cosignature.
        note = httpx.get(f"{url}/checkpoint", timeout=30).content
        cosigned = open_cosigned_checkpoint(
            note, ORIGIN, [NOTE_KEY.verifier()], witness_policy([witness.vkey], 1)
        )
        assert cosigned.checkpoint.size == 12
        assert [c.name for c in cosigned.cosigned] == ["witness.example/w1"]

        # The identity lists the witnesses and the quorum.
        identity = httpx.get(f"{url}/v1/log", timeout=30).json()
        assert identity["witnesses"] == [witness.vkey, dead.vkey()]
        assert identity["witness_quorum"] == 1
        assert identity["note_vkey"] == NOTE_KEY.vkey()
        log_file = tmp_path / "log.json"
        log_file.write_text(json.dumps(identity))
        cli_identity = ledger("identity", "--data-dir", str(tmp_path / "data"), check=False)
        assert cli_identity.returncode == 0, cli_identity.stderr
        # without the settings `mledger identity` names no witness
        assert "witnesses" not in json.loads(cli_identity.stdout)

        # A bundle carries the cosigned note; mledger verify counts the witnesses.
        leaf = receipts[3]["leaf_hash"]
        bundle = admin.get(f"/v1/evidence/{leaf}").json()
        assert bundle["checkpoint_note"] == note.decode()
        bundle_file = tmp_path / "bundle.json"
        bundle_file.write_text(json.dumps(bundle))
        valid = _verify(str(bundle_file), "--log", str(log_file), "--rpc-url", rpc)
        assert valid.returncode == 0, valid.stdout + valid.stderr
        assert (
            "1 of the 2 trusted witnesses cosigned the checkpoint (witness.example/w1);"
            " quorum 1 met" in valid.stdout
        )
        assert "signed by the pinned log's note key" in valid.stdout
        assert valid.stdout.splitlines()[-1].startswith("VALID: ")
        # Only the dead witness trusted: the quorum is not met, INVALID naming the check.
        unmet = _verify(
            str(bundle_file), "--log", str(log_file), "--offline", "--witness", dead.vkey()
        )
        assert unmet.returncode == 1
        assert (
            "INVALID: witnesses check failed: 0 of the 1 trusted witnesses cosigned the"
            " checkpoint (none); quorum 1 not met" in unmet.stdout
        )
        # A note of another checkpoint, or one the log did not sign: INVALID.
        other = dict(bundle, checkpoint_note=note.decode().replace("\n12\n", "\n11\n", 1))
        (tmp_path / "other.json").write_text(json.dumps(other))
        wrong = _verify(str(tmp_path / "other.json"), "--log", str(log_file), "--offline")
        assert wrong.returncode == 1
        assert "INVALID: checkpoint note check failed: the note is of tree size 11" in wrong.stdout
        forged_key = Signer(ORIGIN, bytes([8]) * 32)
        forged_note = parse_note(note)
        text = forged_note.text
        forged = dict(bundle, checkpoint_note=text + "\n" + forged_key.sign(text.encode()).line())
        (tmp_path / "forged.json").write_text(json.dumps(forged))
        refused = _verify(str(tmp_path / "forged.json"), "--log", str(log_file), "--offline")
        assert refused.returncode == 1
        assert "INVALID: checkpoint note check failed:" in refused.stdout
        # A bundle without the field fails the identity's quorum, unless the verifier's
        # own --quorum 0 says it asks none.
        plain = {k: v for k, v in bundle.items() if k != "checkpoint_note"}
        (tmp_path / "plain.json").write_text(json.dumps(plain))
        stripped = _verify(str(tmp_path / "plain.json"), "--log", str(log_file), "--offline")
        assert stripped.returncode == 1, stripped.stdout
        assert (
            "INVALID: witnesses check failed: the log's identity requires 1 witnesses'"
            " cosignatures and this bundle carries no cosigned checkpoint note" in stripped.stdout
        )
        waived = _verify(
            str(tmp_path / "plain.json"), "--log", str(log_file), "--offline", "--quorum", "0"
        )
        assert waived.returncode == 0, waived.stdout
        assert "no cosignature counted, as the verifier's quorum 0 asks" in waived.stdout

        # A pack carries it too.
        pack = admin.post("/v1/evidence", json={"kind": "interaction"})
        assert pack.status_code == 200, pack.text
        assert pack.json()["checkpoint_note"] == note.decode()
        (tmp_path / "pack.json").write_text(pack.text)
        packed = _verify(str(tmp_path / "pack.json"), "--log", str(log_file), "--rpc-url", rpc)
        assert packed.returncode == 0, packed.stdout + packed.stderr
        assert "quorum 1 met" in packed.stdout

        # tlog-proof: the API and the CLI give the same proof; mledger verify accepts it.
        api_proof = admin.get(f"/v1/evidence/{leaf}", params={"format": "tlog-proof"})
        assert api_proof.status_code == 200, api_proof.text
        assert api_proof.headers["content-type"].startswith("text/plain")
        cli_proof = ledger(
            "evidence", leaf, "--format", "tlog-proof", "--data-dir", str(tmp_path / "data")
        )
        assert cli_proof.stdout.encode() == api_proof.content
        assert api_proof.content.startswith(b"c2sp.org/tlog-proof@v1\nindex 3\n")
        assert api_proof.content.endswith(note)
        (tmp_path / "entry.tlog-proof").write_bytes(api_proof.content)
        (tmp_path / "record.json").write_text(json.dumps(records[3]))
        checked = _verify(
            str(tmp_path / "entry.tlog-proof"),
            "--record",
            str(tmp_path / "record.json"),
            "--log",
            str(log_file),
            "--witness",
            witness.vkey,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        bad_format = admin.get(f"/v1/evidence/{leaf}", params={"format": "zip"})
        assert bad_format.status_code == 422
        with_anchor = admin.get(
            f"/v1/evidence/{leaf}", params={"format": "tlog-proof", "anchor": "latest"}
        )
        assert with_anchor.status_code == 400
        assert "anchor goes with format=bundle" in with_anchor.json()["detail"]
        usage = ledger(
            "evidence",
            leaf,
            "--format",
            "zip",
            "--data-dir",
            str(tmp_path / "data"),
            check=False,
        )
        assert usage.returncode == 2 and "--format is bundle or tlog-proof" in usage.stderr

        # A model's lineage shows evidence only once an anchor holding it is published,
        # and that evidence carries the cosigned note the identity's quorum asks for.
        model = {"model_id": "witnessed", "version": "1.0", "artifact_sha256": "cd" * 32}
        registered = admin.post("/v1/models", json=model | {"parents": []})
        assert registered.status_code == 202, registered.text
        deadline = time.monotonic() + 30
        while True:
            version = admin.get("/v1/models/witnessed").json()["versions"][0]
            if version["evidence"] is not None:
                break
            assert version["status"] in ("pending", "sequenced"), version
            assert time.monotonic() < deadline, version
            time.sleep(0.05)
        assert version["status"] == "anchored"
        (tmp_path / "model.json").write_text(json.dumps(version["evidence"]))
        lineage = _verify(str(tmp_path / "model.json"), "--log", str(log_file), "--rpc-url", rpc)
        assert lineage.returncode == 0, lineage.stdout + lineage.stderr
        assert "quorum 1 met" in lineage.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, "".join(stderr)


class Silent:
    """A TCP server that accepts connections and never answers: a witness that hangs."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.socket.close()
        for conn in self.held:
            conn.close()


def test_serve_goes_on_when_witnesses_hang_or_refuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real witness that does not trust this log's key refuses (403); another hangs.
    refusing = start(tmp_path / "refusing", Signer(ORIGIN, bytes([9]) * 32).vkey())
    silent = Silent()
    hanging = generate_cosigner("hanging.example/w3")
    server = None
    try:
        monkeypatch.setenv("LEDGER_NOTE_KEY", NOTE_KEY.private_text())
        server = Server(
            tmp_path / "data",
            "--seal-interval",
            "3600",
            "--witness",
            f"{refusing.url} {refusing.vkey}",
            "--witness",
            f"{silent.url} {hanging.vkey()}",
        )
        with server.client(ADMIN_KEY) as admin:
            for round_ in range(3):
                started = time.monotonic()
                accepted = admin.post("/v1/entries", json=interaction(round_, seed=44))
                assert accepted.status_code == 202, accepted.text
                sealed = admin.post("/v1/admin/seal")
                assert sealed.status_code == 200, sealed.text
                # The witness timeout is 10 s: nothing here waits for the witnesses.
                assert time.monotonic() - started < 5
                time.sleep(1.2)  # a witness round or more
            health = admin.get("/healthz").json()
            assert health["tree_size"] == 3
            assert health["witnessing"] == {
                "witnesses": 2,
                "quorum": 2,
                "cosigned": 0,
                "published": False,
                "published_size": 0,
            }
            note = admin.get("/checkpoint").content
            assert [s.name for s in parse_note(note).signatures] == [ORIGIN]  # the log's alone
        assert server.stop() == 0
    finally:
        if server is not None and server.process.poll() is None:
            server.stop()
        silent.close()
        stop(refusing)


def test_bad_witness_settings_stop_the_service_before_it_starts(tmp_path: Path) -> None:
    bad = ledger(
        "serve", "--data-dir", str(tmp_path / "d"), "--witness", "not-a-url x", check=False
    )
    assert bad.returncode == 2 and "bad setting: --witness:" in bad.stderr
    vkey = generate_cosigner("w.example/w").vkey()
    quorum = ledger(
        "serve",
        "--data-dir",
        str(tmp_path / "d"),
        "--witness",
        f"http://127.0.0.1:1 {vkey}",
        "--witness-quorum",
        "2",
        check=False,
    )
    assert quorum.returncode == 2
    assert "--witness-quorum: Value error, 2 is more than the 1 witness(es)" in quorum.stderr
    assert not (tmp_path / "d").exists()
