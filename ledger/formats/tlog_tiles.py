"""c2sp.org/tlog-tiles: the paths of tiles and the entry bundle format. Pure, no I/O.

Paths (relative to the log's prefix)::

    tile/<L>/<N>[.p/<W>]        hash tile: level L (0..63), index N, partial width W
    tile/entries/<N>[.p/<W>]    entry bundle: the entries of leaves [256*N, 256*N + W)

N is written in groups of three decimal digits, every group but the last prefixed by
`x` (1234067 -> x001/x234/067); W is 1..255 (a full tile has no `.p/` part). Anything
else is not a tile path: `parse_tile_path` accepts exactly the spelling
`ledger.core.merkle.tiles.tile_path` writes, so every tile has one URL (what lets a
cache serve it).

An entry bundle is the tile's entries in leaf order, each a big-endian uint16 length
then the entry's bytes. model-ledger's entries are the records' RFC 8785 bytes (at most
16 KiB, `ledger.core.records.MAX_RECORD_BYTES`), so an entry's RFC 9162 leaf hash is
SHA-256(0x00 || entry): a client hashes what it fetched and checks it against the level
0 hash tile.

An erased entry (docs/privacy.md) has no bytes left that hash to its leaf: its place
in a bundle holds an erasure marker instead, which no record can be (a record's
canonical form starts with ``{"body":``)::

    {"erased":{"at":"<record time>","by":"0x<64 hex>","leaf_hash":"0x<64 hex>"}}

naming the leaf hash the level 0 hash tile holds at that place (unchanged: every
proof still holds), when it was erased and the digest record that logged it.
`check_entry_bundle` checks a bundle against its level 0 tile that way. Bundles can
therefore change after they are first served, and are served ``no-store``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledger.core.errors import InputError
from ledger.core.merkle import HASH_SIZE, hash_leaf
from ledger.core.merkle.tiles import TILE_WIDTH
from ledger.core.records import TS_PATTERN

MAX_LEVEL = 63
"""Highest tile level the spec allows."""

MAX_TILE_INDEX = (1 << 64) // TILE_WIDTH - 1
"""Highest tile index of a tree of at most 2**64 leaves."""

ENTRIES = "entries"
"""The level segment of entry bundles."""

_PATH = re.compile(
    r"tile/(0|[1-9][0-9]?|entries)/((?:x[0-9]{3}/){0,5}[0-9]{3})(?:\.p/([0-9]{1,3}))?"
)


class TilePathError(InputError):
    """Not a c2sp.org/tlog-tiles tile path."""


@dataclass(frozen=True)
class TileRef:
    """A tile named by a path: `level` None for an entry bundle; `width` 256 when full."""

    level: int | None
    index: int
    width: int

    @property
    def full(self) -> bool:
        """Whether the path names a full tile (no `.p/<W>`)."""
        return self.width == TILE_WIDTH


def parse_tile_path(path: str) -> TileRef:
    """The tile a path names (`tile/...`, no leading slash); TilePathError for any other
    spelling, naming what is wrong."""
    shown = path[:80]
    match = _PATH.fullmatch(path)
    if match is None:
        raise TilePathError(
            f"not a tlog-tiles path tile/<level>/<index>[.p/<width>] or"
            f" tile/entries/<index>[.p/<width>]: {shown!r}"
        )
    level_text, index_text, width_text = match.groups()
    level = None if level_text == ENTRIES else int(level_text)
    if level is not None and level > MAX_LEVEL:
        raise TilePathError(f"tile level {level} is above {MAX_LEVEL}")
    groups = index_text.split("/")
    if len(groups) > 1 and groups[0] == "x000":
        raise TilePathError(f"tile index with a leading zero group: {shown!r}")
    index = int("".join(group.removeprefix("x") for group in groups))
    if index > MAX_TILE_INDEX:
        raise TilePathError(f"tile index {index} is beyond a tree of 2**64 leaves")
    width = TILE_WIDTH
    if width_text is not None:
        width = int(width_text)
        if not 1 <= width < TILE_WIDTH or width_text != str(width):
            raise TilePathError(
                f"a partial tile's width is 1 to {TILE_WIDTH - 1}, without leading zeroes:"
                f" {width_text!r}"
            )
    return TileRef(level, index, width)


def entry_bundle(entries: Iterable[bytes]) -> bytes:
    """The entry bundle of `entries`: each as a big-endian uint16 length, then its bytes."""
    out = bytearray()
    for entry in entries:
        if len(entry) > 0xFFFF:
            raise InputError(f"an entry of a bundle is at most 65535 bytes, got {len(entry)}")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    """The entries of an entry bundle; InputError when it is truncated or holds more than
    one tile's worth."""
    found: list[bytes] = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise InputError("entry bundle: a length is cut short")
        size = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + size > len(data):
            raise InputError(f"entry bundle: entry {len(found)} is cut short")
        found.append(data[at + 2 : at + 2 + size])
        at += 2 + size
        if len(found) > TILE_WIDTH:
            raise InputError(f"entry bundle: more than {TILE_WIDTH} entries")
    return found


ERASED_ENTRY_PREFIX = b'{"erased":'
"""How an erased entry's place in a bundle starts."""

_ERASED_ENTRY = re.compile(
    rb'\{"erased":\{"at":"(' + TS_PATTERN[1:-1].encode() + rb')","by":"0x([0-9a-f]{64})",'
    rb'"leaf_hash":"0x([0-9a-f]{64})"\}\}'
)


@dataclass(frozen=True)
class ErasedEntry:
    """An erased entry as a bundle holds it: its leaf hash, when it was erased and the
    leaf hash of the digest record that logged the erasure."""

    leaf_hash: bytes
    erased_at: str
    erased_by: bytes


def erased_entry(leaf_hash: bytes, erased_at: str, erased_by: bytes) -> bytes:
    """The bytes that stand for an erased entry in a bundle."""
    return b'{"erased":{"at":"%s","by":"0x%s","leaf_hash":"0x%s"}}' % (
        erased_at.encode(),
        erased_by.hex().encode(),
        leaf_hash.hex().encode(),
    )


def parse_erased_entry(entry: bytes) -> ErasedEntry | None:
    """The erasure marker `entry` is (None: it is not one, so it is a record)."""
    match = _ERASED_ENTRY.fullmatch(entry)
    if match is None:
        return None
    at, by, leaf = match.groups()
    return ErasedEntry(bytes.fromhex(leaf.decode()), at.decode(), bytes.fromhex(by.decode()))


def check_entry_bundle(entries: Sequence[bytes], tile: bytes) -> list[ErasedEntry]:
    """Check a bundle's entries against the level 0 hash tile of the same leaves: each
    entry hashes to its leaf (SHA-256(0x00 || entry)), or is an erasure marker naming
    that leaf's hash. The erased entries, in order; InputError at the first that fails."""
    if len(tile) != len(entries) * HASH_SIZE:
        raise InputError(
            f"entry bundle: {len(entries)} entries, but the hash tile holds"
            f" {len(tile) // HASH_SIZE} leaves"
        )
    erased: list[ErasedEntry] = []
    for position, entry in enumerate(entries):
        leaf = tile[position * HASH_SIZE : (position + 1) * HASH_SIZE]
        if hash_leaf(entry) == leaf:
            continue
        marker = parse_erased_entry(entry) if entry.startswith(ERASED_ENTRY_PREFIX) else None
        if marker is None or marker.leaf_hash != leaf:
            raise InputError(
                f"entry bundle: entry {position} does not hash to leaf 0x{leaf.hex()}"
                + ("" if marker is None else " (its erasure marker names another leaf)")
            )
        erased.append(marker)
    return erased
