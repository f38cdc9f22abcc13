"""`mledger witness key|serve`: run a c2sp.org/tlog-witness witness for the logs you watch.

    mledger witness key --data-dir W --name witness.example/w1     create (once) and print
                                                                  the witness's vkey
    mledger witness serve --data-dir W --log '<log vkey> [origin]' [--logs-file F]

The witness's key (`witness.key`, mode 0600) and its state (`witness.db`, SQLite) live in
its own data dir, apart from any log's. The key is never printed; its vkey is.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ledger.cli.common import FROM_SETTINGS, Setting, app, emit, fail

if TYPE_CHECKING:
    from ledger.formats.cosignature import Cosigner

witness_app = typer.Typer(
    help="Run a witness that cosigns logs' checkpoints.", no_args_is_help=True
)
app.add_typer(witness_app, name="witness")

WitnessDir = Annotated[
    Path,
    typer.Option("--data-dir", help="The witness's key and state."),
    Setting("witness_dir"),
]
Name = Annotated[
    str | None,
    typer.Option(
        "--name",
        help="The witness's key name, a schema-less URL (witness.example/w1); needed to"
        " create the key.",
    ),
]


def _cosigner(data_dir: Path, name: str | None) -> Cosigner:
    from ledger.service.witness import WitnessConfigError, load_or_create_key

    try:
        return load_or_create_key(data_dir, name)
    except WitnessConfigError as error:
        fail(str(error))


@witness_app.command("key")
def key(data_dir: WitnessDir = FROM_SETTINGS, name: Name = None) -> None:
    """Print the witness's verifier key (cosignature/v1, type 0x04), creating the key in
    --data-dir the first time (with --name)."""
    cosigner = _cosigner(data_dir, name)
    emit({"name": cosigner.name, "vkey": cosigner.vkey()})


@witness_app.command("serve")
def serve(
    data_dir: WitnessDir = FROM_SETTINGS,
    name: Name = None,
    log: Annotated[
        list[str] | None,
        typer.Option(
            "--log",
            help="A log to cosign: '<log vkey> [origin]' (the origin defaults to the key"
            " name). Repeat for several.",
        ),
    ] = None,
    logs_file: Annotated[
        Path | None,
        typer.Option("--logs-file", help="A file of '<log vkey> [origin]' lines (# comments)."),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, help="Port (0: any free port).")] = 7380,
) -> None:
    """Serve POST /add-checkpoint and GET /<origin hash>/checkpoint (c2sp.org/tlog-witness)
    until Ctrl-C or SIGTERM."""
    from ledger.api.witness import create_witness_app
    from ledger.service.runtime import ServiceRunError, start_api
    from ledger.service.witness import Witness, WitnessConfigError, read_logs
    from ledger.store.witness import WitnessState

    lines = list(log or [])
    if logs_file is not None:
        try:
            lines += logs_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            fail(f"--logs-file {logs_file}: {error}")
    try:
        logs = read_logs(lines)
    except WitnessConfigError as error:
        fail(str(error))
    if not logs:
        fail("give the logs to witness: --log '<log vkey> [origin]' or --logs-file")
    cosigner = _cosigner(data_dir, name)
    state = WitnessState.in_dir(data_dir)
    try:
        witness = Witness(cosigner, logs, state)
    except WitnessConfigError as error:
        state.close()
        fail(str(error))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        server = start_api(create_witness_app(witness), host, port)
    except ServiceRunError as error:
        state.close()
        fail(str(error))
    origins = ", ".join(sorted(witness.logs))
    sys.stderr.write(
        f"mledger: witness {cosigner.vkey()} serving at {server.url} for {origins} (Ctrl-C stops)\n"
    )
    sys.stderr.flush()
    emit({"url": server.url, "vkey": cosigner.vkey(), "logs": sorted(witness.logs)})
    try:
        stop.wait()
    finally:
        server.stop()
        state.close()
