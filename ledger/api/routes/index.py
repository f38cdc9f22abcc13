"""The verifiable index: completeness proofs of one key (auditors; a licensee key only
for its own `licensee:` key and the `licence:` keys of its own licences)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from ledger.api.deps import ReaderKey, ServicesDep
from ledger.api.routes.evidence import DiscloseParam
from ledger.errors import NotFoundError
from ledger.service.completeness import Window, build_completeness
from ledger.service.evidence import parse_disclosed
from ledger.store.index import IndexStore
from ledger.store.keys import ApiKey, Role

router = APIRouter(prefix="/v1/index", tags=["index"])


def check_key_owner(services: Any, api_key: ApiKey, kind: str, value: str) -> None:
    """A licensee key sees only its own licensee key and its own licences' keys. Any
    other key, present or not, is answered as a missing one: the same 404 and words."""
    if api_key.role is not Role.LICENSEE:
        return
    if kind == "licensee" and value == api_key.licensee:
        return
    if kind == "licence":
        store = services.store
        with store.read() as conn:
            holders = IndexStore(store).licensees_of(conn, value)
        if holders == {api_key.licensee}:
            return
    raise NotFoundError(f"no index key {kind}:{value} for this API key")


@router.get("/{kind}/{value:path}")
async def read_completeness(
    kind: str,
    value: str,
    services: ServicesDep,
    api_key: ReaderKey,
    tree_size: Annotated[
        int | None, Query(ge=1, description="An anchored size (default: the newest).")
    ] = None,
    from_size: Annotated[int | None, Query(ge=0, description="Window start A.")] = None,
    to_size: Annotated[int | None, Query(ge=1, description="Window end B (exclusive).")] = None,
    from_time: Annotated[
        str | None, Query(alias="from", description="Window start as a chain time.")
    ] = None,
    to_time: Annotated[
        str | None, Query(alias="to", description="Window end as a chain time.")
    ] = None,
    disclose: DiscloseParam = None,
) -> dict[str, Any]:
    """Completeness proof of every entry of KIND:VALUE up to an anchored size (none: absence)."""
    disclosed = parse_disclosed(disclose)
    await run_in_threadpool(check_key_owner, services, api_key, kind, value)
    window = Window(from_size, to_size, from_time, to_time)
    return await run_in_threadpool(
        build_completeness,
        services.store,
        services.anchors,
        f"{kind}:{value}",
        tree_size,
        window,
        disclosed,
    )
