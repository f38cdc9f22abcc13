"""The live OpenAPI, fuzzed: a real `ledger serve` anchoring on a real Anvil, schemathesis
generating requests from the service's own /openapi.json, sent with an admin key so
that every route is reached.

Every answer must be no 5xx, carry a documented status code and content type, the
documented headers, and a body matching the documented schema. Bounded: a fixed number
of derandomized examples per operation (about a minute on two busy cores). One
known-good request per operation, with data the log really holds, checks the success
answers the fuzzer rarely reaches (evidence of an anchored entry, a model's lineage).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ledger.workload import interaction
from tests.api.chained import anchored_server
from tests.api.conftest import ADMIN_KEY, Server
from tests.chain.conftest import anvil_binary  # noqa: F401 - fixture: fails clearly without Anvil

EXAMPLES_PER_OPERATION = 100
"""Generated requests per operation, besides the schema's explicit examples."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
LICENCE_ID = "lic-fuzz"
MODEL_ID = "org/fuzz-model"


def _licence(licence_id: str) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "licence",
        "body": {
            "action": "grant",
            "licence_id": licence_id,
            "licensee": "acme",
            "models": [MODEL_ID],
            "scope": ["inference"],
            "terms_sha256": "ab" * 32,
            "valid_from": "2026-01-01T00:00:00.000Z",
            "valid_until": "2027-01-01T00:00:00.000Z",
        },
    }


def _model(version: str) -> dict[str, Any]:
    return {"model_id": MODEL_ID, "version": version, "artifact_sha256": "cd" * 32, "parents": []}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, anvil_binary: Path) -> Iterator[Server]:  # noqa: F811
    with anchored_server(tmp_path_factory.mktemp("fuzz"), anvil_binary) as (server, _node):
        yield server


@pytest.fixture(scope="module")
def seeded(service: Server) -> dict[str, Any]:
    """Entries, a licence and a model in the log, sealed and anchored."""
    with service.client(ADMIN_KEY) as admin:
        created = admin.post(
            "/v1/entries/batch", json={"entries": [interaction(i, seed=77) for i in range(5)]}
        )
        assert created.status_code == 202, created.text
        assert admin.post("/v1/licences", json=_licence(LICENCE_ID)).status_code == 201
        assert admin.post("/v1/models", json=_model("1.0")).status_code == 202
        anchored = admin.post("/v1/admin/anchor")
        assert anchored.status_code == 200, anchored.text
    return {"leaf_hash": created.json()["receipts"][0]["leaf_hash"], "tree_size": 7}


@pytest.fixture(scope="module")
def api_schema(service: Server, seeded: dict[str, Any]) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(service.url + "/openapi.json")


def _known_good(seeded: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """One request per documented operation that the log can answer with success."""
    leaf = {"leaf_hash": seeded["leaf_hash"]}
    size = seeded["tree_size"]
    return {
        ("POST", "/v1/entries"): {"body": interaction(100, seed=77)},
        ("POST", "/v1/entries/batch"): {"body": {"entries": [interaction(101, seed=77)]}},
        ("GET", "/v1/entries"): {"query": {"kind": "interaction", "limit": 2}},
        ("GET", "/v1/entries/{leaf_hash}"): {"path_parameters": leaf},
        ("GET", "/v1/proofs/inclusion/{leaf_hash}"): {
            "path_parameters": leaf,
            "query": {"tree_size": size},
        },
        ("GET", "/v1/proofs/consistency"): {"query": {"first": 2, "second": size}},
        ("GET", "/v1/log"): {},
        ("GET", "/v1/checkpoints/latest"): {},
        ("GET", "/checkpoint"): {},
        ("GET", "/v1/checkpoints/{size}"): {"path_parameters": {"size": size}},
        ("GET", "/v1/evidence/{leaf_hash}"): {"path_parameters": leaf},
        ("POST", "/v1/evidence"): {"body": {"kind": "interaction"}},
        ("GET", "/v1/export"): {"query": {"from_index": 0, "to_index": 3}},
        ("POST", "/v1/models"): {"body": _model("2.0")},
        ("GET", "/v1/models/{model_id}"): {"path_parameters": {"model_id": MODEL_ID}},
        ("POST", "/v1/licences"): {"body": _licence("lic-fuzz-2")},
        ("GET", "/v1/licences"): {"query": {"limit": 10}},
        ("GET", "/v1/licences/{licence_id}"): {"path_parameters": {"licence_id": LICENCE_ID}},
        ("GET", "/v1/index/{kind}/{value}"): {
            "path_parameters": {"kind": "licence", "value": LICENCE_ID},
            "query": {"tree_size": size},
        },
        ("POST", "/v1/licences/{licence_id}/revoke"): {
            "path_parameters": {"licence_id": "lic-fuzz-2"},
            "body": {"reason": "fuzzed"},
        },
        ("POST", "/v1/admin/erasures"): {"body": {"account": "acct-never", "reason": "fuzz"}},
        ("POST", "/v1/admin/holds"): {"body": {"account": "acct-held", "reason": "fuzz"}},
        ("POST", "/v1/admin/holds/{hold_id}/lift"): {
            "path_parameters": {"hold_id": seeded.get("hold_id", "")},
            "body": {"reason": "fuzz"},
        },
        ("GET", "/v1/admin/holds"): {},
        ("GET", "/v1/statements/{leaf_hash}"): {
            "path_parameters": {"leaf_hash": seeded.get("statement", "")}
        },
        ("POST", "/v1/admin/seal"): {},
        ("POST", "/v1/admin/anchor"): {},
        ("GET", "/healthz"): {},
        ("GET", "/metrics"): {},
    }


OPERATIONS = sorted(_known_good({"leaf_hash": "", "tree_size": 0}), key=lambda op: (op[1], op[0]))
"""Every documented operation (test_known_good_requests_get_documented_success checks)."""


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzzed_requests_get_documented_answers(
    api_schema: schemathesis.BaseSchema, method: str, path: str
) -> None:
    """Valid requests by the schema, and invalid ones (negative mode): all answered as
    documented."""
    operation = api_schema[path][method]
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(cases)
    def fuzz(case: Any) -> None:
        case.call_and_validate(headers=ADMIN, checks=CHECKS, timeout=120)

    fuzz()


def test_known_good_requests_get_documented_success(
    api_schema: schemathesis.BaseSchema, service: Server, seeded: dict[str, Any]
) -> None:
    with service.client() as public:
        spec = public.get("/openapi.json").json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    with service.client(ADMIN_KEY) as admin:  # a hold of its own: fuzzing may lift others
        hold = admin.post("/v1/admin/holds", json={"licence": "lic-held", "reason": "fuzz"})
        assert hold.status_code == 201, hold.text
    held = {"hold_id": str(hold.json()["id"]), "statement": hold.json()["record"]}
    requests = _known_good(seeded | held)
    assert documented == set(requests), "add a known-good request for every new operation"
    for (method, path), parts in requests.items():
        case = api_schema[path][method].Case(**parts)
        response = case.call_and_validate(headers=ADMIN, checks=CHECKS, timeout=120)
        assert 200 <= response.status_code < 300, (
            f"{method} {path}: {response.status_code} {response.text}"
        )


def test_every_problem_is_documented_as_problem_json(service: Server) -> None:
    with service.client() as public:
        spec = public.get("/openapi.json").json()
    assert "HTTPValidationError" not in json.dumps(spec)  # FastAPI's 422 body: never sent
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            keyed = operation.get("security") == [{"apiKey": []}]
            expected = {"400", "404", "409", "410", "413", "422", "503"} | (
                {"401", "403", "429"} if keyed else set()
            )
            problems = {code for code in operation["responses"] if code[0] in "45"}
            assert problems == expected, (method, path)
            for code in problems:
                content = operation["responses"][code]["content"]
                assert set(content) == {"application/problem+json"}, (method, path, code)
