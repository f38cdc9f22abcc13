"""Roles by record kind, on a real `ledger serve`: an ingest key logs interaction and
digest records only. A licence or model record from an ingest key, alone or anywhere in
a batch, gets 403 naming the entry and the route to use, and nothing of the request is
stored. Licences and model versions are what the admin routes wrote: an ingest key
cannot forge a licence nor take a model version before its owner, and a record an admin
logged through POST /v1/entries is in the log but is no licence and no registration."""

from __future__ import annotations

import hashlib
from typing import Any

from ledger.workload import interaction
from tests.api.conftest import Server, assert_problem

LICENCE_ROUTE = "POST /v1/licences (grant, amend) and POST /v1/licences/{id}/revoke"


def licence(licence_id: str, licensee: str = "acme") -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "licence",
        "body": {
            "action": "grant",
            "licence_id": licence_id,
            "licensee": licensee,
            "models": ["frontier-large"],
            "scope": ["inference"],
            "terms_sha256": "ab" * 32,
            "valid_from": "2026-01-01T00:00:00.000Z",
            "valid_until": "2099-01-01T00:00:00.000Z",
        },
    }


def model_body(model_id: str, version: str, artefact: str = "weights") -> dict[str, Any]:
    return {
        "model_id": model_id,
        "version": version,
        "artifact_sha256": hashlib.sha256(f"{model_id}@{version}/{artefact}".encode()).hexdigest(),
    }


def model(model_id: str, version: str, artefact: str = "weights") -> dict[str, Any]:
    return {"v": 1, "kind": "model", "body": model_body(model_id, version, artefact)}


def digest(i: int) -> dict[str, Any]:
    return {"v": 1, "kind": "digest", "body": {"sha256": hashlib.sha256(b"doc %d" % i).hexdigest()}}


def stored(server: Server, keys: dict[str, str], **query: str) -> list[dict[str, Any]]:
    with server.client(keys["auditor"]) as auditor:
        response = auditor.get("/v1/entries", params=query)
    assert response.status_code == 200, response.text
    return list(response.json()["entries"])


def test_ingest_keys_log_interactions_and_digests(server: Server, keys: dict[str, str]) -> None:
    with server.client(keys["ingest"]) as ingest:
        assert ingest.post("/v1/entries", json=digest(1)).status_code == 202
        assert ingest.post("/v1/entries", json=interaction(1, seed=61)).status_code == 202
        batch = ingest.post(
            "/v1/entries/batch", json={"entries": [digest(2), interaction(2, seed=61)]}
        )
        assert batch.status_code == 202 and len(batch.json()["receipts"]) == 2


def test_licence_and_model_records_from_an_ingest_key_are_refused(
    server: Server, keys: dict[str, str]
) -> None:
    before = len(stored(server, keys))
    with server.client(keys["ingest"]) as ingest:
        problem = assert_problem(ingest.post("/v1/entries", json=licence("lic-forged")), 403)
        assert problem["field"] == "kind"
        assert problem["detail"] == (
            "kind: an ingest key may not log licence records; they"
            f" enter with an admin key through {LICENCE_ROUTE}"
        )
        problem = assert_problem(ingest.post("/v1/entries", json=model("org/forged", "1")), 403)
        assert problem["detail"] == (
            "kind: an ingest key may not log model records; they"
            " enter with an admin key through POST /v1/models"
        )
        for position, record in [
            (0, licence("lic-batch")),
            (3, model("org/batch", "1")),
            (4, licence("lic-last")),
        ]:
            records: list[dict[str, Any]] = [interaction(100 + i, seed=62) for i in range(5)]
            records[position] = record
            problem = assert_problem(
                ingest.post("/v1/entries/batch", json={"entries": records}), 403
            )
            where = f"entries[{position}].kind"
            assert problem["field"] == where and problem["detail"].startswith(
                f"{where}: an ingest key may not log {record['kind']} records"
            )
            assert ("POST /v1/models" if record["kind"] == "model" else LICENCE_ROUTE) in problem[
                "detail"
            ]
    assert len(stored(server, keys)) == before  # nothing of any refused request
    with server.client(
        keys["admin"]
    ) as admin:  # the admin key may (the record is logged, unchecked)
        assert admin.post("/v1/entries", json=licence("lic-admin-logged")).status_code == 202
        assert (
            admin.post(
                "/v1/entries/batch", json={"entries": [model("org/admin-logged", "1"), digest(3)]}
            ).status_code
            == 202
        )
    assert len(stored(server, keys)) == before + 3


def test_an_ingest_key_cannot_take_a_model_version_before_its_owner(
    server: Server, keys: dict[str, str]
) -> None:
    with server.client(keys["ingest"]) as ingest:
        assert_problem(
            ingest.post("/v1/entries", json=model("org/flagship", "1.0", "squatter")),
            403,
            "POST /v1/models",
        )
        assert_problem(
            ingest.post("/v1/models", json=model_body("org/flagship", "1.0", "squatter")),
            403,
            "this ingest key may not POST /v1/models",
        )
    with server.client(keys["admin"]) as admin:
        registered = admin.post("/v1/models", json=model_body("org/flagship", "1.0"))
        assert registered.status_code == 202, registered.text
    with server.client(keys["auditor"]) as auditor:
        (version,) = auditor.get("/v1/models/org/flagship").json()["versions"]
    assert version["leaf_hash"] == registered.json()["leaf_hash"]
    assert version["artifact_sha256"] == model_body("org/flagship", "1.0")["artifact_sha256"]


def test_model_records_logged_outside_post_models_register_nothing(
    server: Server, keys: dict[str, str]
) -> None:
    """Even an admin's model record through POST /v1/entries is in the log but is no
    registration: it does not take the version, is not a parent, is not in a lineage."""
    with server.client(keys["admin"]) as admin:
        logged = admin.post("/v1/entries", json=model("org/side-door", "1", "unchecked")).json()[
            "leaf_hash"
        ]
        assert_problem(
            admin.get("/v1/models/org/side-door"), 404, "no model 'org/side-door' is registered"
        )
        child = {
            **model_body("org/child", "1"),
            "parents": [{"model_id": "org/side-door", "version": "1", "relation": "fine-tune"}],
        }
        problem = assert_problem(
            admin.post("/v1/models", json=child),
            422,
            "model 'org/side-door' version '1' is not registered",
        )
        assert problem["field"] == "body.parents.0"
        registered = admin.post("/v1/models", json=model_body("org/side-door", "1"))
        assert registered.status_code == 202, registered.text
        assert admin.post("/v1/models", json=child).status_code == 202
        lineage = admin.get("/v1/models/org/child").json()
    assert (
        [node["leaf_hash"] for node in lineage["ancestors"]]
        == [registered.json()["leaf_hash"]]
        != [logged]
    )
    assert [hit["leaf_hash"] for hit in stored(server, keys, external_id="org/side-door")] == [
        logged,
        registered.json()["leaf_hash"],
    ]


def test_a_licence_record_logged_outside_the_licence_routes_is_no_licence(
    server: Server, keys: dict[str, str]
) -> None:
    """The licence views read what POST /v1/licences wrote: a licence record an admin
    logged through POST /v1/entries grants nothing, and the id stays free to grant."""
    with server.client(keys["admin"]) as admin:
        assert admin.post("/v1/entries", json=licence("lic-side-door")).status_code == 202
        assert_problem(
            admin.get("/v1/licences/lic-side-door"), 404, "no licence has id 'lic-side-door'"
        )
        assert_problem(
            admin.post("/v1/licences/lic-side-door/revoke"),
            404,
            "no licence has id 'lic-side-door'",
        )
        granted = admin.post("/v1/licences", json=licence("lic-side-door"))
        assert granted.status_code == 201, granted.text
        shown = admin.get("/v1/licences/lic-side-door").json()
    assert shown["commitment"] == granted.json()["leaf_hash"] and len(shown["history"]) == 1
    with server.client(keys["licensee"]) as licensee:
        assert licensee.get("/v1/licences/lic-side-door").json()["status"] == "active"
