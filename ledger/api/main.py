"""Builds the FastAPI app of a running log."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api import errors
from ledger.api.deps import Services
from ledger.api.limits import LimitRequestBody, LimitRequestNesting, Limits, RateLimiter
from ledger.api.routes import (
    admin,
    checkpoints,
    entries,
    erasure,
    evidence,
    health,
    log,
    models,
    proofs,
    tlog,
    web,
)
from ledger.api.routes import export as export_route
from ledger.api.routes import index as index_route
from ledger.api.routes import licences as licence_routes
from ledger.api.schemas import document_records
from ledger.jsonlimits import restore_recursion_limit
from ledger.service.metrics import Metrics
from ledger.service.signer import LogSigner
from ledger.store.anchors import AnchorRepository
from ledger.store.keys import KeyRepository
from ledger.store.repository import Store


class CountRequests:
    """Counts requests by method, route template and status for /metrics (plain ASGI)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.count_request(scope["method"], route, status[0])


def create_app(
    store: Store,
    signer: LogSigner,
    *,
    anchor_now: Callable[[], Any] | None = None,
    bootstrap_admin_key: str | None = None,
    limits: Limits | None = None,
    public_rpc_url: str | None = None,
    explorer_url: str | None = None,
    witnesses: Sequence[str] = (),
    witness_quorum: int = 0,
) -> FastAPI:
    """The API over `store`, signing with `signer`; `anchor_now` enables POST /v1/admin/anchor.

    `bootstrap_admin_key` (LEDGER_BOOTSTRAP_ADMIN_KEY) is stored as an admin key if absent.
    `public_rpc_url` and `explorer_url` are what GET /v1/log suggests to verifiers;
    `witnesses` (cosigner vkeys) and `witness_quorum` what it lists as the log's witnesses.
    `limits` default to the environment's (ledger.api.limits). The process's recursion
    limit is set back to Python's default (ledger.jsonlimits).
    """
    restore_recursion_limit()
    limits = Limits.from_env() if limits is None else limits
    keys = KeyRepository(store)
    if bootstrap_admin_key:
        keys.ensure_admin(bootstrap_admin_key)
    app = FastAPI(
        title="model-ledger",
        version="1",
        summary="A verifiable, blockchain-anchored audit trail for AI model access.",
    )
    app.state.services = Services(
        store,
        keys,
        AnchorRepository(store),
        signer,
        anchor_now,
        limiter=RateLimiter(limits.rate, limits.burst),
        public_rpc_url=public_rpc_url,
        explorer_url=explorer_url,
        witnesses=tuple(witnesses),
        witness_quorum=witness_quorum,
    )
    errors.install(app)
    document_records(app)
    for module in (
        log,
        entries,
        proofs,
        checkpoints,
        evidence,
        models,
        admin,
        erasure,
        health,
        web,
        export_route,
        index_route,
        tlog,
    ):
        app.include_router(module.router)
    app.include_router(licence_routes.router)
    app.include_router(erasure.statements_router)

    # Outermost last: CountRequests, then LimitRequestBody caps the body that
    # LimitRequestNesting reads whole and checks before the app sees the request.
    app.add_middleware(LimitRequestNesting)
    app.add_middleware(LimitRequestBody, max_bytes=limits.max_body_bytes)
    app.add_middleware(CountRequests, metrics=app.state.services.metrics)
    return app
