"""`mledger ingest`, `seal`, `prove`, `consistency`: the log itself, on the data dir."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.cli.common import (
    FROM_SETTINGS,
    DatabaseUrl,
    DataDir,
    app,
    emit,
    fail,
    hex0x,
    open_store,
    parse_hash,
    progress_bar,
)


@app.command()
def init(data_dir: DataDir = FROM_SETTINGS, database_url: DatabaseUrl = FROM_SETTINGS) -> None:
    """Start an empty log in --data-dir (or --database-url), without a chain or a service:
    the store and the log key. `mledger up` does this itself; every other command refuses
    a data dir that holds no log. Prints the empty checkpoint; harmless on an existing log."""
    from ledger.cli.service import log_signer

    with open_store(data_dir, database_url, create=True) as store:
        signer = log_signer(store, data_dir, 3600)
        state = store.state()
    emit({"tree_size": state.tree_size, "root": hex0x(state.root), "log_key": signer.address})


@app.command()
def ingest(
    file: Annotated[
        Path, typer.Argument(help="NDJSON file, one record per line.", exists=True, dir_okay=False)
    ],
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """Validate and store every record of FILE, all or nothing; print each leaf hash."""
    from ledger.service.ingest import LineError, read_ndjson, read_ndjson_rows
    from ledger.store.repository import DuplicateEntries

    with open_store(data_dir, database_url) as store:
        leaves: list[bytes] | None = None
        if store.is_postgres:
            # One COPY of rows the workers made (ledger.store.copyrows); a record
            # already stored makes it store nothing, and the file goes the way below.
            with progress_bar("ingest", None) as advance:
                copied: list[bytes] = []

                def row_chunks() -> Iterator[tuple[bytes, bytes]]:
                    for rows, hashes in read_ndjson_rows(file):
                        copied.append(hashes)
                        advance(len(hashes) // 32)
                        yield rows, hashes

                try:
                    store.copy_entries(row_chunks())
                    joined = b"".join(copied)
                    leaves = [joined[at : at + 32] for at in range(0, len(joined), 32)]
                except LineError as error:
                    fail(f"{file}: {error}; nothing was stored")
                except DuplicateEntries:
                    leaves = None
        if leaves is None:
            stored: list[bytes] = []
            with progress_bar("ingest", None) as advance:

                def batches() -> Iterator[list[Any]]:
                    for chunk in read_ndjson(file):
                        stored.extend(entry[0] for entry in chunk)  # leaf hash (Entry field 0)
                        advance(len(chunk))
                        yield chunk

                try:
                    store.add_entries(batches())
                except LineError as error:
                    fail(f"{file}: {error}; nothing was stored")
            leaves = stored
    out = sys.stdout
    for number, leaf in enumerate(leaves, 1):
        out.write(f'{{"line":{number},"leaf_hash":"0x{leaf.hex()}"}}\n')


@app.command()
def seal(data_dir: DataDir = FROM_SETTINGS, database_url: DatabaseUrl = FROM_SETTINGS) -> None:
    """Sequence every pending entry and print the new checkpoint."""
    from ledger.service.sequencer import seal as seal_log

    with (
        open_store(data_dir, database_url) as store,
        progress_bar("seal", store.pending_count()) as advance,
    ):
        state = seal_log(store, progress=advance)
    emit({"tree_size": state.tree_size, "root": hex0x(state.root)})


@app.command()
def prove(
    leaf_hash: Annotated[str, typer.Argument(help="Leaf hash of the entry (0x + 64 hex).")],
    tree_size: Annotated[
        int | None,
        typer.Option("--tree-size", help="Prove against this tree size (default: latest)."),
    ] = None,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """Print the inclusion proof of an entry."""
    from ledger.service.proofs import inclusion

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
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """Print the consistency proof between two tree sizes."""
    from ledger.service.proofs import consistency as consistency_proof

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
