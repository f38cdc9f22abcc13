"""No request body can crash the service: a real `ledger serve` with two API worker
processes gets bodies nested a million deep on every route that takes a body (the list
comes from the app's own OpenAPI), with no key and with a key of each role, and answers
each with 400 problem+json before authentication; afterwards it and both its workers
are alive. Bodies of 32 MiB built to be expensive to check are answered too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.jsonlimits import MAX_JSON_DEPTH, depth_message
from tests.api.conftest import ADMIN_KEY, Server, assert_problem

DEEP = {
    "arrays": b"[" * 1_000_000,
    "objects": b'{"a":' * 200_000,
    "mixed": b'[{"a": "[[", "b":' * 60_000,
    "closed": b"[" * 500_000 + b"]" * 500_000,
}
"""A million bytes or so each, nested far past MAX_JSON_DEPTH."""

ROLES = ("ingest", "auditor", "licensee", "admin")

TAKES_NO_BODY = {("POST", "/v1/admin/seal"), ("POST", "/v1/admin/anchor")}
"""Operations with a method that could carry a body but that declare none."""

PATH_VALUES = {
    "leaf_hash": "0x" + "ab" * 32,
    "licence_id": "lic-deep",
    "model_id": "org/deep",
    "size": "1",
    "kind": "account",
    "value": "acct-deep",
    "hold_id": "1",
}


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        tmp_path_factory.mktemp("deep") / "data", "--seal-interval", "3600", "--workers", "2"
    )
    try:
        yield running
    finally:
        assert running.stop() == 0


@pytest.fixture(scope="module")
def role_keys(workers: Server) -> dict[str, str | None]:
    return {
        "none": None,
        **{role: workers.key(role, "acme" if role == "licensee" else None) for role in ROLES[:3]},
        "admin": ADMIN_KEY,
    }


def children(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(method, path with values) of every operation of the OpenAPI document."""
    found = []
    for path, item in spec["paths"].items():
        for method in item:
            found.append(
                (method.upper(), re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path))
            )
    return found


def body_operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """Every operation that takes a body. One whose method could carry a body but that
    declares none must be listed in TAKES_NO_BODY: a new route is never left out."""
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                found.append((method.upper(), path))
            elif method in ("post", "put", "patch"):
                assert (method.upper(), path) in TAKES_NO_BODY, (
                    f"{method.upper()} {path} declares no request body"
                )
    return [
        (method, re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path))
        for method, path in found
    ]


def test_deep_bodies_are_refused_on_every_route_for_every_caller(
    workers: Server, role_keys: dict[str, str | None]
) -> None:
    with workers.client() as public:
        spec = public.get("/openapi.json").json()
    targets = body_operations(spec)
    assert (
        len(targets) == 9 and ("POST", "/v1/entries/batch") in targets
    )  # today's; more are welcome
    pids = children(workers.process.pid)
    assert len(pids) == 2
    expected = depth_message("request body", MAX_JSON_DEPTH)
    for method, path in targets:
        for role, key in role_keys.items():
            with workers.client(key) as client:
                for name, body in DEEP.items():
                    response = client.request(
                        method, path, content=body, headers={"content-type": "application/json"}
                    )
                    problem = assert_problem(response, 400)
                    assert problem["detail"] == expected, (method, path, role, name)
    with workers.client() as public:
        assert public.get("/healthz").status_code == 200
    assert workers.process.poll() is None and children(workers.process.pid) == pids


def test_every_operation_refuses_a_deep_body_before_routing(workers: Server) -> None:
    """The check runs before routing and authentication: any method, any path."""
    with workers.client() as public:
        spec = public.get("/openapi.json").json()
        for method, path in [*operations(spec), ("POST", "/no/such/route")]:
            problem = assert_problem(public.request(method, path, content=DEEP["arrays"]), 400)
            assert "more than 32 levels deep" in problem["detail"], (method, path)
        chunked = public.post(
            "/v1/evidence", content=iter([DEEP["objects"][:65536]] * 8)
        )  # no Content-Length
        assert_problem(chunked, 400, "more than 32 levels deep")
        assert_problem(
            public.post("/v1/evidence", content='{"a": [1]}'.encode("utf-16")),
            400,
            "not UTF-8 JSON",
        )
        assert public.get("/healthz").status_code == 200


def test_bodies_built_to_be_expensive_get_a_bounded_answer(
    workers: Server, role_keys: dict[str, str | None]
) -> None:
    """32 MiB, the largest body the service reads: deep from the first byte, or every
    byte a bracket; refused (deep) or passed on to the route (which refuses it as not
    JSON, or for want of a key), and the service stays up."""
    size = 32 << 20
    with workers.client(role_keys["ingest"]) as ingest, workers.client() as anonymous:
        assert_problem(
            ingest.post("/v1/entries/batch", content=b"[" * size), 400, "more than 32 levels deep"
        )
        assert_problem(
            anonymous.post("/v1/entries/batch", content=b"[" * size),
            400,
            "more than 32 levels deep",
        )
        assert_problem(
            ingest.post("/v1/entries/batch", content=b"[]" * (size // 2)),
            400,
            "request body is not valid JSON: Extra data",
        )
        assert_problem(anonymous.post("/v1/entries/batch", content=b"[]" * (size // 2)), 401)
        assert anonymous.get("/healthz").status_code == 200
