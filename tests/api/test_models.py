"""Model provenance over HTTP against a real Anvil: register artefacts with
POST /v1/models, read a distilled model's lineage with GET /v1/models/{id}, and check
every node's evidence with `ledger verify --log --rpc-url`, as an auditor would."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.anvil import Anvil
from ledger.core.records import parse_object
from ledger.verify.receipt import verify_receipt
from tests.api.chained import anchored_server
from tests.api.conftest import ADMIN_KEY, Server, assert_problem, identity_file, ledger, pinned_log
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture: fails clearly without Anvil

TEACHER = "org/teacher-70b"
STUDENT = "org/student-7b"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def model(
    model_id: str, version: str, *parents: tuple[str, str, str], **extra: Any
) -> dict[str, Any]:
    """The body of a model record; parents as (model_id, version, relation)."""
    return {
        "model_id": model_id,
        "version": version,
        "artifact_sha256": digest(f"{model_id}@{version}"),
        "parents": [{"model_id": m, "version": v, "relation": r} for m, v, r in parents],
        **extra,
    }


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory,
    anvil_binary: Path,  # noqa: F811 - the fixture
) -> Iterator[tuple[Server, Anvil]]:
    with anchored_server(tmp_path_factory.mktemp("models"), anvil_binary) as running:
        yield running


@pytest.fixture(scope="module")
def role_keys(service: tuple[Server, Anvil]) -> dict[str, str]:
    server, _ = service
    return {
        "admin": ADMIN_KEY,
        "ingest": server.key("ingest"),
        "auditor": server.key("auditor"),
        "licensee": server.key("licensee", "acme"),
    }


def stored_models(server: Server, keys: dict[str, str], model_id: str) -> list[Any]:
    """The model records the log holds for `model_id` (the auditor's search)."""
    with server.client(keys["auditor"]) as auditor:
        found = auditor.get("/v1/entries", params={"external_id": model_id, "kind": "model"})
    assert found.status_code == 200, found.text
    return list(found.json()["entries"])


def test_distilled_model_lineage_with_evidence_ledger_verify_accepts(
    service: tuple[Server, Anvil], role_keys: dict[str, str], tmp_path: Path
) -> None:
    server, anvil = service
    teacher_body = model(TEACHER, "1.0", training_data_sha256=digest("corpus"), licence_id="lic-1")
    student_body = model(STUDENT, "1.0", (TEACHER, "1.0", "distillation"))
    with server.client(role_keys["admin"]) as admin:
        teacher = admin.post("/v1/models", json=teacher_body)
        assert teacher.status_code == 202, teacher.text
        student = admin.post("/v1/models", json=student_body)
        assert student.status_code == 202, student.text
    for created, body in ((teacher.json(), teacher_body), (student.json(), student_body)):
        record = created["record"]
        assert (record["v"], record["kind"], record["body"]) == (1, "model", body)
        assert "0x" + parse_object(record).leaf_hash.hex() == created["leaf_hash"]
        assert created["receipt"]["leaf_hash"] == created["leaf_hash"]
        verify_receipt(created["receipt"], pinned_log(server))
    teacher_leaf, student_leaf = teacher.json()["leaf_hash"], student.json()["leaf_hash"]

    with server.client(role_keys["auditor"]) as auditor:
        pending = auditor.get(f"/v1/models/{STUDENT}").json()
    assert [
        (n["model_id"], n["status"], n["evidence"], n["leaf_index"]) for n in pending["versions"]
    ] == [(STUDENT, "pending", None, None)]
    assert [(n["model_id"], n["depth"], n["status"]) for n in pending["ancestors"]] == [
        (TEACHER, 1, "pending")
    ]

    with server.client(role_keys["admin"]) as admin:
        anchored = admin.post("/v1/admin/anchor")
        assert anchored.status_code == 200 and anchored.json()["status"] == "confirmed", (
            anchored.text
        )
        # Registered after the anchor: a new version (fine-tuned from the first) and a
        # quantization of it. Both stay pending; their ancestors are anchored.
        assert (
            admin.post(
                "/v1/models", json=model(STUDENT, "1.1", (STUDENT, "1.0", "fine-tune"))
            ).status_code
            == 202
        )
        quantized = admin.post(
            "/v1/models", json=model(f"{STUDENT}-int4", "1.1", (STUDENT, "1.1", "quantization"))
        )
        assert quantized.status_code == 202, quantized.text

    with server.client(role_keys["auditor"]) as auditor:
        lineage = auditor.get(f"/v1/models/{STUDENT}").json()
        chain = auditor.get(f"/v1/models/{STUDENT}-int4").json()
    assert lineage["model_id"] == STUDENT and lineage["truncated"] is False
    first, second = lineage["versions"]
    (parent,) = lineage["ancestors"]
    assert (first["version"], first["leaf_hash"], first["status"], first["depth"]) == (
        "1.0",
        student_leaf,
        "anchored",
        0,
    )
    assert first["parents"] == [
        {
            "model_id": TEACHER,
            "version": "1.0",
            "relation": "distillation",
            "leaf_hash": teacher_leaf,
        }
    ]
    assert (second["version"], second["status"], second["evidence"]) == ("1.1", "pending", None)
    assert second["parents"] == [
        {"model_id": STUDENT, "version": "1.0", "relation": "fine-tune", "leaf_hash": student_leaf}
    ]
    assert (
        parent["model_id"],
        parent["leaf_hash"],
        parent["status"],
        parent["depth"],
        parent["parents"],
    ) == (TEACHER, teacher_leaf, "anchored", 1, [])
    assert parent["record"]["body"] == teacher_body
    assert [
        (n["model_id"], n["version"], n["depth"]) for n in chain["versions"] + chain["ancestors"]
    ] == [
        (f"{STUDENT}-int4", "1.1", 0),
        (STUDENT, "1.1", 1),
        (STUDENT, "1.0", 2),
        (TEACHER, "1.0", 3),
    ]

    # Every anchored node carries a bundle that the independent verifier accepts.
    block = anchored.json()["block_number"]
    log = identity_file(server, tmp_path / "log.json")
    for node in (first, parent):
        bundle = node["evidence"]
        (entry,) = bundle["entries"]
        assert (entry["leaf_hash"], entry["leaf_index"], entry["record"]) == (
            node["leaf_hash"],
            node["leaf_index"],
            node["record"],
        )
        path = tmp_path / f"{node['model_id'].replace('/', '_')}.json"
        path.write_text(json.dumps(bundle))
        verified = ledger("verify", str(path), "--log", str(log), "--rpc-url", anvil.url)
        assert (
            f"(block {block})" in verified.stdout
            and "VALID: existed no later than" in verified.stdout
        )


def test_bad_input_is_refused_and_nothing_is_stored(
    service: tuple[Server, Anvil], role_keys: dict[str, str]
) -> None:
    server, _ = service
    with server.client(role_keys["admin"]) as admin:
        assert admin.post("/v1/models", json=model("base", "1")).status_code == 202
        refused = [
            (
                model("orphan", "1", ("ghost", "1", "fine-tune")),
                422,
                "body.parents.0",
                "model 'ghost' version '1' is not registered",
            ),
            (
                model("orphan", "1", ("base", "1", "merge"), ("base", "2", "merge")),
                422,
                "body.parents.1",
                "model 'base' version '2'",
            ),
            (
                model("orphan", "1", ("orphan", "1", "fine-tune")),
                422,
                "body.parents.0",
                "cannot be its own parent",
            ),
            (
                model("orphan", "1", ("base", "1", "pruning")),
                422,
                "body.parents.0.relation",
                "'fine-tune', 'distillation'",
            ),
            (
                model("orphan", "1") | {"artifact_sha256": "AB" * 32},
                422,
                "body.artifact_sha256",
                "not a SHA-256 digest",
            ),
            (
                {k: v for k, v in model("orphan", "1").items() if k != "version"},
                422,
                "body.version",
                "required",
            ),
            (model("orphan", "1") | {"salt": "00" * 16}, 422, "body.salt", "unknown field"),
            (model("orphan", "1") | {"version": ""}, 422, "body.version", "at least 1 character"),
            (["orphan"], 422, "body", "valid dictionary"),
        ]
        for body, status, field, words in refused:
            problem = assert_problem(admin.post("/v1/models", json=body), status, words)
            assert problem["field"] == field, problem
        assert_problem(
            admin.post(
                "/v1/models", content=b"{nope", headers={"content-type": "application/json"}
            ),
            400,
            "not valid JSON",
        )
        assert_problem(
            admin.post("/v1/models", json=model("base", "1")),
            409,
            "model 'base' version '1' is already registered",
        )
        assert_problem(admin.post("/v1/models", content=b" " * 20_000), 413)
        assert_problem(admin.get("/v1/models/orphan"), 404, "no model 'orphan' is registered")
    assert stored_models(server, role_keys, "orphan") == []
    assert len(stored_models(server, role_keys, "base")) == 1


def test_roles(service: tuple[Server, Anvil], role_keys: dict[str, str]) -> None:
    server, _ = service
    with server.client(role_keys["admin"]) as admin:
        assert admin.post("/v1/models", json=model("roles", "1")).status_code == 202
    with server.client() as anonymous:
        assert_problem(
            anonymous.post("/v1/models", json=model("roles", "2")), 401, "needs an API key"
        )
        assert_problem(anonymous.get("/v1/models/roles"), 401, "needs an API key")
    with server.client("not-a-key") as stranger:
        assert_problem(stranger.get("/v1/models/roles"), 401, "unknown or revoked")
    for role in ("ingest", "auditor", "licensee"):
        with server.client(role_keys[role]) as client:
            assert_problem(
                client.post("/v1/models", json=model("roles", "2")),
                403,
                f"this {role} key may not POST /v1/models",
            )
    for role in ("ingest", "licensee"):
        with server.client(role_keys[role]) as client:
            assert_problem(
                client.get("/v1/models/roles"), 403, f"this {role} key may not GET /v1/models/roles"
            )
    for role in ("auditor", "admin"):
        with server.client(role_keys[role]) as client:
            assert [
                node["version"] for node in client.get("/v1/models/roles").json()["versions"]
            ] == ["1"]
    assert len(stored_models(server, role_keys, "roles")) == 1
