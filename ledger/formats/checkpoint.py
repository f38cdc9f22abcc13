"""An anchored checkpoint, as bundles and packs carry it: the tree (size, root) and the
transaction and block that anchored it.

    {"tree_size": 5, "root": "0x...",
     "anchor": {"tx_hash": "0x...", "block_number": 4, "block_hash": "0x...",
                "block_timestamp": 1796146377}}

`checkpoint_json` is the one serialiser; `parse_checkpoint` the one reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.core.merkle import HASH_SIZE
from ledger.formats.fields import hex0x, parse_bytes, parse_fields, parse_int

MAX_TREE_SIZE = 2**64 - 1
"""Largest tree size (the contract's uint64)."""


@dataclass(frozen=True)
class AnchorRef:
    """Where a document says its checkpoint was anchored."""

    tx_hash: bytes
    block_number: int
    block_hash: bytes
    block_timestamp: int

    def as_json(self) -> dict[str, Any]:
        """The `anchor` object."""
        return {
            "tx_hash": hex0x(self.tx_hash),
            "block_number": self.block_number,
            "block_hash": hex0x(self.block_hash),
            "block_timestamp": self.block_timestamp,
        }


@dataclass(frozen=True)
class AnchoredCheckpoint:
    """A tree size and root, and where they were anchored."""

    tree_size: int
    root: bytes
    anchor: AnchorRef

    def as_json(self) -> dict[str, Any]:
        """The `checkpoint` object (the one serialiser of this shape)."""
        return {
            "tree_size": self.tree_size,
            "root": hex0x(self.root),
            "anchor": self.anchor.as_json(),
        }


def parse_anchor(obj: Any, where: str) -> AnchorRef:
    """The `anchor` object of a checkpoint."""
    anchor = parse_fields(obj, where, ("tx_hash", "block_number", "block_hash", "block_timestamp"))
    return AnchorRef(
        tx_hash=parse_bytes(anchor["tx_hash"], f"{where}.tx_hash", HASH_SIZE),
        block_number=parse_int(anchor["block_number"], f"{where}.block_number", 0, 2**64 - 1),
        block_hash=parse_bytes(anchor["block_hash"], f"{where}.block_hash", HASH_SIZE),
        block_timestamp=parse_int(
            anchor["block_timestamp"], f"{where}.block_timestamp", 0, 2**64 - 1
        ),
    )


def parse_checkpoint(obj: Any, where: str = "checkpoint") -> AnchoredCheckpoint:
    """The `checkpoint` object of a bundle or pack; FormatError names the bad field."""
    checkpoint = parse_fields(obj, where, ("tree_size", "root", "anchor"))
    return AnchoredCheckpoint(
        tree_size=parse_int(checkpoint["tree_size"], f"{where}.tree_size", 1, MAX_TREE_SIZE),
        root=parse_bytes(checkpoint["root"], f"{where}.root", HASH_SIZE),
        anchor=parse_anchor(checkpoint["anchor"], f"{where}.anchor"),
    )
