"""Reading NDJSON files of records, validated in parallel, all or nothing.

The file is cut into chunks of about CHUNK_BYTES at line ends. Worker processes read
their chunk straight from the file and parse, validate, canonically encode and hash
it; the caller gets the chunks back in file order and stores them in one transaction,
so a bad line anywhere stops the whole file before anything commits.

Untrusted lines are bounded like every JSON input (ledger.jsonlimits): a line over
MAX_RECORD_BYTES is refused before it is parsed, and one nested deeper than
MAX_JSON_DEPTH is refused as such. The depth is looked at only when a line fails: the
record parser (pydantic-core) refuses nesting past 200 levels by itself, without
recursing in Python, and no valid record is more than 4 levels deep, so a deeper line
never passes; checking it after the failure costs valid lines nothing and names the
fault. Worker processes run with a sane recursion limit.

For PostgreSQL, `read_ndjson_rows` gives the same entries as binary COPY rows made in
the workers (ledger.store.copyrows): a chunk crosses back to the caller as two byte
strings instead of thousands of tuples, and goes to the server as it is.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import TypeVar

from ledger.core.records import MAX_RECORD_BYTES, Entry, RecordError, now_ts, parse_json
from ledger.formats.statement import RESERVED_SALT, statement_record
from ledger.jsonlimits import depth_message, nesting_exceeds, restore_recursion_limit
from ledger.store.copyrows import copy_row

CHUNK_BYTES = 1 << 20
"""About how much of the file one worker task parses (cut at a line end)."""

IN_FLIGHT_PER_WORKER = 3
"""Chunks queued or parsed ahead of the writer, per worker: memory stays flat."""

PARALLEL_THRESHOLD = 1 << 20
"""Files smaller than this many bytes are parsed in-process (no worker start-up)."""

Chunk = tuple[str, int, int, int, str]
"""(path, first line number, start offset, end offset, default ts) of one task."""

Failure = tuple[int, str, str]
"""(line number, field, message) of the first bad line of a chunk."""

RowChunk = tuple[bytes, bytes]
"""(binary COPY rows, leaf hashes: 32 bytes each) of one chunk's entries, in file order."""

T = TypeVar("T", list[Entry], RowChunk)


class LineError(RecordError):
    """A record that failed, with its 1-based line number in the file."""

    def __init__(self, line: int, error: RecordError) -> None:
        super().__init__(error.field, error.message)
        self.line = line
        self.args = (f"line {line}: {error}",)


def _parse_chunk(job: Chunk) -> list[Entry] | Failure:
    """Parse one chunk. Entries come back as plain tuples (in Entry's field order):
    they cross the process boundary several times faster than named tuples."""
    out: list[Entry] = []
    failure = _parse_into(job, out.append)
    return out if failure is None else failure


def _parse_chunk_rows(job: Chunk) -> RowChunk | Failure:
    """Parse one chunk into binary COPY rows and the entries' leaf hashes."""
    rows: list[bytes] = []
    leaves: list[bytes] = []

    def keep(entry: Entry) -> None:
        rows.append(copy_row(entry))
        leaves.append(entry[0])

    failure = _parse_into(job, keep)
    return (b"".join(rows), b"".join(leaves)) if failure is None else failure


def _parse_into(job: Chunk, keep: Callable[[Entry], None]) -> Failure | None:
    """Parse the lines of one chunk, passing each entry to `keep`; the first bad line's
    failure, or None."""
    path, first_line, start, end, ts = job
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the chunk's final newline
    for offset, line in enumerate(lines):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line.strip():
            return first_line + offset, "", "empty line (one record per line)"
        try:
            entry = parse_json(line, ts=ts)
            if statement_record(entry.kind, entry.external_id, entry.canonical):
                return first_line + offset, "salt", RESERVED_SALT
            keep(tuple(entry))  # type: ignore[arg-type]
        except RecordError as error:
            if len(line) <= MAX_RECORD_BYTES and nesting_exceeds(line):
                return first_line + offset, "", depth_message("record")
            return first_line + offset, error.field, error.message
    return None


def _chunks(path: Path) -> Iterator[Chunk]:
    """Cut the file at line ends into tasks, counting lines as it goes."""
    name = str(path)
    with path.open("rb") as handle:
        start, line = 0, 1
        carry = b""
        while True:
            block = handle.read(CHUNK_BYTES)
            if not block:
                break
            data = carry + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # no line end yet: a very long line
                carry = data
                continue
            end = start + cut
            yield name, line, start, end, now_ts()
            line += data.count(b"\n", 0, cut)
            start, carry = end, data[cut:]
        if carry:
            yield name, line, start, start + len(carry), now_ts()


def read_ndjson(path: Path, workers: int | None = None) -> Iterator[list[Entry]]:
    """Yield validated entries of `path` in file order, a chunk at a time.

    Raises LineError at the first bad line. Records without `ts` get the time their
    chunk was read; records without `salt` get a fresh one.
    """
    return _read(path, workers, _parse_chunk)


def read_ndjson_rows(path: Path, workers: int | None = None) -> Iterator[RowChunk]:
    """As `read_ndjson`, each chunk as binary COPY rows and the leaf hashes of its
    entries (`RowChunk`), ready for `Store.copy_entries`."""
    return _read(path, workers, _parse_chunk_rows)


def _read(path: Path, workers: int | None, parse: Callable[[Chunk], T | Failure]) -> Iterator[T]:
    size = path.stat().st_size
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if size < PARALLEL_THRESHOLD or workers < 1:
        yield from _unwrap(map(parse, _chunks(path)))
        return
    with multiprocessing.get_context("fork").Pool(
        workers, initializer=restore_recursion_limit
    ) as pool:
        in_flight: deque[AsyncResult[T | Failure]] = deque()
        for job in _chunks(path):
            in_flight.append(pool.apply_async(parse, (job,)))
            if len(in_flight) >= IN_FLIGHT_PER_WORKER * workers:
                yield from _unwrap([in_flight.popleft().get()])
        while in_flight:
            yield from _unwrap([in_flight.popleft().get()])


def _unwrap(results: Iterator[T | Failure] | list[T | Failure]) -> Iterator[T]:
    for result in results:
        if isinstance(result, tuple) and len(result) == 3:  # a Failure (a RowChunk is a pair)
            line, field, message = result
            raise LineError(line, RecordError(field, message))
        yield result
