"""The `ledger` command line. Output is JSON; errors go to stderr with a non-zero exit."""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ledger.config import Settings
from ledger.errors import LedgerError
from ledger.records import RecordError
from ledger.store.db import DatabaseURLError
from ledger.store.repository import Store, StoreError

app = typer.Typer(
    name="ledger",
    help="model-ledger: a verifiable, blockchain-anchored audit trail for AI model access.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataDir = Annotated[
    Path,
    typer.Option("--data-dir", envvar="LEDGER_DATA_DIR", help="Folder for the embedded SQLite log (and, later, the dev chain)."),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="LEDGER_DATABASE_URL", help="SQLAlchemy or plain postgresql:// URL; default: SQLite in --data-dir."),
]
DEFAULT_DATA_DIR = Path("./ledger-data")


def hex0x(data: bytes) -> str:
    """0x-prefixed lowercase hex, as every hash in our output."""
    return "0x" + data.hex()


def parse_hash(value: str, name: str) -> bytes:
    """Parse a 32-byte hash given as 64 hex digits, with or without 0x."""
    text = value[2:] if value[:2].lower() == "0x" else value
    try:
        data = bytes.fromhex(text)
    except ValueError:
        fail(f"{name} is not hex: {value!r}")
    if len(data) != 32:
        fail(f"{name} must be 32 bytes (64 hex digits), got {len(data)} bytes")
    return data


def emit(obj: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    """Report an error on stderr and exit non-zero."""
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


@contextmanager
def open_store(data_dir: Path, database_url: str | None) -> Iterator[Store]:
    """Open the configured store; turn known errors into a message and exit code."""
    settings = Settings(data_dir=data_dir, database_url=database_url)
    try:
        store = Store.open(settings.resolved_database_url())
    except DatabaseURLError as error:
        fail(str(error))
    except Exception as error:  # the driver's own words say what is wrong
        fail(f"cannot open the database: {type(error).__name__}: {error}".splitlines()[0])
    try:
        yield store
    except (LedgerError, StoreError) as error:
        fail(str(error))
    finally:
        store.close()


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; `advance(n)` moves it."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=None,
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="NDJSON file, one record per line.", exists=True, dir_okay=False)],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Validate and store every record of FILE, all or nothing; print each leaf hash."""
    from ledger.ingest import LineError, read_ndjson

    stored: list[bytes] = []
    with open_store(data_dir, database_url) as store, progress_bar("ingest", None) as advance:

        def batches() -> Iterator[list[Any]]:
            for chunk in read_ndjson(file):
                stored.extend(entry.leaf_hash for entry in chunk)
                advance(len(chunk))
                yield chunk

        try:
            store.add_entries(batches())
        except LineError as error:
            fail(f"{file}: {error}; nothing was stored")
    out = sys.stdout
    for number, leaf in enumerate(stored, 1):
        out.write(f'{{"line":{number},"leaf_hash":"0x{leaf.hex()}"}}\n')


@app.command()
def seal(data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None) -> None:
    """Sequence every pending entry and print the new checkpoint."""
    from ledger.sequencer import seal as seal_log

    with open_store(data_dir, database_url) as store:
        with progress_bar("seal", store.pending_count()) as advance:
            state = seal_log(store, progress=advance)
    emit({"tree_size": state.tree_size, "root": hex0x(state.root)})


@app.command()
def prove(
    leaf_hash: Annotated[str, typer.Argument(help="Leaf hash of the entry (0x + 64 hex).")],
    tree_size: Annotated[int | None, typer.Option("--tree-size", help="Prove against this tree size (default: latest).")] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the inclusion proof of an entry."""
    from ledger.proofs import inclusion

    leaf = parse_hash(leaf_hash, "LEAF_HASH")
    with open_store(data_dir, database_url) as store:
        result = inclusion(store, leaf, tree_size)
    emit(
        {
            "leaf_index": result.leaf_index,
            "tree_size": result.tree_size,
            "root": hex0x(result.root),
            "proof": [hex0x(node) for node in result.proof],
        }
    )


@app.command()
def consistency(
    first: Annotated[int, typer.Argument(help="The older tree size.")],
    second: Annotated[int, typer.Argument(help="The newer tree size.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the consistency proof between two tree sizes."""
    from ledger.proofs import consistency as consistency_proof

    with open_store(data_dir, database_url) as store:
        result = consistency_proof(store, first, second)
    emit(
        {
            "first": result.first,
            "second": result.second,
            "first_root": hex0x(result.first_root),
            "second_root": hex0x(result.second_root),
            "proof": [hex0x(node) for node in result.proof],
        }
    )


@app.command()
def up(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    seal_interval: Annotated[float, typer.Option("--seal-interval", envvar="LEDGER_SEAL_INTERVAL", help="Seconds between seals.")] = 1.0,
) -> None:
    """Run the log on embedded defaults: seal pending entries every --seal-interval.

    Records arrive with `ledger ingest` (and, once it lands, the HTTP API). Each new
    checkpoint is printed as a JSON line. Stop with Ctrl-C.
    """
    from ledger.sequencer import seal as seal_log

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open_store(data_dir, database_url) as store:
        state = store.state()
        sys.stderr.write(
            f"ledger: log at {store.engine.url.render_as_string(hide_password=True)}, "
            f"tree size {state.tree_size}; sealing every {seal_interval:g}s (Ctrl-C stops)\n"
        )
        while not stopping:
            new = seal_log(store)
            if new.tree_size != state.tree_size:
                emit({"tree_size": new.tree_size, "root": hex0x(new.root)})
                sys.stdout.flush()
                state = new
            deadline = time.monotonic() + seal_interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.1, seal_interval))


def main() -> None:
    """Entry point for `python -m ledger`."""
    try:
        app()
    except RecordError as error:  # pragma: no cover - safety net
        fail(str(error))


if __name__ == "__main__":
    main()
