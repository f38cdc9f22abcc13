"""Tile math for the C2SP tlog-tiles layout: pure, no I/O.

A tile of level L holds up to 256 consecutive hashes of tree nodes of height 8*L:
level 0 holds leaf hashes, level 1 the roots of complete 256-leaf subtrees, and so on.
Tile N of level L covers node indices [256*N, 256*N + 256) of that height. A tile
with fewer than 256 hashes is partial; it sits at the right edge and is rewritten as
the log grows. Hashes inside a tile never change once written, so a wider version of a
tile answers every question a narrower one did.

Any node of height h = 8*L + r (0 <= r < 8) is the Merkle root of 2**r consecutive
hashes of one level-L tile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ledger.merkle import HASH_SIZE, fold_nodes, range_nodes, root_hash

TILE_HEIGHT = 8
"""Levels of the tree folded into one tile (tlog-tiles uses 8)."""

TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes in a full tile."""

TileKey = tuple[int, int]
"""(level, index) of a tile."""


def node_location(height: int, index: int) -> tuple[TileKey, int, int]:
    """Where node (height, index) lives: its tile, and the slice [start, end) of the
    tile's hashes whose Merkle root it is."""
    level, rest = divmod(height, TILE_HEIGHT)
    first = index << rest
    tile_index, start = divmod(first, TILE_WIDTH)
    return (level, tile_index), start, start + (1 << rest)


def node_hash(tile_hashes: bytes, start: int, end: int) -> bytes:
    """The root of the complete subtree over tile hashes [start, end) (a power of two)."""
    if end * HASH_SIZE > len(tile_hashes):
        raise ValueError(f"tile holds {len(tile_hashes) // HASH_SIZE} hashes, need {end}")
    if end - start == 1:
        return tile_hashes[start * HASH_SIZE : end * HASH_SIZE]
    return root_hash(
        [tile_hashes[i : i + HASH_SIZE] for i in range(start * HASH_SIZE, end * HASH_SIZE, HASH_SIZE)]
    )


def range_hash(start: int, end: int, read_tile: Callable[[TileKey], bytes]) -> bytes:
    """MTH of leaves [start, end), as in a proof, reading tiles through `read_tile`."""
    hashes = []
    for height, index in range_nodes(start, end):
        key, first, last = node_location(height, index)
        hashes.append(node_hash(read_tile(key), first, last))
    return fold_nodes(hashes)


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """The tlog-tiles path of a tile, e.g. tile/0/x001/234 or tile/1/005.p/17."""
    digits = f"{index:03d}"
    if len(digits) % 3:
        digits = "0" * (3 - len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    path = "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{path}{suffix}"


def edge_keys(size: int) -> list[TileKey]:
    """The partial (right-edge) tiles of a tree of `size` leaves, lowest level first."""
    keys = []
    level, count = 0, size
    while count:
        if count % TILE_WIDTH:
            keys.append((level, count // TILE_WIDTH))
        count //= TILE_WIDTH
        level += 1
    return keys


@dataclass
class TileEdge:
    """The right edge of a tiled tree: the partial tile of each level.

    `append` adds leaf hashes and returns every tile it changed; memory stays
    O(levels * 256 + batch), whatever the size of the log.
    """

    size: int
    partial: dict[int, bytearray]

    @classmethod
    def load(cls, size: int, tiles: Mapping[TileKey, bytes]) -> TileEdge:
        """Build the edge of a tree of `size` from its partial tiles (see edge_keys)."""
        partial: dict[int, bytearray] = {}
        for level, index in edge_keys(size):
            width = (size >> (TILE_HEIGHT * level)) % TILE_WIDTH
            data = tiles.get((level, index))
            if data is None or len(data) < width * HASH_SIZE:
                raise ValueError(f"tile {tile_path(level, index)} is missing or short")
            partial[level] = bytearray(data[: width * HASH_SIZE])
        return cls(size, partial)

    def append(self, leaf_hashes: Iterable[bytes]) -> dict[TileKey, bytes]:
        """Append leaves; return {tile key: hashes} for every tile written."""
        written: dict[TileKey, bytes] = {}
        values = list(leaf_hashes)
        old, new = self.size, self.size + len(values)
        full = TILE_WIDTH * HASH_SIZE
        level = 0
        while values:
            shift = TILE_HEIGHT * level
            first_tile = (old >> shift) // TILE_WIDTH
            buf = self.partial.get(level, bytearray()) + b"".join(values)
            completed = len(buf) // full
            values = []  # the roots of the tiles this level completes go one level up
            for t in range(completed):
                data = bytes(buf[t * full : (t + 1) * full])
                written[(level, first_tile + t)] = data
                values.append(node_hash(data, 0, TILE_WIDTH))
            rest = buf[completed * full :]
            self.partial[level] = rest
            if rest:
                written[(level, (new >> shift) // TILE_WIDTH)] = bytes(rest)
            level += 1
        self.size = new
        return written

    def root(self) -> bytes:
        """The root of the tree of `self.size` leaves; every node it needs is on the edge."""
        tiles = {key: bytes(self.partial.get(key[0], b"")) for key in edge_keys(self.size)}
        return range_hash(0, self.size, lambda key: tiles[key]) if self.size else root_hash([])
