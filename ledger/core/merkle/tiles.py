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

from ledger.core.merkle import HASH_SIZE, fold_nodes, range_nodes, root_hash
from ledger.core.merkle.hashing import hash_pairs

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


class Tile:
    """The hashes of one tile and of every complete subtree inside it.

    `levels[r]` holds the hashes of height r within the tile (level 0: the tile's own
    hashes), so any node is a lookup once the tile is built (at most 255 hashings).
    """

    __slots__ = ("levels", "width")

    def __init__(self, data: bytes) -> None:
        if len(data) % HASH_SIZE or len(data) > TILE_WIDTH * HASH_SIZE:
            raise ValueError(
                f"a tile holds up to {TILE_WIDTH} hashes of"
                f" {HASH_SIZE} bytes, got {len(data)} bytes"
            )
        level = [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
        self.width = len(level)
        self.levels = [level]
        while len(level) > 1:
            level = hash_pairs(level)
            self.levels.append(level)

    def node(self, start: int, end: int) -> bytes:
        """The root of the complete subtree over the tile's hashes [start, end)."""
        height = (end - start).bit_length() - 1
        if end > self.width or end - start != 1 << height or start % (1 << height):
            raise ValueError(
                f"[{start}, {end}) is not a complete subtree of a tile of width {self.width}"
            )
        return self.levels[height][start >> height]

    @property
    def root(self) -> bytes:
        """The root of a full tile: the node one tile level up."""
        return self.node(0, TILE_WIDTH)


def range_keys(start: int, end: int) -> set[TileKey]:
    """The tiles that `range_hash(start, end, ...)` reads."""
    return {node_location(height, index)[0] for height, index in range_nodes(start, end)}


def range_hash(start: int, end: int, read_tile: Callable[[TileKey], Tile]) -> bytes:
    """MTH of leaves [start, end), as in a proof, reading tiles through `read_tile`."""
    hashes = []
    for height, index in range_nodes(start, end):
        key, first, last = node_location(height, index)
        hashes.append(read_tile(key).node(first, last))
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
                values.append(
                    root_hash([data[i : i + HASH_SIZE] for i in range(0, full, HASH_SIZE)])
                )
            rest = buf[completed * full :]
            self.partial[level] = rest
            if rest:
                written[(level, (new >> shift) // TILE_WIDTH)] = bytes(rest)
            level += 1
        self.size = new
        return written

    def root(self) -> bytes:
        """The root of the tree of `self.size` leaves; every node it needs is on the edge."""
        tiles = {key: Tile(bytes(self.partial[key[0]])) for key in edge_keys(self.size)}
        return range_hash(0, self.size, tiles.__getitem__) if self.size else root_hash([])
