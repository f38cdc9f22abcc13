"""`mledger models register|show`: model provenance from the command line, on the data dir
(or database URL), as POST /v1/models and GET /v1/models/{id} do over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.common import FROM_SETTINGS, DatabaseUrl, DataDir, app, emit, fail, open_store

models_app = typer.Typer(
    help="Register model artefacts and show their lineage.", no_args_is_help=True
)
app.add_typer(models_app, name="models")

EXIT_REFUSED = 1
"""The registration was refused (already registered, an unregistered parent) or the model
is unknown."""

EXIT_UNREADABLE = 2
"""Usage error or a file that cannot be read."""


@models_app.command("register")
def register(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="MODEL.json",
            help="The body of a model record (model_id, version, artifact_sha256, parents,"
            " ...: docs/records.md); - reads standard input.",
        ),
    ],
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """Register a model artefact whose parents are registered: append its `model` record
    to the log and print its leaf hash, seq and record. Refused, storing nothing, when
    the version is registered already or a parent is not."""
    from ledger.core.records import (
        MAX_RECORD_BYTES,
        RECORD_VERSION,
        RecordError,
        now_ts,
        parse_object,
    )
    from ledger.errors import LedgerError
    from ledger.jsonlimits import JsonInputError, load_json_file
    from ledger.service.provenance import register_model

    try:
        body = load_json_file(file, max_bytes=MAX_RECORD_BYTES)
    except JsonInputError as error:
        fail(str(error), EXIT_UNREADABLE)
    if not isinstance(body, dict):
        fail(f"{file}: a model record's body must be a JSON object", EXIT_UNREADABLE)
    try:
        entry = parse_object({"v": RECORD_VERSION, "kind": "model", "body": body}, ts=now_ts())
    except RecordError as error:
        fail(f"{file}: {error}; nothing was stored", EXIT_UNREADABLE)
    with open_store(data_dir, database_url) as store:
        try:
            seq = register_model(store, entry)
        except LedgerError as error:
            fail(f"{error}; nothing was stored", EXIT_REFUSED)
    emit(
        {
            "leaf_hash": "0x" + entry.leaf_hash.hex(),
            "seq": seq,
            "record": json.loads(entry.canonical),
        }
    )


@models_app.command("show")
def show(
    model_id: Annotated[str, typer.Argument(metavar="MODEL_ID", help="The model's id.")],
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """A model's versions and its lineage back to the roots, each registration with its
    evidence when anchored (as GET /v1/models/{id})."""
    from ledger.cli.service import log_witnesses
    from ledger.config import current
    from ledger.errors import NotFoundError
    from ledger.service.provenance import lineage
    from ledger.store.anchors import AnchorRepository

    witnesses = log_witnesses(current())
    with open_store(data_dir, database_url) as store:
        try:
            emit(lineage(store, AnchorRepository(store), model_id, witnesses=witnesses))
        except NotFoundError as error:
            fail(str(error), EXIT_REFUSED)
