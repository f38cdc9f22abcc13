"""The log as the transparency ecosystem reads it: c2sp.org/tlog-checkpoint and
c2sp.org/tlog-tiles (docs/c2sp.md).

- `GET /checkpoint` (public): the latest checkpoint as a signed note under the log's
  note key, with the witnesses' cosignatures kept so far, `text/plain; charset=utf-8`.
- `GET /tile/<L>/<N>[.p/<W>]` (public): hash tiles, straight from the stored tiles.
- `GET /tile/entries/<N>[.p/<W>]` (auditor role, since records name accounts): entry
  bundles, the canonical records of 256 leaves (an erased entry's erasure marker in its
  place: `ledger.formats.tlog_tiles`).

A tile is served only once every hash of it is sealed (the tiles, the runs and the
checkpoint are written in one transaction), so nothing beyond the latest checkpoint is
ever served: such tiles are 404. A full tile never changes, so it is served with
`Cache-Control: public, max-age=31536000, immutable` and a CDN may keep it; a partial
tile is replaced by a wider one as the log grows, so it is cached briefly. Entry bundles
are never public, and change when one of their entries is erased (docs/privacy.md): they
are `private, no-store`, so no cache keeps a record an erasure destroys.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ledger.api.deps import AuditorKey, ServicesDep, get_services
from ledger.api.errors import UnavailableError
from ledger.api.limits import MAX_TREE_SIZE
from ledger.core.merkle import HASH_SIZE
from ledger.core.merkle.tiles import TILE_WIDTH
from ledger.errors import NotFoundError
from ledger.formats.tlog_tiles import TilePathError, TileRef, entry_bundle, parse_tile_path
from ledger.service.witness import cosigned_note
from ledger.store import tlog

router = APIRouter(tags=["c2sp"])

TILE_TYPE = "application/octet-stream"
CHECKPOINT_TYPE = "text/plain; charset=utf-8"
IMMUTABLE = "public, max-age=31536000, immutable"
PARTIAL = "public, max-age=60"
BUNDLE_CACHE = "private, no-store"
"""Entry bundles: records an erasure may destroy are kept in no cache."""
CHECKPOINT_CACHE = "no-cache"


@router.get(
    "/checkpoint",
    response_class=Response,
    responses={200: {"content": {CHECKPOINT_TYPE: {}}, "description": "A signed note."}},
)
def read_checkpoint_note(services: ServicesDep) -> Response:
    """The latest checkpoint as a c2sp.org/tlog-checkpoint signed note (origin, tree size, \
base64 root, the note key's signature, then the witnesses' cosignatures collected so far): \
verify it with `note_vkey` and `witnesses` of GET /v1/log."""
    latest = tlog.latest(services.store)
    if latest is None:
        raise NotFoundError("the log has no checkpoint yet: nothing was sealed")
    note = latest.note
    if note is None:  # sealed without the note key: sign it now, as the sequencer would have
        note = services.signer.checkpoint_note(latest.tree_size, latest.root)
        if note is None:
            raise UnavailableError("this server has no note key: it cannot sign checkpoint notes")
        tlog.keep_note(services.store, latest.tree_size, latest.root, note)
    cosigned = cosigned_note(services.store, note.encode())
    return Response(
        cosigned, media_type=CHECKPOINT_TYPE, headers={"Cache-Control": CHECKPOINT_CACHE}
    )


# The tile routes are C2SP's paths, not this API's: they stay out of the OpenAPI document
# (docs/c2sp.md documents them; c2sp.org/tlog-tiles defines them).
@router.get("/tile/entries/{path:path}", response_class=Response, include_in_schema=False)
def read_entry_bundle(services: ServicesDep, _key: AuditorKey, path: str) -> Response:
    """An entry bundle (c2sp.org/tlog-tiles): the canonical records of leaves
    [256 N, 256 N + W), each after its length as a big-endian uint16, an erased entry's
    erasure marker in its place. Auditors only."""
    ref = _parse(f"tile/entries/{path}")
    first = ref.index * TILE_WIDTH
    # A bundle past SQL's BIGINT holds no sealed leaf (asking the driver would overflow).
    records = (
        tlog.records(services.store, first, ref.width) if first + ref.width <= MAX_TREE_SIZE else []
    )
    if len(records) < ref.width:
        raise NotFoundError(
            f"entry bundle {ref.index} of width {ref.width} is beyond the log's sealed leaves"
        )
    return Response(
        entry_bundle(records),
        media_type=TILE_TYPE,
        headers={"Cache-Control": BUNDLE_CACHE},
    )


@router.get("/tile/{path:path}", response_class=Response, include_in_schema=False)
async def read_tile(request: Request, path: str) -> Response:
    """A hash tile (c2sp.org/tlog-tiles): up to 256 hashes of tree level 8 L, 32 bytes
    each; `.p/W` names the first W of a tile the log has not filled yet.

    Runs on the event loop, the store taken straight from the app (a dependency would be
    a thread hop): one primary-key read, cheaper than the hop (as the key check in
    ledger.api.deps)."""
    ref = _parse(f"tile/{path}")
    assert ref.level is not None  # entry bundles take the route above
    data = tlog.tile(get_services(request).store, ref.level, ref.index)
    size = ref.width * HASH_SIZE
    if data is None or len(data) < size:
        raise NotFoundError(
            f"tile {ref.level}/{ref.index} of width {ref.width} is beyond the log's sealed tree"
        )
    return Response(
        data[:size],
        media_type=TILE_TYPE,
        headers={"Cache-Control": IMMUTABLE if ref.full else PARTIAL},
    )


def _parse(path: str) -> TileRef:
    try:
        return parse_tile_path(path)
    except TilePathError as error:
        raise NotFoundError(str(error)) from None
