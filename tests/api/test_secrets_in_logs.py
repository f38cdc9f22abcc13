"""No secret in any log: a real `ledger serve` on a real Anvil, every log turned up to
the most it can say (uvicorn's access log at trace level, Python's root logger at DEBUG,
so web3, httpx, SQLAlchemy and our own loggers all speak), driven through keys, roles,
errors, limits, anchoring and a chain that goes away; then its stdout and stderr, and
the stderr of every CLI command run beside it, hold none of the API keys, the log key,
the anchor key, the log's admin key or the keystore passwords, in any spelling.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from eth_account import Account

from ledger.chain.anvil import Anvil, free_port
from ledger.formats.note import Signer
from ledger.workload import interaction
from tests.api.conftest import ledger
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture: fails clearly without Anvil

LOUD_SERVE = """
import logging, sys
import uvicorn
logging.basicConfig(
    level=logging.DEBUG, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s"
)
configure = uvicorn.Config.__init__
def loud(self, *args, **kwargs):
    kwargs.update(log_level="trace", access_log=True)
    configure(self, *args, **kwargs)
uvicorn.Config.__init__ = loud
from ledger.cli import main
sys.argv = ["ledger", *sys.argv[1:]]
main()
"""
"""`ledger serve` itself, with every logger at its most verbose."""


def spellings(secret: str) -> set[str]:
    """The ways a secret could show up in text."""
    forms = {secret, secret.lower(), secret.upper(), json.dumps(secret)[1:-1]}
    digits = secret.removeprefix("0x")
    if all(c in "0123456789abcdefABCDEF" for c in digits):
        forms |= {
            digits.lower(),
            digits.upper(),
            "0x" + digits.lower(),
            repr(bytes.fromhex(digits))[2:-1],
        }
    return {form for form in forms if len(form) >= 16}


def test_no_key_or_password_in_any_log(tmp_path: Path, anvil_binary: Path) -> None:  # noqa: F811
    anchor_key = "0x" + secrets.token_hex(32)
    log_key = "0x" + secrets.token_hex(32)
    note_seed = secrets.token_bytes(32)
    note_key = Signer("logs.example/model-ledger", note_seed).private_text()
    password = "pw-" + secrets.token_urlsafe(24)
    admin_key = "admin-" + secrets.token_urlsafe(24)
    stranger_key = "mlk_" + secrets.token_urlsafe(32)  # a key nobody created, presented anyway
    keystore = tmp_path / "anchor-key.json"
    keystore.write_text(
        json.dumps(
            Account.encrypt(bytes.fromhex(anchor_key[2:]), password, kdf="pbkdf2", iterations=1000)
        )
    )
    data = tmp_path / "data"
    env = {
        "LEDGER_LOG_KEY": log_key,
        "LEDGER_NOTE_KEY": note_key,
        "LEDGER_KEYSTORE": str(keystore),
        "LEDGER_KEYSTORE_PASSWORD": password,
        "LEDGER_BOOTSTRAP_ADMIN_KEY": admin_key,
        "LEDGER_RATE_LIMIT": "5",  # low enough to pass on a slow machine too
        "LEDGER_RATE_BURST": "20",
        "LEDGER_MAX_BODY_BYTES": str(1 << 20),
    }
    cli_stderr: list[str] = []

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = ledger(*args, check=check, env=env)
        cli_stderr.append(result.stderr)
        return result

    node = Anvil(
        0, tmp_path / "anvil-state.json", tmp_path / "anvil.log", binary=anvil_binary
    ).start()
    account = Account.from_key(anchor_key).address
    httpx.post(
        node.url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "anvil_setBalance",
            "params": [account, hex(10**20)],
        },
    )
    run(
        "deploy", "--data-dir", str(data), "--rpc-url", node.url
    )  # makes the log's admin key in the data dir
    admin_password = (data / "admin-key.password").read_text()
    log_admin_key = (
        "0x"
        + Account.decrypt(json.loads((data / "admin-key.json").read_text()), admin_password).hex()
    )
    run(
        "retire", "--trusted-size", "0", "--yes", "--sign-only", "--data-dir", str(data)
    )  # signs with it, sends nothing

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    logs = tmp_path / "serve.log"
    with logs.open("w") as sink:
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                LOUD_SERVE,
                "serve",
                "--data-dir",
                str(data),
                "--rpc-url",
                node.url,
                "--port",
                str(port),
                "--seal-interval",
                "0.5",
                "--anchor-interval",
                "1",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, logs.read_text()
                time.sleep(0.1)

            where = ["--data-dir", str(data)]
            created = {
                role: json.loads(run("keys", "create", "--role", role, *where).stdout)
                for role in ("ingest", "auditor", "admin")
            }
            created["licensee"] = json.loads(
                run("keys", "create", "--role", "licensee", "--licensee", "acme", *where).stdout
            )
            api_keys = {role: found["key"] for role, found in created.items()} | {
                "bootstrap": admin_key
            }

            def client(key: str | None, scheme: str = "Bearer") -> httpx.Client:
                return httpx.Client(
                    base_url=url,
                    headers={"Authorization": f"{scheme} {key}"} if key else {},
                    timeout=60,
                )

            with client(api_keys["ingest"]) as ingest:
                leaf = ingest.post("/v1/entries", json=interaction(1, seed=5)).json()["leaf_hash"]
                assert (
                    ingest.post(
                        "/v1/entries/batch",
                        json={"entries": [interaction(i, seed=5) for i in range(2, 9)]},
                    ).status_code
                    == 202
                )
                assert ingest.post("/v1/entries", content=b"{not json").status_code == 400
                assert (
                    ingest.post(
                        "/v1/entries", json={"v": 1, "kind": "digest", "body": {}}
                    ).status_code
                    == 422
                )
                assert ingest.get("/v1/entries").status_code == 403  # wrong role
                assert ingest.post("/v1/entries/batch", content=b" " * (2 << 20)).status_code == 413
            with client(admin_key) as admin:
                assert (
                    admin.post("/v1/admin/anchor").status_code == 200
                )  # signs with the keystore key
                licence = {
                    "action": "grant",
                    "licence_id": "lic-logs",
                    "licensee": "acme",
                    "models": ["m"],
                    "scope": ["inference"],
                    "terms_sha256": "ab" * 32,
                    "valid_from": "2026-01-01T00:00:00.000Z",
                    "valid_until": "2099-01-01T00:00:00.000Z",
                }
                assert admin.post("/v1/licences", json=licence).status_code == 201
            with client(api_keys["auditor"]) as auditor:
                for path in (
                    f"/v1/entries/{leaf}",
                    f"/v1/evidence/{leaf}",
                    "/v1/entries/0xzz",
                    f"/v1/proofs/inclusion/{leaf}",
                ):
                    auditor.get(path)
                statuses = set()
                for _ in range(200):  # until past the rate limit
                    statuses.add(auditor.get("/v1/entries").status_code)
                    if 429 in statuses:
                        break
                assert 429 in statuses  # past the rate limit
            with client(api_keys["licensee"]) as licensee:
                licensee.get("/v1/licences/lic-logs")
                licensee.get(f"/v1/evidence/{leaf}")  # not its entry: 403
            for key, scheme in (
                (stranger_key, "Bearer"),
                (api_keys["admin"], "Basic"),
                (api_keys["admin"], "Token"),
            ):
                with client(key, scheme) as refused:
                    assert refused.get("/v1/entries").status_code == 401
            with client(None) as anonymous:
                assert anonymous.get("/v1/entries").status_code == 401
                anonymous.get("/v1/checkpoints/latest")
                assert anonymous.get("/checkpoint").status_code == 200  # signed by the note key
                anonymous.get("/tile/0/000.p/1")
            run("keys", "revoke", created["ingest"]["id"], *where)
            with client(api_keys["ingest"]) as revoked:
                assert revoked.post("/v1/entries", json=interaction(50, seed=5)).status_code == 401

            node.stop()  # the chain goes away: anchoring and licence issuing fail and say so
            with client(admin_key) as admin:
                admin.post("/v1/entries", json=interaction(60, seed=5))
                assert admin.post("/v1/admin/anchor").status_code >= 400
            time.sleep(3)  # a few rounds of the anchor loop against the dead chain
            run("anchor", *where, "--rpc-url", node.url, "--timeout", "5", check=False)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            finally:
                server.kill()
                node.stop()

    text = logs.read_text(errors="replace") + "\n".join(cli_stderr)
    # The logs did capture what the service said: access lines, debug output, refusals.
    assert '"POST /v1/entries HTTP/1.1" 202' in text and '"GET /v1/entries HTTP/1.1" 429' in text
    assert '"GET /v1/entries HTTP/1.1" 401' in text and " DEBUG " in text
    assert "anchoring" in text  # the dead chain was reported
    found = {
        name: form
        for name, secret in {
            **api_keys,
            "stranger": stranger_key,
            "log key": log_key,
            "note key": note_key,
            "note key (base64)": note_key.split("+", 4)[4],
            "note key seed": "0x" + note_seed.hex(),
            "anchor key": anchor_key,
            "password": password,
            "admin key": log_admin_key,
            "admin key password": admin_password,
        }.items()
        for form in spellings(secret)
        if form in text
    }
    assert not found, f"secrets in the logs: {found}"
