"""Reading NDJSON files of records, validated in parallel, all or nothing.

Parsing, validation, canonical encoding and hashing run in worker processes (one per
core) on chunks of lines; the caller stores the chunks in order in one transaction,
so a bad line anywhere stops the whole file before anything commits.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from multiprocessing.pool import AsyncResult
import os
from collections.abc import Iterator
from pathlib import Path

from ledger.records import Entry, RecordError, now_ts, parse_json

CHUNK_LINES = 4096
"""Lines handed to a worker at a time."""

IN_FLIGHT_PER_WORKER = 4
"""Chunks queued or parsed ahead of the writer, per worker."""

PARALLEL_THRESHOLD = 1 << 20
"""Files smaller than this many bytes are parsed in-process (no worker start-up)."""


class LineError(RecordError):
    """A record that failed, with its 1-based line number in the file."""

    def __init__(self, line: int, error: RecordError) -> None:
        super().__init__(error.field, error.message)
        self.line = line
        self.args = (f"line {line}: {error}",)


def _parse_chunk(job: tuple[int, list[bytes], str]) -> list[Entry] | tuple[int, str, str]:
    first_line, lines, ts = job
    out: list[Entry] = []
    for offset, line in enumerate(lines):
        if not line.strip():
            return first_line + offset, "", "empty line (one record per line)"
        try:
            out.append(parse_json(line, ts=ts))
        except RecordError as error:
            return first_line + offset, error.field, error.message
    return out


def _jobs(path: Path) -> Iterator[tuple[int, list[bytes], str]]:
    with path.open("rb") as handle:
        number = 1
        chunk: list[bytes] = []
        for raw in handle:
            line = raw.rstrip(b"\r\n")
            chunk.append(line)
            if len(chunk) == CHUNK_LINES:
                yield number, chunk, now_ts()
                number += len(chunk)
                chunk = []
        if chunk:
            yield number, chunk, now_ts()


def read_ndjson(path: Path, workers: int | None = None) -> Iterator[list[Entry]]:
    """Yield validated entries of `path` in file order, a chunk at a time.

    Raises LineError at the first bad line. Records without `ts` get the time their
    chunk was read; records without `salt` get a fresh one.
    """
    size = path.stat().st_size
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if size < PARALLEL_THRESHOLD or workers < 2:
        results: Iterator[list[Entry] | tuple[int, str, str]] = map(_parse_chunk, _jobs(path))
        yield from _unwrap(results)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        # A bounded window of chunks in flight: memory stays flat however large the file.
        in_flight: deque[AsyncResult[list[Entry] | tuple[int, str, str]]] = deque()
        for job in _jobs(path):
            in_flight.append(pool.apply_async(_parse_chunk, (job,)))
            if len(in_flight) >= IN_FLIGHT_PER_WORKER * workers:
                yield from _unwrap([in_flight.popleft().get()])
        while in_flight:
            yield from _unwrap([in_flight.popleft().get()])


def _unwrap(results: Iterator[list[Entry] | tuple[int, str, str]]) -> Iterator[list[Entry]]:
    for result in results:
        if isinstance(result, tuple):
            line, field, message = result
            raise LineError(line, RecordError(field, message))
        yield result
