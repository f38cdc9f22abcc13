"""The `ledger` command line (Typer): one module per command group, registered on the
one `app` of `ledger.cli.common`. Output is JSON; errors go to stderr with a non-zero
exit. `main` is the entry point of `ledger` and `python -m ledger`."""

from __future__ import annotations

from ledger.cli import (  # noqa: F401 - each registers its commands
    admin_key,
    audit,
    chain,
    evidence,
    licence,
    log,
    models,
    monitor,
    service,
    witness,
)
from ledger.cli.common import app, fail
from ledger.core.records import RecordError
from ledger.jsonlimits import restore_recursion_limit


def main() -> None:
    """Entry point of `ledger` and `python -m ledger`."""
    restore_recursion_limit()  # before any command reads input: see ledger.jsonlimits
    try:
        app()
    except RecordError as error:  # pragma: no cover - safety net
        fail(str(error))


__all__ = ["app", "main"]
