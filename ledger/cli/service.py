"""`mledger serve`, `mledger keys create|revoke` and `mledger verify-receipt`.

Registered on `ledger.cli.common.app` by `ledger/cli/__init__.py`. `serve` and `up` share
their options (`SERVICE_OPTIONS`, all settings of `ledger.config`) and run the one runtime,
`ledger.service.runtime.run`: the API, the seal loop and, on a chain, the anchorer and the
licence issuer, under leader election.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ledger.cli.common import (
    FROM_SETTINGS,
    ConfigFile,
    DatabaseUrl,
    DataDir,
    ExplorerUrl,
    Keystore,
    PublicRpcUrl,
    app,
    emit,
    fail,
    load_settings,
    open_store,
)
from ledger.errors import LedgerError

if TYPE_CHECKING:  # server-side modules: imported by the commands (the verifier installs alone)
    from pydantic import SecretStr

    from ledger.chain.log_anchor import LogAnchor
    from ledger.config import Settings
    from ledger.formats.cosignature import WitnessPolicy
    from ledger.service.runtime import Chain, ChainLink, Hooks
    from ledger.service.signer import LogSigner
    from ledger.store.anchors import Deployment
    from ledger.store.repository import Store

keys_app = typer.Typer(help="Create and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


# -- the options `up` and `serve` share: one definition ------------------------------------

SERVICE_OPTIONS: dict[str, Any] = {
    "config": ConfigFile,
    "data_dir": DataDir,
    "database_url": DatabaseUrl,
    "rpc_url": Annotated[
        str | None,
        typer.Option(
            "--rpc-url",
            help="Anchor on this chain (`up`: instead of the embedded Anvil; `serve`: needs a"
            " recorded deployment, without it no anchoring).",
        ),
    ],
    "keystore": Keystore,
    "confirmations": Annotated[
        int | None,
        typer.Option("--confirmations", help="Blocks an anchor must be deep to count."),
    ],
    "host": Annotated[str | None, typer.Option("--host", help="Address the API listens on.")],
    "port": Annotated[
        int | None, typer.Option("--port", help="Port of the API (0: any free port).")
    ],
    "workers": Annotated[
        int | None,
        typer.Option("--workers", help="API processes sharing --port (one per core)."),
    ],
    "seal_interval": Annotated[
        float | None, typer.Option("--seal-interval", help="Seconds between seals.")
    ],
    "anchor_interval": Annotated[
        float | None,
        typer.Option("--anchor-interval", help="Seconds between anchors (when the log grew)."),
    ],
    "mmd": Annotated[
        int | None,
        typer.Option("--mmd", help="Maximum merge delay promised in receipts, in seconds."),
    ],
    "public_rpc_url": PublicRpcUrl,
    "explorer_url": ExplorerUrl,
    "public_host": Annotated[
        str | None,
        typer.Option(
            "--public-host",
            help="The log's public host, e.g. ledger.example.com: its C2SP origin is"
            " <host>/<log name>, fixed when the note key is made (default: localhost).",
        ),
    ],
    "retention_days": Annotated[
        int | None,
        typer.Option(
            "--retention-days",
            help="Erase entries older than this many days, on a schedule (at least 183"
            " unless --retention-force).",
        ),
    ],
    "retention_force": Annotated[
        bool | None,
        typer.Option("--retention-force", help="Allow --retention-days below 183 (six months)."),
    ],
    "witnesses": Annotated[
        list[str] | None,
        typer.Option(
            "--witness",
            help="A witness to send checkpoints to: '<submission prefix URL> <witness vkey>'"
            " (repeat; docs/c2sp.md).",
        ),
    ],
    "witness_quorum": Annotated[
        int | None,
        typer.Option(
            "--witness-quorum",
            help="Witnesses that must cosign a checkpoint for it to count as published"
            " (default: all).",
        ),
    ],
}
"""Every option of `mledger up` and `mledger serve`, all settings (`ledger.config`): None
means not given, so the environment, the TOML file or the default decides."""


def service_options(
    own: dict[str, Any] | None = None,
) -> Callable[[Callable[[Settings], None]], Callable[..., None]]:
    """Give a `command(settings)` the shared options and its `own` ones (settings too, as
    `up`'s --rpc-port): it is called with the `Settings` loaded from the command line, the
    environment and the TOML file. A bad setting exits 2 before anything starts."""
    options = {**SERVICE_OPTIONS, **(own or {})}

    def decorate(command: Callable[[Settings], None]) -> Callable[..., None]:
        @functools.wraps(command)
        def wrapper(**given: Any) -> None:
            from ledger.config import use

            settings = load_settings(given.pop("config", None), given)
            use(settings)
            command(settings)

        parameters = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
            for name, kind in options.items()
        ]
        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = dict(options)
        return wrapper

    return decorate


def log_signer(store: Store, data_dir: Path, mmd: int, *, log_name: str | None = None) -> LogSigner:
    """The log key (LEDGER_LOG_KEY or the keystore in `data_dir`) in the log's EIP-712 domain,
    with the note key (LEDGER_NOTE_KEY or `data_dir`/note-key) of the origin
    <LEDGER_PUBLIC_HOST>/<log name>: the deployment's, else `log_name` (the one about to be
    deployed), else model-ledger."""
    from ledger.config import current
    from ledger.formats.eip712 import Domain
    from ledger.service.signer import LogKeyError, LogSigner, load_log_key, load_note_signer
    from ledger.store.anchors import AnchorRepository

    deployment = AnchorRepository(store).deployment()
    if deployment is None:
        from hashlib import sha256

        domain = Domain(sha256(b"model-ledger").digest())  # the default log name's id
    else:
        domain = Domain(deployment.log_id, deployment.chain_id, deployment.contract)
    try:
        name = deployment.log_name if deployment else log_name or "model-ledger"
        note = load_note_signer(data_dir, name, current().public_host)
        return LogSigner(load_log_key(data_dir), domain, mmd, note)
    except LogKeyError as error:
        fail(str(error))


# -- commands ------------------------------------------------------------------------------


@keys_app.command("create")
def create_key(
    role: Annotated[str, typer.Option("--role", help="ingest, auditor, licensee or admin.")],
    licensee: Annotated[
        str | None, typer.Option("--licensee", help="The licensee id a licensee key is scoped to.")
    ] = None,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """Create an API key and print it once: {"key", "id", "role"} (only its hash is kept)."""
    from ledger.store.keys import KeyRepository

    with open_store(data_dir, database_url) as store:
        created = KeyRepository(store).create(role, licensee)
    result: dict[str, Any] = {
        "key": created.secret,
        "id": created.key.id,
        "role": created.key.role.value,
    }
    if created.key.licensee is not None:
        result["licensee"] = created.key.licensee
    emit(result)


@keys_app.command("list")
def list_keys(
    include_revoked: Annotated[
        bool, typer.Option("--all", help="Also the revoked keys, with when they were revoked.")
    ] = False,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """The API keys: id, role, licensee, created_at (revoked_at with --all); one JSON
    line each. Secrets are never shown: only their hash is kept."""
    from ledger.store.keys import KeyRepository

    with open_store(data_dir, database_url) as store:
        keys = KeyRepository(store).list(include_revoked=include_revoked)
    for key in keys:
        shown: dict[str, Any] = {"id": key.id, "role": key.role.value}
        if key.licensee is not None:
            shown["licensee"] = key.licensee
        shown["created_at"] = key.created_at
        if include_revoked:
            shown["revoked_at"] = key.revoked_at
        emit(shown)


@keys_app.command("revoke")
def revoke_key(
    key_id: Annotated[
        str, typer.Argument(metavar="ID", help="The id printed by `mledger keys create`.")
    ],
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """Revoke an API key: it is refused from the next request on."""
    from ledger.store.keys import KeyRepository

    with open_store(data_dir, database_url) as store:
        revoked = KeyRepository(store).revoke(key_id)
    emit({"id": revoked.id, "role": revoked.role.value, "revoked_at": revoked.revoked_at})


@app.command()
@service_options()
def serve(settings: Settings) -> None:
    """Serve the HTTP API against the configured database; seal every --seal-interval and,
    with --rpc-url and a recorded deployment, anchor every --anchor-interval.

    Several `serve` processes may share one PostgreSQL database: all serve the API, and
    the sequencer and the anchorer each run in one of them at a time (an advisory lock
    elects them; the others stand by and take over when the leader stops). Stop with
    Ctrl-C or SIGTERM. On any chain but the dev chain (id 31337) `serve` refuses to start
    while --data-dir holds the log's admin key (move it offline). Settings: see
    docs/configuration.md (command line > LEDGER_* > --config or ./ledger.toml > default).
    """
    from ledger.cli.common import admin_key_kept_apart
    from ledger.service.runtime import Hooks
    from ledger.store.anchors import AnchorRepository

    def note(text: str) -> None:
        sys.stderr.write(f"ledger: {text}\n")
        sys.stderr.flush()

    data_dir, database_url = settings.data_dir, _secret(settings.database_url)
    with open_store(data_dir, database_url, create=True) as store:
        recorded = AnchorRepository(store).deployment()
    if recorded is not None:  # the chain this log anchors to (checked against --rpc-url later)
        admin_key_kept_apart(data_dir, recorded.chain_id)
    rpc_url = settings.rpc_url
    if rpc_url is not None:
        from ledger.cli.common import record_chain

        record_chain(data_dir, rpc_url)  # what later commands on this data dir use
    link = None if rpc_url is None else RecordedChain(rpc_url, settings.keystore, note)

    def banner(_store: Store, signer: LogSigner, url: str, processes: int) -> str:
        return (
            f"serving the API at {url}{'' if processes == 1 else f' in {processes} processes'}"
            f" (receipts signed by {signer.address}); sealing every {settings.seal_interval:g}s"
            + (
                f", anchoring every {settings.anchor_interval:g}s on {rpc_url}"
                if rpc_url is not None
                else ""
            )
            + " (Ctrl-C stops)"
        )

    run_service(settings, Hooks(note), link, banner)


def run_service(
    settings: Settings,
    hooks: Hooks,
    link: ChainLink | None,
    banner: Callable[[Store, LogSigner, str, int], str],
    public_rpc_url: str | None = None,
    stop: threading.Event | None = None,
) -> None:
    """The runtime (`ledger.service.runtime.run`) with the API of `ledger.api.main`;
    its errors become a message and exit 1."""
    from ledger.api.main import create_app
    from ledger.service.runtime import run
    from ledger.store.repository import StoreError

    published = settings.public_rpc_url or public_rpc_url  # never a private RPC URL
    bootstrap = _secret(settings.bootstrap_admin_key)

    def make_app(store: Store, signer: LogSigner, anchor_now: Callable[[], Any] | None) -> Any:
        return create_app(
            store,
            signer,
            anchor_now=anchor_now,
            bootstrap_admin_key=bootstrap,
            public_rpc_url=published,
            explorer_url=settings.explorer_url,
            witnesses=witness_vkeys(settings),
            witness_quorum=settings.quorum,
        )

    try:
        run(settings, database_of(settings), make_app, link, hooks, banner, stop=stop)
    except (LedgerError, StoreError) as error:
        fail(str(error))


@dataclass
class RecordedChain:
    """The chain at `rpc_url`, where the database records its deployment: the runtime's
    `ChainLink` for `serve` and `up`."""

    rpc_url: str
    keystore: Path | None
    note: Callable[[str], None]

    def connect(self, store: Store, signer: LogSigner) -> Chain:
        from ledger.chain.keys import DEV_CHAIN_ID
        from ledger.cli.common import attach_recorded, connect_chain, recorded_deployment
        from ledger.cli.licence import ensure_registry
        from ledger.service.runtime import Chain
        from ledger.store.anchors import AnchorRepository

        repo = AnchorRepository(store)
        deployment = recorded_deployment(repo)
        client = connect_chain(self.rpc_url, self.keystore, deployment=deployment)
        contract = attach_recorded(client, deployment, signer.address)
        deployment, registry = ensure_registry(
            client,
            repo,
            deployment,
            deploy=client.chain_id == DEV_CHAIN_ID,
            issuer=signer.address,
            note=self.note,
        )
        return Chain(contract, deployment, registry)

    def reconnect(self, deployment: Deployment) -> LogAnchor:
        from ledger.cli.common import attach_recorded, connect_chain

        return attach_recorded(connect_chain(self.rpc_url, self.keystore), deployment)


def witness_vkeys(settings: Settings) -> tuple[str, ...]:
    """The cosigner vkeys of the configured witnesses (what the log identity lists)."""
    from ledger.formats.tlog_witness import read_endpoints

    return tuple(e.verifier.key.text() for e in read_endpoints(settings.witnesses or ()))


def log_witnesses(settings: Settings) -> WitnessPolicy | None:
    """The configured witnesses and quorum default evidence is published under (None:
    no witness)."""
    from ledger.formats.cosignature import witness_policy

    vkeys = witness_vkeys(settings)
    return witness_policy(vkeys, settings.quorum) if vkeys else None


def database_of(settings: Settings) -> str:
    """The store URL of the settings: database_url, else SQLite in the data dir."""
    from ledger.store.db import normalize_url, sqlite_url

    url = _secret(settings.database_url)
    return normalize_url(url) if url else sqlite_url(settings.data_dir)


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


__all__ = [
    "SERVICE_OPTIONS",
    "RecordedChain",
    "log_signer",
    "service_options",
]
