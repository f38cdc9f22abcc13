"""`ledger deploy`, `ledger anchor`, `ledger anchors`, `ledger retire` and `ledger up` as a
user runs them: real processes, a real Anvil, JSON out, errors on stderr."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from eth_account import Account
from eth_utils.address import to_checksum_address

from ledger.chain.anvil import Anvil, free_port
from ledger.chain.client import ChainClient
from ledger.chain.keys import DEV_ANCHOR_KEY, key_from_hex
from ledger.chain.log_anchor import LogAnchor
from ledger.workload import ndjson_lines
from tests.chain.conftest import OTHER_KEY, anvil_binary  # noqa: F401 - fixture


def ledger(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> list[Any]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def refused(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("error: ") and text in result.stderr, result.stderr


def records(path: Path, count: int, start: int = 0) -> Path:
    path.write_text("\n".join(ndjson_lines(count, start=start)) + "\n")
    return path


def test_deploy_anchor_and_list(tmp_path: Path, chain: ChainClient) -> None:
    where = ["--data-dir", str(tmp_path / "data"), "--rpc-url", chain.rpc_url]
    refused(ledger("anchor", *where), "no log in")  # nothing started here yet
    ledger("init", "--data-dir", str(tmp_path / "data"))
    refused(ledger("anchor", *where), "records no LogAnchor deployment: run `mledger deploy")

    keystore = tmp_path / "anchor-key.json"
    keystore.write_text(
        json.dumps(
            Account.encrypt(
                bytes.fromhex(DEV_ANCHOR_KEY[2:]), "s3cret-pass", kdf="pbkdf2", iterations=2
            )
        )
    )
    deployed = ledger(
        "deploy",
        *where,
        "--keystore",
        str(keystore),
        env={"LEDGER_KEYSTORE_PASSWORD": "s3cret-pass"},
    )
    (out,) = ok(deployed)
    assert (
        set(out) == {"contract", "log_id", "chain_id", "block_number", "registry", "admin"}
        and out["chain_id"] == 31337
    )
    assert DEV_ANCHOR_KEY[2:] not in deployed.stdout + deployed.stderr
    assert "s3cret" not in deployed.stdout + deployed.stderr
    refused(
        ledger("deploy", *where),
        "already anchors log 'model-ledger' to contract " + out["contract"],
    )

    ok(
        ledger(
            "ingest", str(records(tmp_path / "r.ndjson", 20)), "--data-dir", str(tmp_path / "data")
        )
    )
    started = time.monotonic()
    (anchored,) = ok(ledger("anchor", *where))  # seals the pending records first
    elapsed = time.monotonic() - started
    contract = LogAnchor(chain, out["contract"])
    log_id = bytes.fromhex(out["log_id"][2:])
    latest = contract.latest(log_id)
    assert {k: anchored[k] for k in ("log_id", "tree_size", "root", "contract")} == {
        "log_id": out["log_id"],
        "tree_size": 20,
        "root": "0x" + latest.root.hex(),
        "contract": out["contract"],
    }
    event = contract.anchored_at(log_id, 20)
    assert (
        event is not None
        and anchored["block_number"] == event.block_number
        and anchored["gas_used"] > 0
    )
    assert "0x" + event.tx_hash.hex() == anchored["tx_hash"]
    receipt = chain.receipt(bytes.fromhex(anchored["tx_hash"][2:]))
    assert receipt is not None and receipt.status == 1
    assert elapsed < 30

    (listed,) = ok(ledger("anchors", *where))  # --rpc-url: follows open anchors first
    assert (listed["tree_size"], listed["status"], listed["tx_hash"], listed["attempts"]) == (
        20,
        "confirmed",
        anchored["tx_hash"],
        1,
    )

    # The anchor key only pays for gas: another account relays what the log key signs ...
    ok(
        ledger(
            "ingest",
            str(records(tmp_path / "more.ndjson", 3, start=20)),
            "--data-dir",
            str(tmp_path / "data"),
        )
    )
    (relayed,) = ok(ledger("anchor", *where, env={"LEDGER_ANCHOR_KEY": OTHER_KEY}))
    sent = chain.transaction(bytes.fromhex(relayed["tx_hash"][2:]))
    assert (
        relayed["tree_size"] == 23
        and sent is not None
        and sent["from"] == Account.from_key(OTHER_KEY).address
    )
    assert contract.latest(log_id).size == 23
    # ... and a log key other than the log's is refused before anything is sent.
    wrong_key = "0x" + "77" * 32
    nonce = chain.nonce(Account.from_key(OTHER_KEY).address)
    wrong = ledger(
        "anchor", *where, env={"LEDGER_ANCHOR_KEY": OTHER_KEY, "LEDGER_LOG_KEY": wrong_key}
    )
    (identity,) = ok(ledger("identity", "--data-dir", str(tmp_path / "data")))
    log_key = to_checksum_address(identity["log_signer"])
    refused(
        wrong,
        f"is anchored with log key {log_key}, but this service's log"
        f" key is {Account.from_key(wrong_key).address}",
    )
    assert OTHER_KEY[2:] not in wrong.stderr and wrong_key[2:] not in wrong.stderr
    assert chain.nonce(Account.from_key(OTHER_KEY).address) == nonce
    closed = f"http://127.0.0.1:{free_port()}"
    refused(
        ledger("anchor", "--data-dir", str(tmp_path / "data"), "--rpc-url", closed),
        "is unreachable",
    )


class Service:
    """`ledger up` in the background, its stdout lines and stderr read by threads."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger", "up", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[Any] = queue.Queue()
        self.stderr: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        threading.Thread(
            target=self._read, args=(self.process.stdout, self.lines.put), daemon=True
        ).start()
        threading.Thread(
            target=self._read, args=(self.process.stderr, self.stderr.append), daemon=True
        ).start()

    @staticmethod
    def _read(stream: IO[str], sink: Any) -> None:
        for line in stream:
            sink(json.loads(line) if line.startswith("{") else line)

    def wait_for(self, kind: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if line["type"] == kind:
                return dict(line)

    def wait_ready(self, timeout: float = 90) -> str:  # a busy machine starts it slowly
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            banner = [line for line in self.stderr if "sealing every" in line]
            if banner:
                return "".join(self.stderr)
            assert self.process.poll() is None, "".join(self.stderr)
            time.sleep(0.05)
        raise AssertionError("ledger up did not start: " + "".join(self.stderr))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def test_up_end_to_end_and_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    options = [
        "--data-dir",
        str(data),
        "--rpc-port",
        str(port),
        "--seal-interval",
        "0.2",
        "--anchor-interval",
        "0.5",
    ]

    first = Service(*options)
    try:
        started = first.wait_ready()
        assert "deployed LogAnchor at 0x" in started
        contract_address = started.split("deployed LogAnchor at ")[1].split()[0]
        admin = started.split("created the log's admin key ")[1].split()[0]
        assert (
            f"in {data / 'admin-key.json'} (password in {data / 'admin-key.password'})" in started
        )
        assert "move it offline now" in started
        ok(ledger("ingest", str(records(tmp_path / "a.ndjson", 12)), "--data-dir", str(data)))
        checkpoint = first.wait_for("checkpoint")
        anchored = first.wait_for("anchor")
        assert checkpoint["tree_size"] == anchored["tree_size"] == 12
        assert anchored["root"] == checkpoint["root"] and anchored["contract"] == contract_address
    finally:
        assert first.stop() == 0
    assert (data / "anvil-state.json").exists()
    assert DEV_ANCHOR_KEY[2:] not in (data / "anvil.log").read_text() + "".join(first.stderr)

    second = Service(*options)
    try:
        started = second.wait_ready()
        assert "deployed" not in started and f"LogAnchor {contract_address}" in started
        assert "admin key" not in started  # only a new log needs one
        chain = ChainClient(f"http://127.0.0.1:{port}")
        bound = LogAnchor(chain, contract_address)
        info = bound.log_info(bytes.fromhex(anchored["log_id"][2:]))
        assert info is not None and info.admin == admin != Account.from_key(DEV_ANCHOR_KEY).address
        latest = bound.latest(bytes.fromhex(anchored["log_id"][2:]))
        event = bound.anchored_at(bytes.fromhex(anchored["log_id"][2:]), 12)
        assert (latest.size, "0x" + latest.root.hex()) == (12, anchored["root"])
        assert event is not None and event.block_number == anchored["block_number"]
        ok(
            ledger(
                "ingest", str(records(tmp_path / "b.ndjson", 5, start=12)), "--data-dir", str(data)
            )
        )
        assert second.wait_for("anchor")["tree_size"] == 17
    finally:
        assert second.stop() == 0

    # A chain that lost the contract is refused, not silently redeployed.
    (data / "anvil-state.json").unlink()
    lost = subprocess.run(
        [sys.executable, "-m", "ledger", "up", "--port", "0", *options],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert lost.returncode != 0 and "error: no contract at " + contract_address in lost.stderr


def test_retire_is_signed_by_the_admin_key_and_sent_by_anyone(
    tmp_path: Path, chain: ChainClient
) -> None:
    """On the dev chain, `ledger deploy` without --admin makes the log's admin key in the
    data dir (and says it is for development only, to move it offline); `ledger retire`
    signs with it and the anchor key sends; signed with the anchor key (or any other) it is
    refused before anything is sent. With
    --admin ADDRESS no key is made, and `--sign-only` hands a signed retirement to anyone
    to send."""
    data = tmp_path / "data"
    where = ["--data-dir", str(data), "--rpc-url", chain.rpc_url]
    deployed = ledger("deploy", *where)
    (out,) = ok(deployed)
    admin_file, password_file = data / "admin-key.json", data / "admin-key.password"
    assert admin_file.stat().st_mode & 0o777 == password_file.stat().st_mode & 0o777 == 0o600
    admin_key = Account.decrypt(json.loads(admin_file.read_text()), password_file.read_text())
    assert (
        Account.from_key(admin_key).address
        == out["admin"]
        != Account.from_key(DEV_ANCHOR_KEY).address
    )
    assert (
        f"created the log's admin key {out['admin']} in {admin_file}" in deployed.stderr
        and "offline" in deployed.stderr
        and "for development only" in deployed.stderr  # the dev chain's convenience
    )
    assert (
        admin_key.hex() not in deployed.stdout + deployed.stderr
        and password_file.read_text() not in deployed.stderr
    )
    contract, log_id = LogAnchor(chain, out["contract"]), bytes.fromhex(out["log_id"][2:])
    ok(ledger("ingest", str(records(tmp_path / "r.ndjson", 5)), "--data-dir", str(data)))
    ok(ledger("anchor", *where))

    unconfirmed = ledger("retire", "--trusted-size", "5", *where)
    assert unconfirmed.returncode == 2 and "Run again with --yes" in unconfirmed.stderr
    nonce = chain.nonce(Account.from_key(DEV_ANCHOR_KEY).address)
    with_anchor_key = ledger(
        "retire", "--trusted-size", "5", "--yes", *where, env={"LEDGER_ADMIN_KEY": DEV_ANCHOR_KEY}
    )
    refused(
        with_anchor_key,
        f"{Account.from_key(DEV_ANCHOR_KEY).address} is not the admin"
        f" of log {out['log_id']}: its admin is {out['admin']}",
    )
    assert (
        "nothing was sent" in with_anchor_key.stderr
        and DEV_ANCHOR_KEY[2:] not in with_anchor_key.stderr
    )
    assert chain.nonce(Account.from_key(DEV_ANCHOR_KEY).address) == nonce
    (retired,) = ok(
        ledger("retire", "--trusted-size", "5", "--yes", *where)
    )  # the data dir's admin key
    assert {
        k: retired[k] for k in ("log_id", "retired", "trusted_size", "latest_size", "admin")
    } == {
        "log_id": out["log_id"],
        "retired": True,
        "trusted_size": 5,
        "latest_size": 5,
        "admin": out["admin"],
    }
    sent = chain.transaction(bytes.fromhex(retired["tx_hash"][2:]))
    assert (
        sent is not None and sent["from"] == Account.from_key(DEV_ANCHOR_KEY).address
    )  # the anchor key only paid
    info = contract.log_info(log_id)
    assert info is not None and (info.retired, info.trusted_size) == (True, 5)
    refused(
        ledger("retire", "--trusted-size", "5", "--yes", *where),
        "is retired already (trusted up to size 5)",
    )

    # An admin kept elsewhere: --admin names it, no key is made; it signs offline.
    other = tmp_path / "other"
    admin = Account.create()
    refused(
        ledger(
            "deploy",
            "--data-dir",
            str(other),
            "--rpc-url",
            chain.rpc_url,
            "--admin",
            Account.from_key(DEV_ANCHOR_KEY).address,
        ),
        "is the anchor (gas) key: the admin must be a key kept apart",
    )
    (second,) = ok(
        ledger(
            "deploy", "--data-dir", str(other), "--rpc-url", chain.rpc_url, "--admin", admin.address
        )
    )
    assert second["admin"] == admin.address and not (other / "admin-key.json").exists()
    keystore = tmp_path / "offline-admin.json"
    keystore.write_text(
        json.dumps(Account.encrypt(admin.key, "offline-pass", kdf="pbkdf2", iterations=2))
    )
    signed = ledger(
        "retire",
        "--trusted-size",
        "0",
        "--yes",
        "--sign-only",
        "--data-dir",
        str(other),
        "--admin-keystore",
        str(keystore),
        "--rpc-url",
        f"http://127.0.0.1:{free_port()}",  # no chain needed
        env={"LEDGER_ADMIN_KEYSTORE_PASSWORD": "offline-pass"},
    )
    (retirement,) = ok(signed)
    assert set(retirement) == {"chain_id", "contract", "log_id", "trusted_size", "admin", "r", "vs"}
    assert (retirement["admin"], retirement["trusted_size"], retirement["contract"]) == (
        admin.address,
        0,
        second["contract"],
    )
    assert (
        "offline-pass" not in signed.stdout + signed.stderr
        and admin.key.hex() not in signed.stdout + signed.stderr
    )
    log = LogAnchor(chain, second["contract"])
    second_id = bytes.fromhex(second["log_id"][2:])
    assert log.log_info(second_id).retired is False  # type: ignore[union-attr]
    stranger = LogAnchor(
        ChainClient(chain.rpc_url, key_from_hex(OTHER_KEY, "stranger")), second["contract"]
    )
    signature = (bytes.fromhex(retirement["r"][2:]), bytes.fromhex(retirement["vs"][2:]))
    assert stranger.retire_log(second_id, 0, signature).status == 1
    assert log.log_info(second_id).retired is True  # type: ignore[union-attr]


def test_off_the_dev_chain_the_admin_key_never_sits_beside_the_log_key(
    tmp_path: Path,
    anvil_binary: Path,  # noqa: F811 - the fixture
) -> None:
    """Review 2 (HIGH): `ledger deploy` without --admin wrote the admin key into the data
    dir next to the log key, so one leak of the folder gave a thief both: it handed the
    admin role to itself and anchored forgeries, and the operator could no longer retire
    the log. On a chain that is not the dev chain (here chain id 1337) deploying without
    --admin is refused before any key is made; `ledger admin-key create --out PATH` makes
    one elsewhere; a thief holding a copy of the data dir then has no admin key to retire
    or hand over anything with; and `up` and `serve` refuse to start while an admin key
    is in the data dir."""
    node = Anvil(
        0, None, tmp_path / "anvil.log", binary=anvil_binary, extra_args=("--chain-id", "1337")
    ).start()
    try:
        gas = {"LEDGER_ANCHOR_KEY": DEV_ANCHOR_KEY}  # no public dev key off the dev chain
        data = tmp_path / "data"
        where = ["--data-dir", str(data), "--rpc-url", node.url]
        chain = ChainClient(node.url)
        sender = Account.from_key(DEV_ANCHOR_KEY).address
        nonce = chain.nonce(sender)

        without = ledger("deploy", *where, env=gas)
        refused(without, "no --admin given: on chain id 1337 (not the dev chain, 31337)")
        assert "`mledger admin-key create --out PATH`" in without.stderr
        assert "Nothing was deployed" in without.stderr
        assert not (data / "admin-key.json").exists() and not (data / "log-key.json").exists()
        assert chain.nonce(sender) == nonce  # nothing sent

        offline = tmp_path / "offline"
        offline.mkdir()
        password = {"LEDGER_ADMIN_KEYSTORE_PASSWORD": "cold-storage-pass"}
        made = ledger("admin-key", "create", "--out", str(offline / "admin.json"), env=password)
        (created,) = ok(made)
        assert set(created) == {"address"} and "cold-storage-pass" not in made.stdout + made.stderr
        refused(
            ledger(
                "admin-key",
                "create",
                "--out",
                str(data / "admin.json"),
                "--data-dir",
                str(data),
                env=password,
            ),
            "is inside the data dir",
        )
        (deployed,) = ok(ledger("deploy", *where, "--admin", created["address"], env=gas))
        assert deployed["admin"] == created["address"] and deployed["chain_id"] == 1337
        assert sorted(p.name for p in data.iterdir() if "admin" in p.name) == []

        # The thief copies the data dir: the log key is there, no admin key is.
        stolen = tmp_path / "stolen"
        shutil.copytree(data, stolen)
        thief = ledger(
            "retire",
            "--trusted-size",
            "0",
            "--yes",
            "--data-dir",
            str(stolen),
            "--rpc-url",
            node.url,
        )
        refused(thief, "no admin key")
        log_id = bytes.fromhex(deployed["log_id"][2:])
        info = LogAnchor(chain, deployed["contract"]).log_info(log_id)
        assert info is not None and (info.admin, info.retired) == (created["address"], False)
        # The operator, with the keystore it keeps offline, signs the retirement there.
        (signed,) = ok(
            ledger(
                "retire",
                "--trusted-size",
                "0",
                "--yes",
                "--sign-only",
                "--data-dir",
                str(data),
                "--admin-keystore",
                str(offline / "admin.json"),
                env=password,
            )
        )
        assert signed["admin"] == created["address"]

        # An admin key left in the data dir (by an older version, or copied there): the
        # service refuses to start on this chain until it is moved offline.
        shutil.copy(offline / "admin.json", data / "admin-key.json")
        for command in (
            ["serve", *where, "--port", "0"],
            ["serve", "--data-dir", str(data), "--port", "0"],
            ["up", *where, "--port", "0"],
        ):
            started = ledger(*command, env=gas)
            refused(started, f"the log's admin key is in the data dir ({data / 'admin-key.json'})")
            assert "move it offline" in started.stderr, command
        (data / "admin-key.json").unlink()
        ok(ledger("ingest", str(records(tmp_path / "r.ndjson", 3)), "--data-dir", str(data)))
        (anchored,) = ok(ledger("anchor", *where, env=gas))  # the log itself works on
        assert (anchored["tree_size"], anchored["log_id"]) == (3, deployed["log_id"])
    finally:
        node.stop()
