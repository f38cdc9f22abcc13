"""Reading the public documents strictly: what every format module shares.

`FormatError` says what is wrong and where (the path of the field); the verifiers turn
it into the failed check of the document they read (``bundle``, ``pack``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from ledger.core.errors import InputError
from ledger.formats.strict_json import StrictJsonError, load_strict


class FormatError(InputError):
    """A document that does not follow its format; the message names the field."""


def hex0x(data: bytes) -> str:
    """Bytes as 0x and lowercase hex."""
    return "0x" + data.hex()


def load_document(data: bytes | str, limit: int, what: str) -> Any:
    """Strict JSON (`ledger.formats.strict_json`), at most `limit` bytes; FormatError
    otherwise."""
    try:
        return load_strict(data, limit, what)
    except StrictJsonError as error:
        raise FormatError(str(error)) from None


def parse_fields(
    obj: Any, where: str, names: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    """`obj` as a JSON object with exactly the fields `names`, and perhaps some of
    `optional`; FormatError otherwise."""
    if not isinstance(obj, dict):
        raise FormatError(f"{where} must be a JSON object, got {type(obj).__name__}")
    missing = [name for name in names if name not in obj]
    if missing:
        raise FormatError(f"{where} lacks {', '.join(repr(m) for m in missing)}")
    unknown = sorted(set(obj) - set(names) - set(optional))
    if unknown:
        raise FormatError(f"{where} has unknown field {unknown[0]!r}")
    return obj


def parse_int(value: Any, where: str, low: int, high: int) -> int:
    """An integer (not a boolean) from `low` to `high`; FormatError otherwise."""
    if type(value) is not int:
        raise FormatError(f"{where} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise FormatError(f"{where} must be between {low} and {high}, got {value}")
    return value


_LOWER_HEX = re.compile(r"0x[0-9a-f]*")


def parse_bytes(value: Any, where: str, size: int) -> bytes:
    """`size` bytes written as 0x and lowercase hex; FormatError otherwise."""
    digits = 2 * size
    if not isinstance(value, str) or len(value) != 2 + digits or not _LOWER_HEX.fullmatch(value):
        raise FormatError(
            f"{where} must be 0x and {digits} lowercase hex digits, got {value!r:.80}"
        )
    return bytes.fromhex(value[2:])


@lru_cache(maxsize=4)
def _hash_run(size: int) -> re.Pattern[str]:
    """One or more `size`-byte values as 0x and lowercase hex, separated by ``|``."""
    one = f"0x[0-9a-f]{{{2 * size}}}"
    return re.compile(f"{one}(?:\\|{one})*")


def parse_hash_list(values: Sequence[Any], where: str, size: int) -> tuple[bytes, ...]:
    """Each value of `values` as `parse_bytes(value, f"{where}[{i}]", size)` reads it.
    Checked all at once (one join, one match: a proof's 20 nodes, a thousand times in a
    completeness document), and node by node only when one is bad, to name it."""
    if values:
        try:
            joined = "|".join(values)
        except TypeError:  # a value that is not a string
            joined = ""
        # n values of 2 + 2 * size characters and n - 1 separators: no value holds a `|`,
        # so each value is one of the run's matches.
        if len(joined) == len(values) * (3 + 2 * size) - 1 and _hash_run(size).fullmatch(joined):
            data = bytes.fromhex(joined.replace("|0x", "")[2:])
            return tuple(data[i : i + size] for i in range(0, len(data), size))
    return tuple(parse_bytes(value, f"{where}[{i}]", size) for i, value in enumerate(values))


MAX_PRODUCER_CHARS = 200
"""The longest `producer` a reader accepts."""


def parse_producer(obj: dict[str, Any]) -> str | None:
    """The optional `producer` field of a bundle or pack `obj` (`mledger X.Y.Z`: which
    software wrote it, ledger.formats.producer): a string of at most MAX_PRODUCER_CHARS
    characters, or None when absent. A note for people: no check depends on it."""
    if "producer" not in obj:
        return None
    value = obj["producer"]
    if not isinstance(value, str) or len(value) > MAX_PRODUCER_CHARS:
        raise FormatError(
            "producer must be a string of at most"
            f" {MAX_PRODUCER_CHARS} characters, got {value!r:.80}"
        )
    return value
