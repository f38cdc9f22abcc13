"""`mledger erase` and `mledger hold add|remove|list`: erasure and legal holds on the data
dir's log (docs/privacy.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.common import (
    FROM_SETTINGS,
    DatabaseUrl,
    DataDir,
    app,
    emit,
    fail,
    open_store,
    parse_hash,
)

Reason = Annotated[
    str,
    typer.Option(
        "--reason", help="Why (logged in the statement the log commits to; no personal data)."
    ),
]

hold_app = typer.Typer(
    help="Legal holds: an account's or a licence's entries that must not be erased.",
    no_args_is_help=True,
)
app.add_typer(hold_app, name="hold")


@app.command()
def erase(
    reason: Reason,
    account: Annotated[
        str | None, typer.Option("--account", help="Erase every interaction of this account.")
    ] = None,
    leaf: Annotated[
        list[str] | None,
        typer.Option("--leaf", help="Erase the entry with this leaf hash (repeatable)."),
    ] = None,
    before: Annotated[
        str | None,
        typer.Option("--before", help="Erase every entry whose record time is before TIME."),
    ] = None,
    vacuum_full: Annotated[
        bool,
        typer.Option(
            "--vacuum-full",
            help="PostgreSQL: VACUUM FULL after, so no page keeps the old bytes (locks the"
            " tables while it rewrites them).",
        ),
    ] = False,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """Destroy the stored records (values and salts) of the chosen sequenced entries for
    good, keeping their leaf hashes, and log the erasure; entries under a legal hold are
    kept. Seals, so the erasure's record is in the log at once. Prints what was erased."""
    from ledger.service.erasure import erase as erase_entries
    from ledger.service.sequencer import seal

    chosen = [
        name
        for name, value in (("--account", account), ("--leaf", leaf), ("--before", before))
        if value
    ]
    if len(chosen) != 1:
        fail("give exactly one of --account ID, --leaf HASH (repeatable) or --before TIME", 2)
    leaves = [parse_hash(value, "--leaf") for value in leaf or []]
    with open_store(data_dir, database_url) as store:
        if account is not None:
            done = erase_entries(store, "account", reason, account=account, vacuum_full=vacuum_full)
        elif leaves:
            done = erase_entries(store, "leaves", reason, leaves=leaves, vacuum_full=vacuum_full)
        else:
            done = erase_entries(store, "before", reason, before=before, vacuum_full=vacuum_full)
        if done.record is not None:
            seal(store)
    emit(done.as_json())


@hold_app.command("add")
def hold_add(
    reason: Reason,
    account: Annotated[
        str | None, typer.Option("--account", help="Hold this account's interactions.")
    ] = None,
    licence: Annotated[
        str | None, typer.Option("--licence", help="Hold this licence's records.")
    ] = None,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """Place a legal hold (logged): erasure skips the held entries until it is lifted."""
    from ledger.service.erasure import add_hold, hold_json

    if (account is None) == (licence is None):
        fail("give exactly one of --account ID or --licence ID", 2)
    scope, value = ("account", account) if account is not None else ("licence", licence)
    assert value is not None
    with open_store(data_dir, database_url) as store:
        hold = add_hold(store, scope, value, reason)
    emit(hold_json(hold))


@hold_app.command("remove")
def hold_remove(
    hold_id: Annotated[str, typer.Argument(help="The hold's id (hold-...).")],
    reason: Reason,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """Lift a legal hold (logged); its entries may be erased again."""
    from ledger.service.erasure import hold_json, lift_hold

    with open_store(data_dir, database_url) as store:
        hold = lift_hold(store, hold_id, reason)
    emit(hold_json(hold))


@hold_app.command("list")
def hold_list(
    active: Annotated[bool, typer.Option("--active", help="Only holds not lifted.")] = False,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """Print every legal hold, oldest first."""
    from ledger.service.erasure import hold_json, list_holds

    with open_store(data_dir, database_url) as store:
        holds = list_holds(store, active_only=active)
    emit({"holds": [hold_json(hold) for hold in holds]})
