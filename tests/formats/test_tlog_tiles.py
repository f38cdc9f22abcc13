"""c2sp.org/tlog-tiles paths and entry bundles: one spelling per tile, read back exactly
as `tile_path` writes it; every other spelling refused with what is wrong."""

from __future__ import annotations

import pytest

from ledger.core.errors import InputError
from ledger.core.merkle import hash_leaf
from ledger.core.merkle.tiles import TILE_WIDTH, tile_path
from ledger.formats.tlog_tiles import (
    ERASED_ENTRY_PREFIX,
    MAX_TILE_INDEX,
    ErasedEntry,
    TilePathError,
    TileRef,
    check_entry_bundle,
    entry_bundle,
    erased_entry,
    parse_entry_bundle,
    parse_erased_entry,
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


def test_erased_entries_in_a_bundle_name_their_leaf() -> None:
    """An erased entry's place holds a marker naming the leaf hash the level 0 tile
    holds; records still hash to theirs; anything else fails at its position."""
    records = [b'{"body":{"n":%d}}' % i for i in range(3)]
    tile = b"".join(hash_leaf(record) for record in records)
    marker = erased_entry(hash_leaf(records[1]), "2026-12-02T00:41:21.354Z", b"\x07" * 32)
    assert marker.startswith(ERASED_ENTRY_PREFIX)
    assert parse_erased_entry(records[1]) is None
    found = parse_erased_entry(marker)
    assert found == ErasedEntry(hash_leaf(records[1]), "2026-12-02T00:41:21.354Z", b"\x07" * 32)
    assert check_entry_bundle([records[0], marker, records[2]], tile) == [found]
    assert check_entry_bundle(records, tile) == []
    other = erased_entry(hash_leaf(records[2]), "2026-12-02T00:41:21.354Z", b"\x07" * 32)
    for bad, words in (
        ([records[0], other, records[2]], "entry 1 does not hash to leaf .* another leaf"),
        ([records[0], b"", records[2]], "entry 1 does not hash to leaf"),
        ([records[0], marker.replace(b"0x07", b"0X07"), records[2]], "entry 1 does not hash"),
        (records[:2], "2 entries, but the hash tile holds 3 leaves"),
    ):
        with pytest.raises(InputError, match=words):
            check_entry_bundle(bad, tile)
