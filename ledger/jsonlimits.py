"""Limits on untrusted JSON, checked before it is parsed: size, nesting depth, and the
process's recursion limit.

Why: a JSON parser descends once per nested array or object. Python's own parser (in C)
guards each level with the interpreter's recursion limit, which py_ecc (imported by
web3 and eth-account) raises to 100,000 at import time. With that limit, a body of a
few hundred kilobytes of ``[`` overflows the C stack and the process dies with SIGSEGV
instead of raising RecursionError. So:

- every process that parses untrusted input calls `restore_recursion_limit` once at
  start (the CLI's entry point, the API's app factory, API and ingest worker
  processes): it imports py_ecc first, if installed, so that no later import can raise
  the limit again, then sets Python's default;
- every JSON document from outside is checked with `check_json` (or read with
  `load_json`) before a parser sees it: at most a given size, at most `MAX_JSON_DEPTH`
  levels deep. The API checks every request body this way, before authentication
  (`ledger.api.limits.LimitRequestNesting`).

`nesting_exceeds` (`ledger.formats.strict_json`, shared with the verifiers) is the depth
check itself: linear, made of C-speed steps, and it stops early on a deep prefix.
Brackets inside strings do not count; escapes inside strings (an escaped quote, an
escaped backslash) are honoured.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from ledger.core.errors import InputError
from ledger.formats.strict_json import (
    LARGEST_DEPTH_CHECKED,
    MAX_DEPTH,
    PREFIX_BYTES,
    nesting_exceeds,
)

SANE_RECURSION_LIMIT = 1000
"""The recursion limit every process that reads untrusted input runs with: Python's
default, at which a too-deep document raises RecursionError long before the C stack
(8 MiB on Linux) runs out."""

MAX_JSON_DEPTH = MAX_DEPTH
"""Deepest nesting of arrays and objects accepted in any JSON document from outside.

The deepest legitimate documents are 6 levels deep: a batch body
``{"entries": [{"body": {"parents": [{...}]}}]}`` and an evidence bundle. 32 leaves room
for new record and bundle versions, is the limit the verifiers (Python and browser)
already apply to bundles, and is far below anything that strains a parser: Python's
parser needs about one C stack frame per level, pydantic's refuses documents deeper
than 200."""


class JsonInputError(InputError):
    """A JSON document from outside that is refused: over a limit, or not valid JSON.
    The message says which, naming the document (`what`)."""


def restore_recursion_limit() -> int:
    """Set the recursion limit to SANE_RECURSION_LIMIT, after importing py_ecc if it is
    installed (its import raises the limit, once); return the limit now in force."""
    if "py_ecc" not in sys.modules and importlib.util.find_spec("py_ecc") is not None:
        importlib.import_module("py_ecc")
    sys.setrecursionlimit(SANE_RECURSION_LIMIT)
    return sys.getrecursionlimit()


def check_json(
    data: bytes, *, max_bytes: int | None, max_depth: int = MAX_JSON_DEPTH, what: str = "document"
) -> None:
    """Refuse `data` before it is parsed: JsonInputError if it is longer than `max_bytes`
    (None: the caller bounded it already), holds a NUL byte (then it is not UTF-8 JSON:
    UTF-16 and UTF-32 text, which Python's parser also reads, would hide its brackets
    from the depth check) or nests deeper than `max_depth`."""
    if max_bytes is not None and len(data) > max_bytes:
        raise JsonInputError(f"{what} is {len(data)} bytes; the limit is {max_bytes}")
    if b"\x00" in data:
        raise JsonInputError(f"{what} is not UTF-8 JSON: it holds a NUL byte")
    if nesting_exceeds(data, max_depth):
        raise JsonInputError(depth_message(what, max_depth))


def depth_message(what: str, max_depth: int = MAX_JSON_DEPTH) -> str:
    """The words of a depth refusal, the same wherever a document is refused."""
    return (
        f"{what} nests arrays and objects more than {max_depth}"
        f" levels deep; the limit is {max_depth}"
    )


def load_json(
    data: bytes, *, max_bytes: int, max_depth: int = MAX_JSON_DEPTH, what: str = "document"
) -> Any:
    """`check_json`, then parse; JsonInputError for a refused or invalid document."""
    check_json(data, max_bytes=max_bytes, max_depth=max_depth, what=what)
    try:
        return json.loads(data)
    except (
        ValueError,
        RecursionError,
    ) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise JsonInputError(f"{what} is not valid JSON: {error}".splitlines()[0]) from None


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The bytes of file `path` (``-``: standard input), refused with JsonInputError when
    it holds more than `max_bytes` (without reading more than one byte past them) or
    cannot be read."""
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
    except OSError as error:
        raise JsonInputError(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > max_bytes:
        raise JsonInputError(f"{path} is more than {max_bytes} bytes; the limit is {max_bytes}")
    return data


def load_json_file(path: Path, *, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON document in file `path` (``-``: standard input), read with
    `read_bounded` and parsed with `load_json`; JsonInputError naming the file."""
    return load_json(
        read_bounded(path, max_bytes), max_bytes=max_bytes, max_depth=max_depth, what=str(path)
    )


__all__ = [
    "LARGEST_DEPTH_CHECKED",
    "MAX_JSON_DEPTH",
    "PREFIX_BYTES",
    "SANE_RECURSION_LIMIT",
    "JsonInputError",
    "check_json",
    "depth_message",
    "load_json",
    "load_json_file",
    "nesting_exceeds",
    "read_bounded",
    "restore_recursion_limit",
]
