"""Licences end to end, as users meet them: an admin grants, amends and revokes over
HTTP on a real `ledger serve` with a real Anvil; the licensee keeps the record from
`GET /v1/licences/{id}` and checks it with `ledger licence check` against the chain
alone and the log identity the operator published (--log); operators use `ledger licence
grant|revoke`; `ledger up` gives an older data dir its LicenceRegistry."""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from ledger.chain.anvil import Anvil, free_port
from tests.api.conftest import ADMIN_KEY, Server, assert_problem, identity_file, ledger
from tests.chain.conftest import anvil, anvil_binary  # noqa: F401 - fixtures

CONFIRM_TIMEOUT = 60.0

THIEF_SENDER = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"
"""Anvil's default account #5: pays for a transaction the service did not send."""


def ts(seconds: float) -> str:
    """A record timestamp `seconds` after the epoch (milliseconds dropped)."""
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def licence(licence_id: str, licensee: str = "acme", **changes: Any) -> dict[str, Any]:
    """A licence record body (action grant), valid from a year ago for ten years."""
    body = {
        "action": "grant",
        "licence_id": licence_id,
        "licensee": licensee,
        "models": ["frontier-large", "frontier-small"],
        "scope": ["inference", "fine-tune"],
        "terms_sha256": "ab" * 32,
        "valid_from": ts(time.time() - 365 * 86400),
        "valid_until": ts(time.time() + 10 * 365 * 86400),
    }
    return body | changes


def wait_confirmed(client: httpx.Client, licence_id: str, action: str = "grant") -> dict[str, Any]:
    """Poll GET /v1/licences/{id} until its `action` call is confirmed on chain."""
    deadline = time.monotonic() + CONFIRM_TIMEOUT
    while True:
        view = client.get(f"/v1/licences/{licence_id}")
        assert view.status_code == 200, view.text
        found: dict[str, Any] = view.json()
        call = found["on_chain"][action]
        if call is not None and call["status"] == "confirmed":
            return found
        assert time.monotonic() < deadline, (
            f"{action} of {licence_id} not confirmed: {found['on_chain']}"
        )
        time.sleep(0.1)


def check(
    path: Path, rpc_url: str, log: Path, *extra: str
) -> tuple[int, dict[str, Any] | None, str]:
    """`ledger licence check PATH --rpc-url URL --log LOG`: exit code, JSON (if any), stderr."""
    result = ledger(
        "licence", "check", str(path), "--rpc-url", rpc_url, "--log", str(log), *extra, check=False
    )
    return result.returncode, json.loads(result.stdout) if result.stdout else None, result.stderr


def save(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="module")
def node(anvil_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Anvil]:  # noqa: F811
    """One Anvil for the module."""
    folder = tmp_path_factory.mktemp("chain")
    running = Anvil(
        0, folder / "anvil-state.json", folder / "anvil.log", binary=anvil_binary
    ).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def served(node: Anvil, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`ledger deploy` then `ledger serve --rpc-url`: licence calls go out every 0.3 s."""
    data = tmp_path_factory.mktemp("licences") / "data"
    deployed = json.loads(ledger("deploy", "--data-dir", str(data), "--rpc-url", node.url).stdout)
    assert deployed["registry"].startswith("0x") and deployed["registry"] != deployed["contract"]
    running = Server(
        data, "--rpc-url", node.url, "--seal-interval", "0.2", "--anchor-interval", "0.3"
    )
    try:
        yield running
    finally:
        assert running.stop() == 0


@pytest.fixture(scope="module")
def log(served: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The served log's identity (GET /v1/log), as its licensees pin it: the very document
    `ledger identity` prints."""
    path = identity_file(served, tmp_path_factory.mktemp("identity") / "log.json")
    printed = ledger("identity", "--data-dir", str(served.data_dir)).stdout
    assert json.loads(path.read_bytes()) == json.loads(printed)
    return path


@pytest.fixture(scope="module")
def keys(served: Server) -> dict[str, str]:
    return {
        "admin": ADMIN_KEY,
        "ingest": served.key("ingest"),
        "auditor": served.key("auditor"),
        "licensee": served.key("licensee", "acme"),
        "other": served.key("licensee", "globex"),
    }


@pytest.fixture
def admin(served: Server) -> Iterator[httpx.Client]:
    with served.client(ADMIN_KEY) as client:
        yield client


def grant(admin: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = admin.post("/v1/licences", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# -- the lifecycle, checked from the chain --------------------------------------------------------


def test_granted_licence_is_active_for_the_licensee_and_on_chain(
    served: Server,
    keys: dict[str, str],
    admin: httpx.Client,
    node: Anvil,
    log: Path,
    tmp_path: Path,
) -> None:
    created = grant(admin, licence("lic-active"))
    assert created["status"] == "active" and created["on_chain"]["grant"]["status"] in (
        "pending",
        "submitted",
        "confirmed",
    )
    assert (
        created["record"]["body"]["licence_id"] == "lic-active"
        and created["commitment"] == created["leaf_hash"]
    )
    assert (
        created["receipt"]["leaf_hash"] == created["leaf_hash"]
        and created["registry"]["chain_id"] == 31337
    )
    with served.client(keys["licensee"]) as licensee:
        wait_confirmed(licensee, "lic-active")
        deadline = time.monotonic() + CONFIRM_TIMEOUT
        while (view := licensee.get("/v1/licences/lic-active").json())["evidence"] is None:
            assert time.monotonic() < deadline, "the licence record was never anchored"
            time.sleep(0.1)
    assert view["record"] == created["record"] and view["status"] == "active"
    assert view["evidence"]["entries"][0]["leaf_hash"] == created["commitment"]

    # The licensee keeps the whole response, and checks it with the chain alone.
    kept = save(tmp_path / "LICENCE.json", view)
    code, result, sentence = check(kept, node.url, log)
    assert code == 0, sentence
    assert result is not None and result["active"] is True and result["status"] == "active"
    assert (
        result["commitment"] == created["commitment"]
        and result["contract"] == view["registry"]["contract"]
    )
    assert result["on_chain"]["granted_block"] == view["on_chain"]["grant"]["block_number"]
    assert sentence.startswith("ACTIVE: licence 'lic-active' of 'acme' is active until")
    assert (
        result["log"] == json.loads(log.read_text())
        and result["contract"] == result["log"]["licence_registry"]
    )

    # The evidence bundle proves the grant is in the anchored log.
    bundle = save(tmp_path / "bundle.json", view["evidence"])
    verified = ledger("verify", str(bundle), "--log", str(log), "--rpc-url", node.url, check=False)
    assert verified.returncode == 0 and "VALID" in verified.stdout, verified.stderr

    # Only the record: the registry comes from the pinned log identity.
    bare = save(tmp_path / "record.json", view["record"])
    assert check(bare, node.url, log)[0] == 0
    unpinned = ledger("licence", "check", str(bare), "--rpc-url", node.url, check=False)
    assert unpinned.returncode == 2 and "no log identity pinned: pass --log FILE" in unpinned.stderr
    # A changed record is another commitment, which the registry does not know.
    forged = json.loads(json.dumps(view))
    forged["record"]["body"]["valid_until"] = ts(time.time() + 20 * 365 * 86400)
    code, result, stderr = check(save(tmp_path / "forged.json", forged), node.url, log)
    assert (
        code == 1
        and result is not None
        and result["status"] == "unknown"
        and stderr.startswith("UNKNOWN:")
    )
    # A document naming another chain is not the pinned log's; a node of another chain
    # is refused; none reachable: nothing is decided.
    wrong = json.loads(json.dumps(view))
    wrong["registry"]["chain_id"] = 1
    code, result, stderr = check(save(tmp_path / "wrong.json", wrong), node.url, log)
    assert (
        code == 1
        and result is None
        and stderr.startswith("error: INVALID: chain_id: the licence is not the pinned log's")
    )
    assert "the document names 1, the pinned log has 31337" in stderr
    other_chain = save(tmp_path / "other-chain.json", json.loads(log.read_text()) | {"chain_id": 1})
    code, result, stderr = check(
        bare, node.url, other_chain
    )  # the bare record names no chain: the node is asked
    assert (
        code == 1
        and result is None
        and "serves chain id 31337; the pinned log is on chain id 1" in stderr
    )
    code, _result, stderr = check(kept, f"http://127.0.0.1:{free_port()}", log)
    assert code == 3 and "unreachable" in stderr


def test_revocation_is_seen_by_the_licensee_check(
    served: Server,
    keys: dict[str, str],
    admin: httpx.Client,
    node: Anvil,
    log: Path,
    tmp_path: Path,
) -> None:
    grant(admin, licence("lic-revoked"))
    kept = save(tmp_path / "LICENCE.json", wait_confirmed(admin, "lic-revoked"))
    assert check(kept, node.url, log)[0] == 0

    response = admin.post("/v1/licences/lic-revoked/revoke", json={"reason": "terms breached"})
    assert response.status_code == 201, response.text
    revoked = response.json()
    assert revoked["status"] == "revoked" and revoked["revoked"]["reason"] == "terms breached"
    assert revoked["revoked"]["leaf_hash"] == revoked["leaf_hash"] != revoked["commitment"]
    with served.client(keys["auditor"]) as auditor:
        entry = auditor.get(f"/v1/entries/{revoked['leaf_hash']}").json()
        assert entry["record"]["body"] == {
            "action": "revoke",
            "licence_id": "lic-revoked",
            "licensee": "acme",
            "reason": "terms breached",
        }
        view = wait_confirmed(auditor, "lic-revoked", "revoke")
    assert view["status"] == "revoked"

    code, result, sentence = check(kept, node.url, log)
    assert (
        code == 1
        and result is not None
        and result["status"] == "revoked"
        and result["active"] is False
    )
    assert result["on_chain"]["revoked_block"] == view["on_chain"]["revoke"]["block_number"]
    assert sentence.startswith("REVOKED: licence 'lic-revoked'")
    # The chain names the revoke record (the log key signed it): its reason is provable.
    assert result["on_chain"]["revocation"] == revoked["leaf_hash"]
    assert result["revocation_record"] is None  # the kept grant file carries no revocation

    # GET /v1/licences/{id} carries the revoke record's bundle once it is anchored: checked
    # with the licence, it proves the reason is the revocation the registry holds.
    with served.client(keys["licensee"]) as licensee:
        deadline = time.monotonic() + CONFIRM_TIMEOUT
        while (answer := licensee.get("/v1/licences/lic-revoked").json())["revoked"][
            "evidence"
        ] is None:
            assert time.monotonic() < deadline, "the revoke record was never anchored"
            time.sleep(0.1)
    proof = answer["revoked"]["evidence"]
    assert proof["entries"][0]["leaf_hash"] == revoked["leaf_hash"]
    code, result, sentence = check(save(tmp_path / "REVOKED.json", answer), node.url, log)
    assert code == 1 and result is not None and result["status"] == "revoked", sentence
    assert result["revocation_record"]["leaf_hash"] == revoked["leaf_hash"]
    assert result["revocation_record"]["reason"] == "terms breached"
    assert sentence.startswith(
        f"REVOKED: licence 'lic-revoked' of 'acme' was revoked at {entry['record']['ts']}"
        f" (block {result['on_chain']['revoked_block']}), reason 'terms breached' (revocation"
        f" record leaf {revoked['leaf_hash']}, matches the registry); at block "
    ), sentence
    # a reason edited in the carried record, or another record's bundle, fails "revocation"
    edited = json.loads(json.dumps(answer))
    edited["revoked"]["evidence"]["entries"][0]["record"]["body"]["reason"] = "none at all"
    code, result, sentence = check(save(tmp_path / "EDITED.json", edited), node.url, log)
    assert (code, result) == (1, None), sentence
    assert "INVALID: revocation: the revocation evidence (revoked.evidence) fails its leaf" in (
        sentence
    )
    swapped = answer | {"revoked": answer["revoked"] | {"evidence": answer["evidence"]}}
    code, result, sentence = check(save(tmp_path / "SWAPPED.json", swapped), node.url, log)
    assert (code, result) == (1, None) and "which is not a revoke record of licence" in sentence

    assert_problem(admin.post("/v1/licences/lic-revoked/revoke"), 409, "revoked already")
    assert_problem(
        admin.post("/v1/licences", json=licence("lic-revoked", action="amend")),
        409,
        "cannot be amended",
    )


def test_licence_watch_reports_each_change_and_exits_when_revoked(
    admin: httpx.Client, node: Anvil, log: Path, tmp_path: Path
) -> None:
    grant(admin, licence("lic-watched"))
    kept = save(tmp_path / "LICENCE.json", wait_confirmed(admin, "lic-watched"))
    watcher = subprocess.Popen(
        [sys.executable, "-m", "ledger", "licence", "watch", str(kept)]
        + ["--rpc-url", node.url, "--log", str(log), "--interval", "0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        first = json.loads(watcher.stdout.readline())
        assert first["status"] == "active" and first["active"] is True
        response = admin.post("/v1/licences/lic-watched/revoke", json={"reason": "unpaid"})
        assert response.status_code == 201, response.text
        revoked = json.loads(watcher.stdout.readline())
        assert revoked["status"] == "revoked" and revoked["active"] is False
        assert revoked["on_chain"]["revocation"] == response.json()["leaf_hash"]
        assert watcher.wait(timeout=60) == 1  # for scripts: the licence is gone for good
        assert "REVOKED: licence 'lic-watched'" in (watcher.stderr.read() if watcher.stderr else "")
    finally:
        watcher.kill()
        watcher.wait()


def test_licensees_list_their_own_licences_and_auditors_all(
    served: Server, keys: dict[str, str], admin: httpx.Client
) -> None:
    for n in range(3):
        grant(admin, licence(f"lic-list-{n}"))
    grant(admin, licence("lic-list-globex", licensee="globex"))

    def listed(key: str, **params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        with served.client(key) as client:
            cursor = None
            while True:
                page = client.get(
                    "/v1/licences", params={**params, **({"cursor": cursor} if cursor else {})}
                )
                assert page.status_code == 200, page.text
                found += page.json()["licences"]
                cursor = page.json()["next_cursor"]
                if cursor is None:
                    return found

    acme = listed(keys["licensee"], limit=2)  # paged, two at a time
    assert {"lic-list-0", "lic-list-1", "lic-list-2"} <= {l["licence_id"] for l in acme}
    assert {l["licensee"] for l in acme} == {"acme"}
    ids = [l["licence_id"] for l in acme]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert set(acme[0]) == {
        "licence_id",
        "licensee",
        "status",
        "valid_from",
        "valid_until",
        "commitment",
    }
    # A licensee asking for another licensee's list sees nothing of it.
    assert listed(keys["licensee"], licensee="globex") == []
    assert {l["licence_id"] for l in listed(keys["other"])} >= {"lic-list-globex"}
    assert "lic-list-0" not in {l["licence_id"] for l in listed(keys["other"])}
    everyone = listed(keys["auditor"])
    assert {"lic-list-0", "lic-list-globex"} <= {l["licence_id"] for l in everyone}
    assert {l["licence_id"] for l in listed(keys["auditor"], licensee="globex")} >= {
        "lic-list-globex"
    }
    with served.client(keys["ingest"]) as client:
        assert_problem(client.get("/v1/licences"), 403, "auditor or licensee")
    with served.client(keys["auditor"]) as client:
        assert client.get("/v1/licences", params={"limit": 0}).status_code == 422


def test_an_amendment_supersedes_the_previous_grant(
    admin: httpx.Client, node: Anvil, log: Path, tmp_path: Path
) -> None:
    first = grant(admin, licence("lic-amended"))
    old = save(tmp_path / "old.json", wait_confirmed(admin, "lic-amended"))
    later = ts(time.time() + 20 * 365 * 86400)
    amended = grant(
        admin, licence("lic-amended", action="amend", valid_until=later, scope=["inference"])
    )
    assert amended["commitment"] == amended["leaf_hash"] != first["commitment"]
    assert amended["record"]["body"]["action"] == "amend" and amended["valid_until"] == later
    assert [(h["action"], h["commitment"], h["record_hash"]) for h in amended["history"]] == [
        ("grant", first["commitment"], first["commitment"]),
        ("grant", amended["commitment"], amended["commitment"]),
        ("revoke", first["commitment"], amended["commitment"]),
    ]
    view = wait_confirmed(admin, "lic-amended")
    deadline = time.monotonic() + CONFIRM_TIMEOUT
    while any(h["status"] != "confirmed" for h in view["history"]):
        assert time.monotonic() < deadline, view["history"]
        time.sleep(0.1)
        view = admin.get("/v1/licences/lic-amended").json()
    assert view["status"] == "active" and view["revoked"] is None

    code, result, _sentence = check(save(tmp_path / "new.json", view), node.url, log)
    assert code == 0 and result is not None and result["valid_until"] == later
    code, result, sentence = check(old, node.url, log)
    assert (
        code == 1
        and result is not None
        and result["status"] == "revoked"
        and "superseded" in sentence
    )

    assert_problem(
        admin.post("/v1/licences", json=licence("lic-amended", "globex", action="amend")),
        409,
        "belongs to licensee 'acme'",
    )


def test_a_licence_expires_by_time(
    admin: httpx.Client, node: Anvil, log: Path, tmp_path: Path
) -> None:
    until = time.time() + 2
    created = grant(admin, licence("lic-expiring", valid_until=ts(until)))
    assert created["status"] == "active"
    kept = save(tmp_path / "LICENCE.json", wait_confirmed(admin, "lic-expiring"))
    time.sleep(max(0.0, int(until) + 1.1 - time.time()))
    assert admin.get("/v1/licences/lic-expiring").json()["status"] == "expired"
    httpx.post(
        node.url, json={"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []}
    )  # the chain's clock moves with its blocks
    code, result, sentence = check(kept, node.url, log)
    assert (
        code == 1
        and result is not None
        and result["status"] == "expired"
        and sentence.startswith("EXPIRED:")
    )


def test_a_licence_is_not_valid_before_it_starts(
    admin: httpx.Client, node: Anvil, log: Path, tmp_path: Path
) -> None:
    starts = ts(time.time() + 86400)
    created = grant(admin, licence("lic-future", valid_from=starts))
    assert created["status"] == "not_yet_valid" and created["valid_from"] == starts
    kept = save(tmp_path / "LICENCE.json", wait_confirmed(admin, "lic-future"))
    code, result, sentence = check(kept, node.url, log)
    assert code == 1 and result is not None and result["status"] == "not_yet_valid"
    assert sentence.startswith(
        f"NOT YET VALID: licence 'lic-future' of 'acme' becomes active at {starts}"
    )


# -- who may see and do what ----------------------------------------------------------------------


def test_every_licence_endpoint_is_scoped(
    served: Server, keys: dict[str, str], admin: httpx.Client
) -> None:
    grant(admin, licence("lic-acme"))
    grant(admin, licence("lic-globex", "globex"))
    clients = {name: served.client(key) for name, key in keys.items()} | {"none": served.client()}
    try:
        # GET: licensees see their own only; others' look exactly like unknown ids.
        assert clients["licensee"].get("/v1/licences/lic-acme").json()["licensee"] == "acme"
        assert clients["other"].get("/v1/licences/lic-globex").json()["licensee"] == "globex"
        hidden = assert_problem(
            clients["licensee"].get("/v1/licences/lic-globex"),
            404,
            "no licence has id 'lic-globex'",
        )
        unknown = assert_problem(
            clients["licensee"].get("/v1/licences/lic-nope"), 404, "no licence has id 'lic-nope'"
        )
        assert hidden["detail"].replace("lic-globex", "X") == unknown["detail"].replace(
            "lic-nope", "X"
        )
        assert_problem(clients["other"].get("/v1/licences/lic-acme"), 404, "no licence has id")
        for reader in ("auditor", "admin"):
            for licence_id in ("lic-acme", "lic-globex"):
                assert clients[reader].get(f"/v1/licences/{licence_id}").status_code == 200
        assert_problem(clients["none"].get("/v1/licences/lic-acme"), 401, "needs an API key")
        assert_problem(
            clients["ingest"].get("/v1/licences/lic-acme"), 403, "this ingest key may not GET"
        )

        # POST grant and revoke: admin only.
        for name in ("none", "ingest", "auditor", "licensee"):
            status = 401 if name == "none" else 403
            assert_problem(clients[name].post("/v1/licences", json=licence("lic-denied")), status)
            assert_problem(clients[name].post("/v1/licences/lic-acme/revoke"), status)
        assert_problem(clients["auditor"].get("/v1/licences/lic-denied"), 404)
        assert clients["auditor"].get("/v1/licences/lic-acme").json()["status"] == "active"
        assert clients["admin"].post("/v1/licences/lic-acme/revoke").status_code == 201
        assert clients["licensee"].get("/v1/licences/lic-acme").json()["status"] == "revoked"
    finally:
        for client in clients.values():
            client.close()


@pytest.mark.parametrize(
    ("content", "status", "needle", "field"),
    [
        (b"{not json", 400, "not valid JSON", None),
        (licence("lic-bad", valid_until=None), 422, "valid_until is required", "body"),
        (licence("lic-bad", extra=1), 422, "unknown field", "body.extra"),
        (licence("lic-bad", models=[1.5]), 422, "valid string", "body.models.0"),
        (licence("lic-bad", terms_sha256="zz"), 422, "not a SHA-256 digest", "body.terms_sha256"),
        (
            licence(
                "lic-bad",
                valid_from="2026-01-01T00:00:00.000Z",
                valid_until="2026-01-01T00:00:00.900Z",
            ),
            422,
            "one whole second",
            "body.valid_until",
        ),
        (
            licence("lic-bad", valid_from="1969-12-31T23:59:59.000Z"),
            422,
            "must not be before 1970-01-01T00:00:00Z",
            "body.valid_from",
        ),
        (licence("lic-bad", action="revoke"), 422, "revoke the licence instead", "body.action"),
        (
            {"v": 1, "kind": "digest", "body": {"sha256": "ab" * 32}},
            422,
            "must be 'licence'",
            "kind",
        ),
        ({"v": 2, "kind": "licence", "body": licence("lic-bad")}, 422, "", "v"),
        (licence("lic-bad", action="amend"), 404, "grant it first", None),
        ([licence("lic-bad")], 422, "must be a JSON object", None),
        (licence("lic-bad", scope="inference"), 422, "valid list", "body.scope"),
        (
            licence("lic-bad", valid_from="2026-01-01T02:00:00+02:00"),
            422,
            (
                "is not UTC (offset +02:00): record times are UTC; the same instant is"
                " 2026-01-01T00:00:00.000Z"
            ),
            "body.valid_from",
        ),
        (
            licence("lic-bad", valid_until="2030-01-01T00:00:00.0001Z"),
            422,
            "finer than a millisecond",
            "body.valid_until",
        ),
        (licence("lic-bad", valid_until="2030-01-01"), 422, "RFC 3339", "body.valid_until"),
    ],
    ids=[
        "not-json",
        "missing-field",
        "unknown-field",
        "float",
        "bad-digest",
        "window-under-a-second",
        "before-1970",
        "revoke-action",
        "other-kind",
        "other-version",
        "amend-unknown",
        "a-list",
        "scope-not-a-list",
        "time-not-utc",
        "time-finer-than-a-millisecond",
        "date-alone",
    ],
)
def test_bad_requests_are_refused_and_store_nothing(
    served: Server,
    keys: dict[str, str],
    admin: httpx.Client,
    content: Any,
    status: int,
    needle: str,
    field: str | None,
) -> None:
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    problem = assert_problem(
        admin.post("/v1/licences", content=raw, headers={"content-type": "application/json"}),
        status,
        needle,
    )
    if field is not None:
        assert problem["field"] == field
    with served.client(keys["auditor"]) as auditor:
        assert auditor.get("/v1/entries", params={"external_id": "lic-bad"}).json()["entries"] == []
        assert_problem(auditor.get("/v1/licences/lic-bad"), 404)


def test_any_rfc3339_utc_time_is_granted_in_the_stored_form(
    served: Server, admin: httpx.Client, node: Anvil, log: Path, tmp_path: Path
) -> None:
    """The journey that took four tries: a body with `...T00:00:00Z` and `+00:00` times,
    scope and models as lists, is granted; the record, the view and the chain all hold the
    one stored form, and the licensee's check of the kept record passes."""
    year = datetime.now(UTC).year
    body = licence(
        "lic-rfc3339",
        models=["frontier-large"],
        scope=["inference"],
        valid_from=f"{year - 1}-01-01T00:00:00Z",
        valid_until=f"{year + 2}-01-01T00:00:00+00:00",
    )
    created = grant(
        admin, {"v": 1, "kind": "licence", "ts": f"{year}-01-02T03:04:05Z", "body": body}
    )
    stored = created["record"]
    assert stored["ts"] == f"{year}-01-02T03:04:05.000Z"
    assert (
        stored["body"]["valid_from"] == created["valid_from"] == f"{year - 1}-01-01T00:00:00.000Z"
    )
    assert stored["body"]["valid_until"] == f"{year + 2}-01-01T00:00:00.000Z"
    assert stored["body"]["scope"] == ["inference"] and stored["body"]["models"] == [
        "frontier-large"
    ]
    assert created["status"] == "active"
    # Normalised before hashing: the same record with its times spelled otherwise is the
    # same leaf (the log answers with the stored entry's receipt and stores nothing new).
    respelled = {
        "v": 1,
        "kind": "licence",
        "salt": stored["salt"],
        "ts": f"{year}-01-02T03:04:05.000000+00:00",
        "body": stored["body"]
        | {
            "valid_from": f"{year - 1}-01-01t00:00:00.0z",
            "valid_until": f"{year + 2}-01-01T00:00:00-00:00",
        },
    }
    same = admin.post("/v1/entries", json=respelled)
    assert same.status_code == 202, same.text
    assert same.json()["leaf_hash"] == created["leaf_hash"] == created["commitment"]
    kept = save(tmp_path / "LICENCE.json", wait_confirmed(admin, "lic-rfc3339"))
    code, result, sentence = check(kept, node.url, log)  # the chain holds the same window
    assert code == 0 and result is not None and result["active"] is True, sentence


def test_openapi_documents_the_licence_body_and_every_record_kind(served: Server) -> None:
    with served.client() as public:
        spec = public.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = schemas[node["$ref"].rsplit("/", 1)[1]]
        return node

    def body_schema(path: str) -> dict[str, Any]:
        return resolve(
            spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        )

    licence_body = body_schema("/v1/licences")
    assert licence_body != {"type": "object"}
    grant_body, grant_record = (resolve(option) for option in licence_body["oneOf"])
    assert grant_body["properties"]["action"]["enum"] == ["grant", "amend"]
    assert {"models", "scope", "terms_sha256", "valid_from", "valid_until"} <= set(
        grant_body["required"]
    )
    assert grant_body["properties"]["scope"]["type"] == "array"
    assert grant_body["properties"]["models"]["type"] == "array"
    assert grant_body["properties"]["valid_from"]["format"] == "date-time"
    assert "Z or +00:00" in grant_body["properties"]["valid_from"]["description"]
    assert grant_body["examples"] and all(
        p.get("description") for p in grant_body["properties"].values()
    )
    assert resolve(grant_record["properties"]["body"]) == grant_body
    assert "DESIGN.md" not in json.dumps(spec)

    # POST /v1/entries: one of the four kinds, told apart by kind, each with its own body.
    record = body_schema("/v1/entries")
    assert record["discriminator"]["propertyName"] == "kind"
    kinds = {
        kind: resolve({"$ref": ref}) for kind, ref in record["discriminator"]["mapping"].items()
    }
    assert set(kinds) == {"interaction", "licence", "model", "digest"}
    for kind, envelope in kinds.items():
        assert envelope["properties"]["kind"]["const"] == kind
        body_fields = resolve(envelope["properties"]["body"])
        assert body_fields["title"] == f"{kind.capitalize()}Body" and body_fields["properties"]
        assert envelope["examples"][0]["kind"] == kind
    assert resolve(body_schema("/v1/entries/batch")["properties"]["entries"]["items"]) == record
    assert body_schema("/v1/models")["title"] == "ModelBody"
    revoke = spec["paths"]["/v1/licences/{licence_id}/revoke"]["post"]["requestBody"]
    assert (
        revoke["required"] is False
        and "reason" in resolve(revoke["content"]["application/json"]["schema"])["properties"]
    )


def test_conflicting_requests_are_refused_and_store_nothing(
    served: Server, keys: dict[str, str], admin: httpx.Client
) -> None:
    grant(admin, licence("lic-twice"))
    assert_problem(
        admin.post("/v1/licences", json=licence("lic-twice")),
        409,
        "exists already: send action 'amend'",
    )
    assert_problem(admin.post("/v1/licences/lic-nope/revoke"), 404, "no licence has id 'lic-nope'")
    assert_problem(admin.post("/v1/licences/lic-twice/revoke", json={"why": "x"}), 422, "why")
    with served.client(keys["auditor"]) as auditor:
        assert (
            len(auditor.get("/v1/entries", params={"external_id": "lic-twice"}).json()["entries"])
            == 1
        )
        assert auditor.get("/v1/licences/lic-twice").json()["status"] == "active"


# -- one bad registry call never stops the issuer ------------------------------------------------


def test_a_failed_grant_is_reported_never_active_and_degrades_health(
    served: Server, admin: httpx.Client, node: Anvil
) -> None:
    """A grant the registry refuses for good: here a thief holding the log key (leaked:
    only the log key grants) grants the commitment of a record about to be posted, with a
    window of its own. GET /v1/licences/{id} must not say "active": it says
    "grant_failed" with the reason, and /healthz is "degraded" (200: the service still
    serves) until an amendment replaces the commitment and is confirmed."""
    from eth_account import Account

    from ledger.chain.client import ChainClient
    from ledger.chain.keys import AnchorKey
    from ledger.chain.licence_registry import GrantCall, LicenceRegistry, SignedGrant
    from ledger.core.records import parse_object
    from ledger.formats.eip712 import Domain
    from ledger.service.signer import LogSigner, compact_signature, load_log_key

    def health() -> dict[str, Any]:
        with served.client() as public:
            answer = public.get("/healthz")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    before = health()["licences"]["failing"]
    record = {
        "v": 1,
        "kind": "licence",
        "ts": ts(time.time()),
        "salt": os.urandom(16).hex(),
        "body": licence("lic-front-run"),
    }
    commitment = parse_object(record).leaf_hash
    identity = admin.get("/v1/log").json()
    registry_address = bytes.fromhex(identity["licence_registry"][2:])
    domain = Domain(
        bytes.fromhex(identity["log_id"][2:]),
        identity["chain_id"],
        bytes.fromhex(identity["log_anchor"][2:]),
    )
    thief = LogSigner(load_log_key(served.data_dir), domain, 3600)
    # Sent from a funded account of its own (Anvil's #5): the service's issuer sends with
    # the dev key, and two senders of one key race for the same nonce.
    sender = AnchorKey(Account.from_key(THIEF_SENDER), "thief")
    registry = LicenceRegistry(ChainClient(node.url, sender), registry_address)
    registry.grant(
        [
            SignedGrant(
                GrantCall(commitment, 0, 1),
                compact_signature(thief.sign_grant(registry_address, commitment, 0, 1)),
            )
        ]
    )
    created = grant(admin, record)
    assert created["commitment"] == "0x" + commitment.hex()
    deadline = time.monotonic() + CONFIRM_TIMEOUT
    while (view := admin.get("/v1/licences/lic-front-run").json())["on_chain"]["grant"][
        "status"
    ] != "failed":
        assert view["status"] != "active" or view["on_chain"]["grant"]["status"] != "confirmed"
        assert time.monotonic() < deadline, view
        time.sleep(0.1)
    assert view["status"] == "grant_failed"
    assert view["status_reason"] == view["on_chain"]["grant"]["last_error"]
    assert "is granted on chain for 0..1, not for the record's" in view["status_reason"]
    with served.client(keys_of(served)) as licensee:  # the licensee sees the same
        assert licensee.get("/v1/licences/lic-front-run").json()["status"] == "grant_failed"
    degraded = health()
    assert degraded["status"] == "degraded" and degraded["licences"]["failing"] == before + 1
    with served.client() as public:
        metrics = public.get("/metrics").text.splitlines()
    assert any(line.startswith("ledger_licence_calls_failing ") for line in metrics)

    # An amendment is a new record, a new commitment: granted, active, and health recovers
    # (the revoke of the commitment never granted fails too, and matters no more).
    response = admin.post("/v1/licences", json=licence("lic-front-run", action="amend"))
    assert response.status_code == 201, response.text
    amended = wait_confirmed(admin, "lic-front-run")
    assert amended["status"] == "active" and amended["status_reason"] is None
    recovered = health()
    assert recovered["licences"]["failing"] == before
    assert recovered["status"] == ("ok" if before == 0 else "degraded")


def keys_of(served: Server) -> str:
    """A licensee key for acme, the licensee of the licences here."""
    return served.key("licensee", "acme")


def poison(data_dir: Path, licence_id: str, action: str, commitment: bytes, **values: Any) -> None:
    """A registry call written straight into the served database, as no check of ours
    would let through (a row from before the window check, or written by hand)."""
    row = {
        "licence_id": licence_id,
        "licensee": "mallory",
        "kind": action,
        "commitment": commitment,
        "record_hash": os.urandom(32),
        "status": "pending",
        "attempts": 0,
        "created_at": ts(time.time()),
        "updated_at": ts(time.time()),
    } | values
    with sqlite3.connect(data_dir / "ledger.db") as db:
        db.execute(
            f"INSERT INTO chain_calls ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )


def test_a_poisoned_queue_does_not_stop_a_later_revocation(
    served: Server, admin: httpx.Client, node: Anvil
) -> None:
    """The review's reproduction, already queued: a grant valid from 1969 (which killed the
    issuer thread before), a revoke the registry refuses (no revoking record) and a grant
    with no window at all. Each fails alone, with its reason, shown by /healthz and
    /metrics; a licence granted and revoked after them reaches the chain."""
    victim = grant(admin, licence("lic-victim"))
    wait_confirmed(admin, "lic-victim")
    poison(served.data_dir, "lic-1969", "grant", os.urandom(32), valid_from=-1, valid_until=86400)
    poison(
        served.data_dir,
        "lic-victim",
        "revoke",
        bytes.fromhex(victim["commitment"][2:]),
        record_hash=bytes(32),
    )
    poison(served.data_dir, "lic-nowindow", "grant", os.urandom(32))
    grant(admin, licence("lic-after"))
    wait_confirmed(admin, "lic-after")
    response = admin.post("/v1/licences/lic-after/revoke", json={"reason": "after the poison"})
    assert response.status_code == 201, response.text
    revoked = wait_confirmed(admin, "lic-after", "revoke")
    assert (
        revoked["status"] == "revoked" and revoked["on_chain"]["revoke"]["block_number"] is not None
    )

    with served.client() as public:
        health = public.get("/healthz").json()
        metrics = public.get("/metrics").text.splitlines()
    assert health["licences"]["failed"] >= 3 and health["licences"]["pending"] == 0, health
    # Each still matters (none was replaced by an amendment; the victim's grant is on chain).
    assert health["licences"]["failing"] >= 3 and health["status"] == "degraded", health
    assert health["licences"]["last_error"], health
    assert f'ledger_licence_calls{{status="failed"}} {health["licences"]["failed"]}' in metrics
    assert "ledger_licence_issuer_error 1" in metrics
    with sqlite3.connect(
        served.data_dir / "ledger.db"
    ) as db:  # the poisoned licences have no record to show
        calls = {
            (licence_id, action): (status, error)
            for licence_id, action, status, error in db.execute(
                "SELECT licence_id, action, status, last_error FROM"
                " licence_commitments WHERE licensee = 'mallory'"
            )
        }
    assert {key: status for key, (status, _error) in calls.items()} == {
        ("lic-1969", "grant"): "failed",
        ("lic-victim", "revoke"): "failed",
        ("lic-nowindow", "grant"): "failed",
    }
    assert "valid_from must not be before 1970-01-01T00:00:00Z" in calls["lic-1969", "grant"][1]
    assert "LicenceRegistryNoRevocationRecord" in calls["lic-victim", "revoke"][1]
    assert (
        calls["lic-nowindow", "grant"][1]
        == "cannot be granted: a grant call has no validity window"
    )
    assert served.process.poll() is None


# -- operators: batching and the CLI --------------------------------------------------------------


def test_queued_grants_go_out_in_one_grant_many_from_the_cli(tmp_path: Path, anvil: Anvil) -> None:  # noqa: F811
    data = tmp_path / "data"
    where = ["--data-dir", str(data)]
    rpc = ["--rpc-url", anvil.url]
    ledger("deploy", *where, *rpc)
    offline = Server(data, "--seal-interval", "3600")  # no --rpc-url: grants queue up
    try:
        with offline.client(ADMIN_KEY) as admin:
            queued = [grant(admin, licence(f"lic-batch-{i}")) for i in range(3)]
            assert all(q["on_chain"]["grant"]["status"] == "pending" for q in queued)
            out = ledger(
                "licence",
                "grant",
                "--licence-id",
                "lic-cli",
                "--licensee",
                "acme",
                "--model",
                "frontier-large",
                "--scope",
                "inference",
                "--terms-sha256",
                "cd" * 32,
                "--valid-from",
                ts(time.time() - 60),
                "--valid-until",
                ts(time.time() + 86400),
                *where,
                *rpc,
            )
            granted = json.loads(out.stdout)
            assert (
                granted["status"] == "active"
                and granted["on_chain"]["grant"]["status"] == "confirmed"
            )
            tx_hash = granted["on_chain"]["grant"]["tx_hash"]
            for q in queued:
                view = admin.get(f"/v1/licences/{q['licence_id']}").json()
                assert (
                    view["on_chain"]["grant"] == granted["on_chain"]["grant"]
                )  # the same grantMany
            receipt = httpx.post(
                anvil.url,
                json={
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "eth_getTransactionReceipt",
                    "params": [tx_hash],
                },
            ).json()["result"]
            assert len(receipt["logs"]) == 4  # one Granted event per commitment

            kept = save(tmp_path / "LICENCE.json", granted)
            identity = tmp_path / "log.json"
            ledger("identity", *where, "--out", str(identity))
            assert check(kept, anvil.url, identity)[0] == 0
            revoked = json.loads(
                ledger("licence", "revoke", "lic-cli", "--reason", "ended", *where, *rpc).stdout
            )
            assert (
                revoked["status"] == "revoked"
                and revoked["on_chain"]["revoke"]["status"] == "confirmed"
            )
            assert admin.get("/v1/licences/lic-cli").json()["revoked"]["reason"] == "ended"
            assert check(kept, anvil.url, identity)[1]["status"] == "revoked"  # type: ignore[index]

        refused = ledger("licence", "revoke", "lic-cli", *where, *rpc, check=False)
        assert (
            refused.returncode == 1 and "revoked already" in refused.stderr and refused.stdout == ""
        )
        # A chain out of reach leaves the call queued: reported as queued, exit 0.
        body = save(tmp_path / "queued.json", licence("lic-queued"))
        down = ["--rpc-url", f"http://127.0.0.1:{free_port()}", "--timeout", "3"]
        queued_grant = ledger("licence", "grant", str(body), *where, *down, check=False)
        assert queued_grant.returncode == 0, queued_grant.stderr
        assert json.loads(queued_grant.stdout)["queued"] is True
        assert queued_grant.stderr.startswith("queued: record 0x")
        bad = ledger("licence", "grant", "--licence-id", "x", *where, *rpc, check=False)
        assert bad.returncode == 2 and "missing --licensee" in bad.stderr
        body = save(tmp_path / "body.json", licence("lic-file", valid_until="nope"))
        invalid = ledger("licence", "grant", str(body), *where, *rpc, check=False)
        assert invalid.returncode == 1 and "body.valid_until: not a UTC time" in invalid.stderr
        assert "nothing was stored" in invalid.stderr
    finally:
        assert offline.stop() == 0


def _read(stream: IO[str], sink: Any) -> None:
    for line in stream:
        sink(line)


def test_up_gives_an_older_data_dir_its_registry(tmp_path: Path, anvil_binary: Path) -> None:  # noqa: F811
    data = tmp_path / "data"

    def up() -> tuple[subprocess.Popen[str], queue.Queue[str], list[str], str]:
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledger",
                "up",
                "--data-dir",
                str(data),
                "--rpc-port",
                str(free_port()),
                "--port",
                str(port),
                "--seal-interval",
                "0.2",
                "--anchor-interval",
                "0.3",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "LEDGER_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY},
        )
        lines: queue.Queue[str] = queue.Queue()
        notes: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        threading.Thread(target=_read, args=(process.stdout, lines.put), daemon=True).start()
        threading.Thread(target=_read, args=(process.stderr, notes.append), daemon=True).start()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not any("queued licence calls go on chain" in note for note in notes):
            assert process.poll() is None and time.monotonic() < deadline, "".join(notes)
            time.sleep(0.05)
        return process, lines, notes, url

    def stop(process: subprocess.Popen[str], notes: list[str]) -> None:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, "".join(notes)

    process, _lines, notes, _url = up()
    stop(process, notes)
    first = next(note for note in notes if "LicenceRegistry" in note)
    with sqlite3.connect(data / "ledger.db") as db:  # as a data dir from before LicenceRegistry
        db.execute("UPDATE deployment SET registry = NULL")

    process, lines, notes, url = up()
    try:
        second = next(note for note in notes if "LicenceRegistry" in note)
        assert second != first  # a new registry was deployed and recorded
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60
        ) as admin:
            created = grant(admin, licence("lic-up"))
            assert created["registry"]["contract"].lower() in second.lower()
            while True:  # `ledger up` prints each confirmed registry call
                event = json.loads(lines.get(timeout=60))
                if event["type"] == "licence":
                    break
            assert event == {
                "type": "licence",
                "licence_id": "lic-up",
                "action": "grant",
                "commitment": created["commitment"],
                "tx_hash": event["tx_hash"],
                "block_number": event["block_number"],
            }
    finally:
        stop(process, notes)


def test_deploy_gives_an_older_data_dir_its_registry(tmp_path: Path, anvil: Anvil) -> None:  # noqa: F811
    where = ["--data-dir", str(tmp_path / "data"), "--rpc-url", anvil.url]
    first = json.loads(ledger("deploy", *where).stdout)
    with sqlite3.connect(
        tmp_path / "data" / "ledger.db"
    ) as db:  # as a data dir from before LicenceRegistry
        db.execute("UPDATE deployment SET registry = NULL")
    options = [
        "--licence-id",
        "lic-x",
        "--licensee",
        "acme",
        "--model",
        "m",
        "--scope",
        "inference",
        "--terms-sha256",
        "ab" * 32,
        "--valid-from",
        ts(time.time()),
        "--valid-until",
        ts(time.time() + 60),
    ]
    early = ledger("licence", "grant", *options, *where, check=False)
    assert (
        early.returncode == 1
        and "records no LicenceRegistry" in early.stderr
        and "nothing was stored" in early.stderr
    )
    with sqlite3.connect(tmp_path / "data" / "ledger.db") as db:
        assert db.execute("SELECT count(*) FROM entries").fetchone() == (0,)

    second = json.loads(ledger("deploy", *where).stdout)
    assert {k: second[k] for k in ("contract", "log_id", "chain_id", "block_number")} == {
        k: first[k] for k in ("contract", "log_id", "chain_id", "block_number")
    }
    assert second["registry"] != first["registry"]
    again = ledger("deploy", *where, check=False)
    assert again.returncode == 1 and "already anchors log 'model-ledger'" in again.stderr
    granted = json.loads(ledger("licence", "grant", *options, *where).stdout)
    assert (
        granted["registry"]["contract"] == second["registry"]
        and granted["on_chain"]["grant"]["status"] == "confirmed"
    )
    assert granted["history"] == [
        {
            "action": "grant",
            "commitment": granted["commitment"],
            "record_hash": granted["commitment"],
            "status": "confirmed",
        }
    ]


def test_a_window_the_registry_cannot_hold_is_refused_by_the_cli(
    tmp_path: Path,
    anvil: Anvil,  # noqa: F811 - the fixture
) -> None:
    """`ledger licence grant` refuses, naming the field, before anything is stored."""
    where = ["--data-dir", str(tmp_path / "data"), "--rpc-url", anvil.url]
    ledger("deploy", *where)
    options = [
        "--licence-id",
        "lic-1969",
        "--licensee",
        "acme",
        "--model",
        "m",
        "--scope",
        "inference",
        "--terms-sha256",
        "ab" * 32,
        "--valid-from",
        "1969-07-20T20:17:40.000Z",
        "--valid-until",
        ts(time.time() + 60),
    ]
    refused = ledger("licence", "grant", *options, *where, check=False)
    assert refused.returncode == 1 and refused.stdout == ""
    assert (
        "invalid licence: body.valid_from: must not be before 1970-01-01T00:00:00Z"
        in refused.stderr
    )
    assert "nothing was stored" in refused.stderr
    with sqlite3.connect(tmp_path / "data" / "ledger.db") as db:
        assert db.execute("SELECT count(*) FROM entries").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM licence_commitments").fetchone() == (0,)


def test_the_cli_takes_models_and_scopes_as_repeated_options(
    tmp_path: Path,
    anvil: Anvil,  # noqa: F811 - the fixture
) -> None:
    """`--models` (alias `--model`) and `--scope` repeat into the body's lists, times take
    any RFC 3339 UTC form, and --help names the body field of each option."""
    helped = ledger("licence", "grant", "--help", env={"COLUMNS": "200"}).stdout
    for words in (
        "--models",
        "--model ",
        "Body field models (a list)",
        "Body field scope (a list)",
        "Body field valid_from",
    ):
        assert words in helped, words
    where = ["--data-dir", str(tmp_path / "data"), "--rpc-url", anvil.url]
    ledger("deploy", *where)
    year = datetime.now(UTC).year
    out = ledger(
        "licence",
        "grant",
        "--licence-id",
        "lic-options",
        "--licensee",
        "acme",
        "--models",
        "frontier-large",
        "--model",
        "frontier-small",
        "--scope",
        "inference",
        "--scope",
        "fine-tune",
        "--terms-sha256",
        "ab" * 32,
        "--valid-from",
        f"{year - 1}-01-01T00:00:00Z",
        "--valid-until",
        f"{year + 1}-01-01T00:00:00+00:00",
        *where,
    )
    granted = json.loads(out.stdout)
    body = granted["record"]["body"]
    assert body["models"] == ["frontier-large", "frontier-small"]
    assert body["scope"] == ["inference", "fine-tune"]
    assert body["valid_from"] == f"{year - 1}-01-01T00:00:00.000Z"
    assert body["valid_until"] == f"{year + 1}-01-01T00:00:00.000Z"
    assert granted["status"] == "active" and granted["on_chain"]["grant"]["status"] == "confirmed"
    refused = ledger(
        "licence",
        "grant",
        "--licence-id",
        "lic-offset",
        "--licensee",
        "acme",
        "--model",
        "m",
        "--scope",
        "inference",
        "--terms-sha256",
        "ab" * 32,
        "--valid-from",
        f"{year}-01-01T01:00:00+01:00",
        "--valid-until",
        f"{year + 1}-01-01T00:00:00Z",
        *where,
        check=False,
    )
    assert refused.returncode == 1 and refused.stdout == ""
    assert "body.valid_from: " in refused.stderr and "is not UTC (offset +01:00)" in refused.stderr
    assert f"the same instant is {year}-01-01T00:00:00.000Z" in refused.stderr
    assert "nothing was stored" in refused.stderr
