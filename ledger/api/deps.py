"""Dependencies of the routes: the services of the running log, and who is calling.

Handlers declare what they need with these `Annotated` aliases: `StoreDep`,
`ServicesDep`, and one alias per permission (`IngestKey`, `AuditorKey`, `ReaderKey`,
`AdminKey`). An admin key passes every check.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger.api.errors import ForbiddenError, RateLimitedError, UnauthorizedError
from ledger.api.limits import RateLimiter
from ledger.service.metrics import Metrics
from ledger.service.signer import LogSigner
from ledger.store.anchors import AnchorRepository
from ledger.store.keys import ApiKey, KeyRepository, Role
from ledger.store.repository import Store

if TYPE_CHECKING:
    from ledger.service.ingestor import Ingestor


@dataclass
class Services:
    """What the routes work with; built once by `create_app`."""

    store: Store
    keys: KeyRepository
    anchors: AnchorRepository
    signer: LogSigner
    anchor_now: Callable[[], Any] | None = None
    """Seal and anchor the latest checkpoint, waiting for confirmation (None: no chain)."""
    metrics: Metrics = field(default_factory=Metrics)
    checkpoint_signatures: dict[int, str] = field(default_factory=dict)
    limiter: RateLimiter = field(default_factory=RateLimiter.unlimited)
    """Requests per key (ledger.api.limits)."""
    public_rpc_url: str | None = None
    """A JSON-RPC endpoint of the chain that GET /v1/log suggests to verifiers."""
    explorer_url: str | None = None
    """A block explorer that GET /v1/log names."""
    witnesses: tuple[str, ...] = ()
    """The configured witnesses' cosigner vkeys (GET /v1/log, /v1/status)."""
    witness_quorum: int = 0
    """How many of them must cosign a checkpoint for it to count as published."""
    ingestor: Ingestor = field(init=False)

    def __post_init__(self) -> None:
        from ledger.service.ingestor import Ingestor  # imports Metrics from here

        self.ingestor = Ingestor(self.store, self.signer, self.metrics)


def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


def get_store(request: Request) -> Store:
    """The log's store."""
    return get_services(request).store


ServicesDep = Annotated[Services, Depends(get_services)]
StoreDep = Annotated[Store, Depends(get_store)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise UnauthorizedError("this endpoint needs an API key: send Authorization: Bearer <key>")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise UnauthorizedError("the Authorization header must be 'Bearer <key>'")
    return secret.strip()


API_KEY_SCHEME = HTTPBearer(
    scheme_name="apiKey",
    description="An API key from `mledger keys create`: `Authorization: Bearer <key>`.",
    auto_error=False,  # our own checks answer with precise problem+json
)
"""Declares the bearer scheme in the OpenAPI document, on every route that needs a key."""

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(API_KEY_SCHEME)]


def require(*roles: Role) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency admitting a live key with one of `roles` (or admin).

    Runs on the event loop: the lookup is one indexed read, cheaper than a thread hop.
    """
    allowed = set(roles) | {Role.ADMIN}
    names = " or ".join(dict.fromkeys(role.value for role in (*roles, Role.ADMIN)))

    async def check(request: Request, _credentials: Credentials) -> ApiKey:
        services = get_services(request)
        key = services.keys.authenticate(_bearer(request))
        if key is None:
            raise UnauthorizedError("unknown or revoked API key")
        wait = services.limiter.take(key.id)
        if wait is not None:
            raise RateLimitedError(
                f"key {key.id} is over its rate limit of {services.limiter.rate:g} requests/s",
                retry_after=max(1, math.ceil(wait)),
            )
        if key.role not in allowed:
            raise ForbiddenError(
                f"this {key.role.value} key may not {request.method}"
                f" {request.url.path}: needs {names}"
            )
        return key

    return check


IngestKey = Annotated[ApiKey, Depends(require(Role.INGEST))]
AuditorKey = Annotated[ApiKey, Depends(require(Role.AUDITOR))]
ReaderKey = Annotated[ApiKey, Depends(require(Role.AUDITOR, Role.LICENSEE))]
"""Auditors, and licensees for their own entries (the route checks ownership)."""
AdminKey = Annotated[ApiKey, Depends(require(Role.ADMIN))]
