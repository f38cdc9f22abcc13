"""Every route's role check: no key 401, a wrong role 403, the right role passes;
revoked keys are refused; licensee keys see only their own entries and licences, and
another licensee's is answered exactly as one that does not exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.workload import interaction
from tests.api.conftest import Server, assert_problem, ledger

ROLES = ("ingest", "auditor", "licensee", "admin")
PUBLIC = "public"


def _licence(licensee: str, i: int) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "licence",
        "body": {
            "action": "grant",
            "licence_id": f"lic-{licensee}-{i}",
            "licensee": licensee,
            "models": ["frontier-large"],
            "scope": ["inference"],
            "terms_sha256": "ab" * 32,
            "valid_from": "2026-01-01T00:00:00.000Z",
            "valid_until": "2027-01-01T00:00:00.000Z",
        },
    }


@pytest.fixture(scope="module")
def entries(server: Server, keys: dict[str, str]) -> dict[str, str]:
    """Leaf hashes of an entry of licensee "acme" and one of "other" (licence records, which
    only an admin key logs), sealed; the ids of a licence of "acme" and one of "other"
    granted through /v1/licences."""
    with server.client(keys["admin"]) as client:
        own = client.post("/v1/entries", json=_licence("acme", 1)).json()["leaf_hash"]
        other = client.post("/v1/entries", json=_licence("other", 1)).json()["leaf_hash"]
        assert client.post("/v1/admin/seal").status_code == 200  # a checkpoint of size 2
        assert client.post("/v1/licences", json=_licence("acme", 2)).status_code == 201
        assert client.post("/v1/licences", json=_licence("other", 2)).status_code == 201
    return {
        "own": own,
        "other": other,
        "licence_id": "lic-acme-2",
        "other_licence_id": "lic-other-2",
    }


# (method, path template, roles allowed besides admin, json body)
ROUTES: list[tuple[str, str, tuple[str, ...], Any]] = [
    ("POST", "/v1/entries", ("ingest",), interaction(1, seed=21)),
    ("POST", "/v1/entries/batch", ("ingest",), {"entries": [interaction(2, seed=21)]}),
    ("GET", "/v1/entries/{own}", ("auditor",), None),
    ("GET", "/v1/entries?kind=licence", ("auditor",), None),
    ("GET", "/v1/proofs/inclusion/{own}", ("auditor", "licensee"), None),
    ("GET", "/v1/proofs/consistency?first=1&second=2", (PUBLIC,), None),
    ("GET", "/v1/log", (PUBLIC,), None),
    ("GET", "/v1/checkpoints/latest", (PUBLIC,), None),
    ("GET", "/v1/checkpoints/2", (PUBLIC,), None),
    ("GET", "/checkpoint", (PUBLIC,), None),
    ("GET", "/tile/0/000.p/2", (PUBLIC,), None),
    ("GET", "/tile/entries/000.p/2", ("auditor",), None),
    ("GET", "/v1/evidence/{own}", ("auditor", "licensee"), None),
    ("POST", "/v1/licences", (), _licence("acme", 3)),
    ("GET", "/v1/licences", ("auditor", "licensee"), None),
    ("GET", "/v1/licences/{licence_id}", ("auditor", "licensee"), None),
    ("POST", "/v1/licences/{licence_id}/revoke", (), None),
    ("POST", "/v1/admin/seal", (), None),
    ("POST", "/v1/admin/anchor", (), None),
    ("POST", "/v1/admin/erasures", (), {"before": "2000-01-01T00:00:00Z", "reason": "matrix"}),
    ("POST", "/v1/admin/holds", (), {"account": "matrix", "reason": "matrix"}),
    ("POST", "/v1/admin/holds/hold-none/lift", (), {"reason": "matrix"}),
    ("GET", "/v1/admin/holds", (), None),
    ("GET", "/v1/statements/{own}", ("auditor",), None),
    ("POST", "/v1/evidence", ("auditor",), {"kind": "licence"}),
    ("GET", "/v1/export?to_index=2", ("auditor",), None),
    (
        "POST",
        "/v1/models",
        (),
        {"model_id": "org/matrix", "version": "1", "artifact_sha256": "cd" * 32},
    ),
    ("GET", "/v1/models/{model_id}", ("auditor",), None),
    ("GET", "/v1/index/licensee/acme", ("auditor", "licensee"), None),
    ("GET", "/healthz", (PUBLIC,), None),
    ("GET", "/metrics", (PUBLIC,), None),
]
EXPECTED_OK = {
    "/v1/evidence/{own}": 409,
    "/v1/admin/anchor": 503,
    "/v1/evidence": 409,
    "/v1/index/licensee/acme": 409,
}  # no chain on this server
EXPECTED_OK["/v1/models/{model_id}"] = 404  # when run alone, before POST /v1/models registered it
EXPECTED_OK["/v1/admin/holds/hold-none/lift"] = 404  # no such hold
EXPECTED_OK["/v1/statements/{own}"] = 404  # a licence record, not a statement
EXPECTED_OK["/v1/log"] = 404  # no deployment on a chain: no identity yet


@pytest.mark.parametrize(
    ("method", "template", "allowed", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _a, _b in ROUTES]
)
def test_role_checks(
    server: Server,
    keys: dict[str, str],
    entries: dict[str, str],
    method: str,
    template: str,
    allowed: tuple[str, ...],
    body: Any,
) -> None:
    path = template.format(**{"model_id": "org/matrix", **entries})
    expected = EXPECTED_OK.get(template)

    def passes(response: Any) -> None:
        assert response.status_code not in (401, 403), response.text
        assert response.status_code < 400 or response.status_code == expected, response.text

    with server.client() as anonymous:
        response = anonymous.request(method, path, json=body)
    if PUBLIC in allowed:
        passes(response)
        return
    problem = assert_problem(response, 401, "needs an API key")
    assert response.headers["www-authenticate"] == "Bearer" and problem["title"] == "Unauthorized"
    with server.client("mlk_not-a-key") as stranger:
        assert_problem(stranger.request(method, path, json=body), 401, "unknown or revoked API key")
    for role in ROLES:
        with server.client(keys[role]) as client:
            response = client.request(method, path, json=body)
        if role == "admin" or role in allowed:
            passes(response)
        else:
            assert_problem(response, 403, f"this {role} key may not {method}")


UNKNOWN_LEAF = "0x" + "cd" * 32


@pytest.mark.parametrize(
    ("template", "own", "others", "unknown", "words"),
    [
        ("/v1/proofs/inclusion/{}", "own", "other", UNKNOWN_LEAF, "no entry has leaf hash {}"),
        ("/v1/evidence/{}", "own", "other", UNKNOWN_LEAF, "no entry has leaf hash {}"),
        (
            "/v1/licences/{}",
            "licence_id",
            "other_licence_id",
            "lic-nobody-1",
            "no licence has id '{}'",
        ),
    ],
    ids=["inclusion proof", "evidence", "licence"],
)
def test_another_licensees_item_is_answered_as_unknown(
    server: Server,
    keys: dict[str, str],
    entries: dict[str, str],
    template: str,
    own: str,
    others: str,
    unknown: str,
    words: str,
) -> None:
    """Same status, headers and body, apart from the identifier: a licensee key cannot
    tell another licensee's entry or licence from one that does not exist."""
    with server.client(keys["licensee"]) as client:
        assert client.get(template.format(entries[own])).status_code in (
            200,
            409,
        )  # its own (409: no chain here)
        answers = {name: client.get(template.format(name)) for name in (entries[others], unknown)}
    with server.client(keys["auditor"]) as auditor:  # the other's exists, and an auditor sees it
        assert auditor.get(template.format(entries[others])).status_code in (200, 409)
    shapes = []
    for name, response in answers.items():
        problem = assert_problem(response, 404, words.format(name))
        assert problem["detail"] == words.format(name)
        headers = {k: v for k, v in response.headers.items() if k not in ("date", "content-length")}
        shapes.append((response.status_code, headers, response.text.replace(name, "ID")))
    assert shapes[0] == shapes[1]


def test_revoked_key_is_refused(server: Server) -> None:
    import json

    created = json.loads(
        ledger("keys", "create", "--role", "auditor", "--data-dir", str(server.data_dir)).stdout
    )
    assert set(created) == {"key", "id", "role"} and created["role"] == "auditor"
    assert created["key"].startswith("mlk_") and len(created["key"]) > 40
    with server.client(created["key"]) as client:
        assert client.get("/v1/entries").status_code == 200
        revoked = json.loads(
            ledger("keys", "revoke", created["id"], "--data-dir", str(server.data_dir)).stdout
        )
        assert revoked["id"] == created["id"] and revoked["revoked_at"]
        assert_problem(client.get("/v1/entries"), 401, "unknown or revoked")
    where = ["--data-dir", str(server.data_dir)]
    live = [json.loads(line) for line in ledger("keys", "list", *where).stdout.splitlines()]
    everything = [
        json.loads(line) for line in ledger("keys", "list", "--all", *where).stdout.splitlines()
    ]
    assert created["id"] not in {k["id"] for k in live}
    (shown,) = [k for k in everything if k["id"] == created["id"]]
    assert shown == {
        "id": created["id"],
        "role": "auditor",
        "created_at": shown["created_at"],
        "revoked_at": revoked["revoked_at"],
    }
    assert created["key"] not in ledger("keys", "list", "--all", *where).stdout  # never shown
    again = ledger("keys", "revoke", created["id"], "--data-dir", str(server.data_dir), check=False)
    assert again.returncode != 0 and "already revoked" in again.stderr
    unknown = ledger("keys", "revoke", "k_nope", "--data-dir", str(server.data_dir), check=False)
    assert unknown.returncode != 0 and "no API key has id 'k_nope'" in unknown.stderr


def test_key_creation_is_checked(server: Server) -> None:
    where = ["--data-dir", str(server.data_dir)]
    bad_role = ledger("keys", "create", "--role", "root", *where, check=False)
    assert (
        bad_role.returncode != 0
        and "unknown role 'root'" in bad_role.stderr
        and bad_role.stdout == ""
    )
    unscoped = ledger("keys", "create", "--role", "licensee", *where, check=False)
    assert unscoped.returncode != 0 and "needs --licensee" in unscoped.stderr
    scoped = ledger(
        "keys", "create", "--role", "auditor", "--licensee", "acme", *where, check=False
    )
    assert scoped.returncode != 0 and "only a licensee key" in scoped.stderr


def test_only_hashes_of_keys_are_stored(server: Server, keys: dict[str, str]) -> None:
    database = (server.data_dir / "ledger.db").read_bytes()
    for secret in keys.values():
        assert secret.encode() not in database


def test_openapi_documents_every_route(server: Server) -> None:
    with server.client() as public:
        spec = public.get("/openapi.json").json()
        assert public.get("/docs").status_code == 200
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    for method, template, _allowed, _body in ROUTES:
        assert (method, _operation(template)) in documented or template.startswith("/tile/")
    for item in spec["paths"].values():
        for operation in item.values():
            assert operation["description"] and "\n" not in operation["description"].strip()
    # The bearer scheme is declared, and required exactly where a key is.
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `mledger keys create`: `Authorization: Bearer <key>`.",
    }
    secured = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == [{"apiKey": []}]
    }
    for method, template, allowed, _body in ROUTES:
        if template.startswith("/tile/"):
            continue  # c2sp.org/tlog-tiles paths are not in the OpenAPI document
        path = _operation(template)
        assert ((method, path) in secured) == (PUBLIC not in allowed), (method, path)


def test_short_bootstrap_admin_key_is_refused(tmp_path: Path) -> None:
    result = ledger(
        "serve",
        "--data-dir",
        str(tmp_path),
        "--port",
        "0",
        env={"LEDGER_BOOTSTRAP_ADMIN_KEY": "short"},
        check=False,
    )
    assert result.returncode != 0 and "at least 24 characters" in result.stderr


def _operation(template: str) -> str:
    """The OpenAPI path of a ROUTES template."""
    path = template.split("?")[0].replace("{own}", "{leaf_hash}")
    if path.startswith("/v1/index/"):
        return "/v1/index/{kind}/{value}"
    routes = {
        "/v1/checkpoints/2": "/v1/checkpoints/{size}",
        "/tile/0/000.p/2": "/tile/{path}",
        "/tile/entries/000.p/2": "/tile/entries/{path}",
        "/v1/admin/holds/hold-none/lift": "/v1/admin/holds/{hold_id}/lift",
    }
    return routes.get(path, path)


PUBLIC_PAGES = {("GET", "/verify"), ("GET", "/verify/assets/{name}")}
"""Routes left out of the OpenAPI on purpose: the static verification page."""

TILE_ROUTES = {("GET", "/tile/{path}"), ("GET", "/tile/entries/{path}")}
"""In ROUTES but not in the OpenAPI: c2sp.org/tlog-tiles defines these paths."""


def _served(routes: list[Any]) -> set[tuple[str, str]]:
    """(method, path) of every API route, through included routers (which recent FastAPI
    keeps as lazy `_IncludedRouter` entries; ours add no prefix of their own)."""
    from fastapi.routing import APIRoute

    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, APIRoute):
            found |= {(method, route.path_format) for method in route.methods or ()}
        elif getattr(route, "original_router", None) is not None:
            found |= _served(route.original_router.routes)
    return found


def test_matrix_covers_every_route(server: Server, tmp_path: Path) -> None:
    """The routes of the app itself, and of its OpenAPI, are exactly the matrix: a new
    route fails here until its roles are declared in ROUTES."""
    from eth_account import Account

    from ledger.api.main import create_app
    from ledger.formats.eip712 import Domain
    from ledger.service.signer import LogSigner
    from ledger.store.repository import Store

    store = Store.open(f"sqlite:///{tmp_path / 'routes.db'}")
    try:
        app = create_app(store, LogSigner(Account.create(), Domain(b"\x07" * 32)))
        served = _served(app.routes)
    finally:
        store.close()
    matrix = {(method, _operation(template)) for method, template, _allowed, _body in ROUTES}
    assert len(matrix) == len(ROUTES)
    assert served - PUBLIC_PAGES == matrix, "declare the roles of every new route in ROUTES"
    with server.client() as public:
        spec = public.get("/openapi.json").json()
        for method, path in PUBLIC_PAGES:
            assert public.request(method, path.format(name="verify.css")).status_code == 200
    assert {
        (method.upper(), path) for path, item in spec["paths"].items() for method in item
    } == matrix - TILE_ROUTES
