"""The `mledger` command line (Typer; `ledger` is the same command under its former name):
one module per command group, registered on the one `app` of `ledger.cli.common`. Output
is JSON; errors go to stderr with a non-zero exit. `main` is the entry point of both
commands and of `python -m ledger`.

The base install (`pip install mledger`) is the verifier alone: every module here imports
server-side code (web3, SQLAlchemy, FastAPI, uvicorn) inside the commands that need it,
and such a command run without the `server` extra exits 2 saying how to install it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli import (  # noqa: F401 - each registers its commands
    admin_key,
    audit,
    chain,
    erasure,
    evidence,
    licence,
    log,
    models,
    monitor,
    service,
    witness,
)
from ledger.cli.common import app, configure_commands, fail
from ledger.core.records import RecordError
from ledger.formats.producer import producer
from ledger.jsonlimits import restore_recursion_limit

configure_commands(app)  # every option marked `Setting` defaults to ledger.config's value

SERVER_PACKAGES = ("alembic", "eth_account", "fastapi", "psycopg", "sqlalchemy", "uvicorn", "web3")
"""What the `server` extra installs (pyproject.toml), and the base install lacks."""


def server_extra_missing() -> bool:
    """Whether a package of the `server` extra is not installed."""
    return any(importlib.util.find_spec(name) is None for name in SERVER_PACKAGES)


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(producer() + "\n")
        raise typer.Exit()


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """model-ledger: a verifiable, blockchain-anchored audit trail for AI model access."""


def command_name(argv: list[str]) -> str:
    """`mledger up`, `mledger licence grant`: the command `argv` (without the program) runs,
    named as the user typed the program (`ledger` or `mledger`)."""
    program = Path(sys.argv[0]).name
    words = [program if program in ("ledger", "mledger") else "mledger"]
    group = typer.main.get_command(app)
    for word in argv:
        commands = getattr(group, "commands", {})
        if word not in commands:
            break
        words.append(word)
        group = commands[word]
    return " ".join(words)


def main() -> None:
    """Entry point of `mledger`, `ledger` and `python -m ledger`."""
    restore_recursion_limit()  # before any command reads input: see ledger.jsonlimits
    try:
        app()
    except ModuleNotFoundError:
        # A server command (or what it imports: web3 brings requests, eth-utils, ...)
        # without the extra. With the extra installed, a missing module is a real fault.
        if not server_extra_missing():
            raise
        sys.stderr.write(
            f"error: '{command_name(sys.argv[1:])}' needs the server extra:"
            ' install it with the extra, pip install ".[server]" in its checkout\n'
        )
        sys.exit(2)
    except RecordError as error:  # pragma: no cover - safety net
        fail(str(error))


__all__ = ["app", "main"]
