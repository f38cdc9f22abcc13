"""`mledger admin-key create`: a log's admin key, made where the operator keeps it offline.

Registered on `ledger.cli.common.app` by the import in ledger/cli/__init__.py. The admin
key alone retires the log after its log key leaked (`mledger retire`); beside the log key
in the data dir, one leak would give a thief both (ledger/admin_key.py). So it is made
on another machine, into a path of the operator's choosing outside the data dir, and
only its address is printed: deploy with `mledger deploy --admin ADDRESS`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.common import FROM_SETTINGS, DataDir, app, emit, fail

admin_key_app = typer.Typer(
    help="Make the log's admin key, to keep offline (it alone retires the log).",
    no_args_is_help=True,
)
app.add_typer(admin_key_app, name="admin-key")


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or lies under it (symbolic links resolved)."""
    return path.resolve().is_relative_to(folder.resolve())


def _password() -> str:
    """LEDGER_ADMIN_KEYSTORE_PASSWORD, else asked twice on the terminal."""
    from ledger.admin_key import ADMIN_KEYSTORE_PASSWORD_ENV
    from ledger.config import current

    given = current().admin_keystore_password
    if given is not None:
        return given.get_secret_value()
    if not sys.stdin.isatty():
        fail(
            f"no password: set {ADMIN_KEYSTORE_PASSWORD_ENV}, or run"
            " on a terminal to be asked for one",
            2,
        )
    password: str = typer.prompt(
        "Password of the new admin keystore", hide_input=True, confirmation_prompt=True
    )
    return password


@admin_key_app.command("create")
def create_admin_key_command(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Where to write the encrypted keystore (V3 JSON): a path you keep offline,"
            " outside the data dir. It must not exist.",
            dir_okay=False,
        ),
    ],
    data_dir: DataDir = FROM_SETTINGS,
) -> None:
    """Make a new admin key and write it to --out as a V3 keystore encrypted with a
    password (LEDGER_ADMIN_KEYSTORE_PASSWORD, or asked on the terminal; never stored
    beside it). Prints only its address, {"address"}: deploy with `mledger deploy --admin
    ADDRESS`, retire with `mledger retire --admin-keystore FILE`. Refuses a path inside
    --data-dir or beside any log key."""
    from ledger.admin_key import AdminKeyError, write_admin_keystore
    from ledger.service.signer import LOG_KEY_FILE

    if _inside(out, data_dir):
        fail(
            f"{out} is inside the data dir {data_dir}, beside the log key: whoever copies that"
            " folder would hold both keys. Write the admin key somewhere you keep offline",
            2,
        )
    if not out.parent.is_dir():
        fail(f"the folder of {out} does not exist", 2)
    if (out.parent / LOG_KEY_FILE).exists():
        fail(
            f"{out.parent} holds a log key ({LOG_KEY_FILE}): it is a"
            " data dir. Write the admin key somewhere you keep offline",
            2,
        )
    try:
        address = write_admin_keystore(out, _password())
    except AdminKeyError as error:
        fail(str(error))
    emit({"address": address})
    sys.stderr.write(
        f"wrote the admin key {address} to {out}, encrypted with your password. Keep"
        " the file and the password offline, apart from the service and its data dir."
        f" Deploy with `mledger deploy --admin {address}`; to retire the log, `mledger"
        f" retire --admin-keystore {out}` (or --sign-only where it is kept)\n"
    )
