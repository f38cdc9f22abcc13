"""c2sp.org/tlog-tiles paths and entry bundles: one spelling per tile, read back exactly
as `tile_path` writes it; every other spelling refused with what is wrong."""

from __future__ import annotations

import pytest

from ledger.core.errors import InputError
from ledger.core.merkle.tiles import TILE_WIDTH, tile_path
from ledger.formats.tlog_tiles import (
    MAX_TILE_INDEX,
    TilePathError,
    TileRef,
    entry_bundle,
    parse_entry_bundle,
    parse_tile_path,
)


@pytest.mark.parametrize(
    ("level", "index", "width"),
    [(0, 0, 256), (0, 0, 1), (1, 5, 17), (2, 999, 255), (0, 1000, 256), (63, 1234067, 3)]
    + [(0, MAX_TILE_INDEX, 256)],
)
def test_paths_read_back(level: int, index: int, width: int) -> None:
    path = tile_path(level, index, width)
    assert parse_tile_path(path) == TileRef(level, index, width)
    entries = path.replace(f"tile/{level}/", "tile/entries/", 1)
    assert parse_tile_path(entries) == TileRef(None, index, width)


def test_the_spec_examples() -> None:
    assert parse_tile_path("tile/0/x001/x234/067") == TileRef(0, 1234067, TILE_WIDTH)
    assert parse_tile_path("tile/1/x001/234.p/17") == TileRef(1, 1234, 17)
    assert parse_tile_path("tile/entries/000.p/1").full is False


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("tile/0/1", "not a tlog-tiles path"),
        ("tile/0/0001", "not a tlog-tiles path"),
        ("tile/0/x000/001", "leading zero group"),
        ("tile/0/001/234", "not a tlog-tiles path"),  # only the last group lacks the x
        ("tile/00/000", "not a tlog-tiles path"),
        ("tile/64/000", "tile level 64 is above 63"),
        ("tile/-1/000", "not a tlog-tiles path"),
        ("tile/0/000.p/0", "width is 1 to 255"),
        ("tile/0/000.p/256", "width is 1 to 255"),
        ("tile/0/000.p/017", "width is 1 to 255"),
        ("tile/0/000.p/", "not a tlog-tiles path"),
        ("tile/0/000/", "not a tlog-tiles path"),
        ("tile/data/000", "not a tlog-tiles path"),
        ("tile/0/x072/x057/x594/x037/x927/936", "beyond a tree of 2**64"),
        ("tile/0/x001/x001/x001/x001/x001/x001/001", "not a tlog-tiles path"),
        ("tile/0/０００", "not a tlog-tiles path"),  # fullwidth digits are not digits here
        ("tile/0/000\n", "not a tlog-tiles path"),
    ],
)
def test_other_spellings_are_refused(path: str, words: str) -> None:
    with pytest.raises(TilePathError, match=words.replace("*", r"\*")):
        parse_tile_path(path)


def test_entry_bundles_round_trip_and_refuse_damage() -> None:
    entries = [b"", b"a", bytes(range(256)) * 64, b"\x00" * 0xFFFF]
    data = entry_bundle(entries)
    assert data[:2] == b"\x00\x00" and data[2:5] == b"\x00\x01a"
    assert parse_entry_bundle(data) == entries
    with pytest.raises(InputError, match="cut short"):
        parse_entry_bundle(data[:-1])
    with pytest.raises(InputError, match="a length is cut short"):
        parse_entry_bundle(b"\x00")
    with pytest.raises(InputError, match="at most 65535 bytes"):
        entry_bundle([b"\x00" * 0x10000])
    with pytest.raises(InputError, match="more than 256 entries"):
        parse_entry_bundle(entry_bundle([b"x"] * 257))
