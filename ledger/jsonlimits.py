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

`nesting_exceeds` is the depth check itself: linear, made of C-speed steps, and it
stops early on a deep prefix. Brackets inside strings do not count; escapes inside
strings (an escaped quote, an escaped backslash) are honoured.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

SANE_RECURSION_LIMIT = 1000
"""The recursion limit every process that reads untrusted input runs with: Python's
default, at which a too-deep document raises RecursionError long before the C stack
(8 MiB on Linux) runs out."""

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects accepted in any JSON document from outside.

The deepest legitimate documents are 6 levels deep: a batch body
``{"entries": [{"body": {"parents": [{...}]}}]}`` and an evidence bundle. 32 leaves room
for new record and bundle versions, is the limit the verifiers (Python and browser)
already apply to bundles, and is far below anything that strains a parser: Python's
parser needs about one C stack frame per level, pydantic's refuses documents deeper
than 200."""

PREFIX_BYTES = 1 << 20
"""A document longer than this (1 MiB) is first checked on its first PREFIX_BYTES alone,
so a deep one (``[[[[...``) is refused after a millisecond, whatever its length."""

_OPENERS = b"[{"
_MARKS = b'"[]{}'
_NOT_MARKS = bytes(byte for byte in range(256) if byte not in _MARKS)
_BRACKETS = bytes.maketrans(b"{}", b"[]")
"""Objects and arrays nest alike: both become ``[`` ``]``."""
_SPLIT_WINDOW = 64 * 1024
"""Bytes of marks split at a time when strings holding brackets are removed: bounds the
list that `bytes.split` builds."""
LARGEST_DEPTH_CHECKED = 200
"""The largest `max_depth` the check takes: its pattern nests one group per level, and
Python's regular expression compiler recurses once per group."""
_SMALL = 4096
"""Documents up to this size with at most `max_depth` brackets in total are accepted by
counting alone."""


class JsonInputError(ValueError):
    """A JSON document from outside that is refused: over a limit, or not valid JSON.
    The message says which, naming the document (`what`)."""


def restore_recursion_limit() -> int:
    """Set the recursion limit to SANE_RECURSION_LIMIT, after importing py_ecc if it is
    installed (its import raises the limit, once); return the limit now in force."""
    if "py_ecc" not in sys.modules and importlib.util.find_spec("py_ecc") is not None:
        importlib.import_module("py_ecc")
    sys.setrecursionlimit(SANE_RECURSION_LIMIT)
    return sys.getrecursionlimit()


@lru_cache(maxsize=8)
def _single_value(max_depth: int) -> re.Pattern[bytes]:
    """Matches the structure of one JSON value (brackets only, ``[`` and ``]``) nested at
    most `max_depth` deep; a container still open at the end of the input counts as
    closed there. Possessive repeats: no backtracking, one pass."""
    content = b""
    for _ in range(max_depth - 1):
        content = rb"(?:\[" + content + rb"(?:\]|\Z))*+"
    return re.compile(rb"(?:\[" + content + rb"(?:\]|\Z))?" if max_depth > 0 else b"")


def _outside_strings(marks: bytes) -> bytes:
    """`marks` (quotes and brackets) without the strings: what lies between the 1st and
    2nd quote, 3rd and 4th and so on. Works window by window, carrying whether the
    window starts inside a string."""
    kept: list[bytes] = []
    inside = False
    for start in range(0, len(marks), _SPLIT_WINDOW):
        parts = marks[start : start + _SPLIT_WINDOW].split(b'"')
        kept.append(b"".join(parts[1 if inside else 0 :: 2]))
        if len(parts) % 2 == 0:  # an odd number of quotes
            inside = not inside
    return b"".join(kept)


def _exceeds(data: bytes, max_depth: int) -> bool:
    if len(data) <= _SMALL and data.count(b"[") + data.count(b"{") <= max_depth:
        return False
    if b"\\" in data:
        # Inside a string, a backslash escapes the next byte; a run of them pairs up from
        # its start. Dropping the escaped backslashes and then the escaped quotes leaves
        # only quotes that open or close strings (other escapes hold no mark).
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = data.translate(_BRACKETS, _NOT_MARKS)
    # An adjacent pair of quotes is a string without brackets, or the end of one string and
    # the start of the next with no bracket between them: either way nothing to count.
    marks = marks.replace(b'""', b"")
    if b'"' in marks:
        marks = _outside_strings(marks)
    end = _single_value(max_depth).match(marks)
    stop = len(marks) if end is None else end.end()
    # The pattern stops short on a container nested too deep (it matches nothing then),
    # or after the first value (a parser refuses what follows it: a second value, a
    # stray closing bracket), which this check leaves to the parser.
    return stop == 0 and len(marks) > 0 and marks[0] == ord("[")


def nesting_exceeds(data: bytes, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text `data` (UTF-8) nests arrays and objects more than `max_depth`
    levels deep, counting brackets outside strings.

    Made to run before a parser, on input that may not be JSON at all: it answers for
    what a parser would read, so it never lets through a document that a parser would
    read deeper than `max_depth`. A document a parser refuses earlier for another reason
    (a second value, a stray closing bracket) may be answered either way.

    Linear in the size of `data`, in C-speed steps (`bytes.replace`, `bytes.translate`,
    one match of a regular expression without backtracking); it builds no list longer
    than _SPLIT_WINDOW and stops after PREFIX_BYTES when those are too deep already.
    ValueError if `max_depth` is negative or above LARGEST_DEPTH_CHECKED.
    """
    if not 0 <= max_depth <= LARGEST_DEPTH_CHECKED:
        raise ValueError(f"max_depth must be from 0 to {LARGEST_DEPTH_CHECKED}, got {max_depth}")
    if len(data) > PREFIX_BYTES and _exceeds(data[:PREFIX_BYTES], max_depth):
        return True
    return _exceeds(data, max_depth)


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
    return f"{what} nests arrays and objects more than {max_depth} levels deep; the limit is {max_depth}"


def load_json(data: bytes, *, max_bytes: int, max_depth: int = MAX_JSON_DEPTH, what: str = "document") -> Any:
    """`check_json`, then parse; JsonInputError for a refused or invalid document."""
    check_json(data, max_bytes=max_bytes, max_depth=max_depth, what=what)
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
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
    return load_json(read_bounded(path, max_bytes), max_bytes=max_bytes, max_depth=max_depth, what=str(path))


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
