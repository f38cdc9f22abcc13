"""`ledger serve`, `ledger keys create|revoke` and `ledger verify-receipt`.

Registered on `ledger.cli.common.app` by the import at the end of ledger/cli.py. The API runs
in uvicorn on a background thread; `serve` seals (and, with a chain, anchors) beside it.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ledger.cli.common import (
    DEFAULT_DATA_DIR,
    Confirmations,
    DatabaseUrl,
    DataDir,
    ExplorerUrl,
    Keystore,
    PublicRpcUrl,
    app,
    emit,
    fail,
    open_store,
)
from ledger.errors import LedgerError
from ledger.service.leader import Leadership, lead
from ledger.store.db import normalize_url, sqlite_url
from ledger.store.repository import Store, StoreError

if TYPE_CHECKING:
    import uvicorn

    from ledger.chain.licence_registry import LicenceRegistry
    from ledger.service.signer import LogSigner
    from ledger.service.workers import WorkerPool

BOOTSTRAP_ADMIN_KEY_ENV = "LEDGER_BOOTSTRAP_ADMIN_KEY"

Host = Annotated[
    str, typer.Option("--host", envvar="LEDGER_HOST", help="Address the API listens on.")
]
Port = Annotated[
    int,
    typer.Option("--port", envvar="LEDGER_PORT", min=0, help="Port of the API (0: any free port)."),
]
Mmd = Annotated[
    int,
    typer.Option(
        "--mmd",
        envvar="LEDGER_MMD",
        min=1,
        help="Maximum merge delay promised in receipts, in seconds.",
    ),
]

keys_app = typer.Typer(help="Create and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


# -- shared with `ledger up` -------------------------------------------------------------


PUBLIC_HOST_ENV = "LEDGER_PUBLIC_HOST"
DEFAULT_PUBLIC_HOST = "localhost"
"""The host of the origin when none is set (docs/c2sp.md): set LEDGER_PUBLIC_HOST first."""

PublicHost = Annotated[
    str | None,
    typer.Option(
        "--public-host",
        envvar=PUBLIC_HOST_ENV,
        help="The log's public host, e.g. ledger.example.com: its C2SP origin is"
        " <host>/<log name>, fixed when the note key is created (default: localhost).",
    ),
]


def log_signer(
    store: Store,
    data_dir: Path,
    mmd: int,
    public_host: str | None = None,
    *,
    log_name: str | None = None,
) -> LogSigner:
    """The log key (LEDGER_LOG_KEY or the keystore in `data_dir`) in the log's EIP-712 domain,
    with the note key (LEDGER_NOTE_KEY or `data_dir`/note-key) whose name is the origin
    `<public host>/<log name>` (`public_host` or LEDGER_PUBLIC_HOST, else localhost; the
    deployment's log name, else `log_name`, the one about to be deployed)."""
    from ledger.errors import LedgerError
    from ledger.formats.eip712 import Domain
    from ledger.formats.tlog_checkpoint import log_origin
    from ledger.service.signer import LogSigner, load_log_key, load_note_key
    from ledger.store.anchors import AnchorRepository

    deployment = AnchorRepository(store).deployment()
    if deployment is None:
        from hashlib import sha256

        domain = Domain(sha256(b"model-ledger").digest())  # the default log name's id
    else:
        domain = Domain(deployment.log_id, deployment.chain_id, deployment.contract)
    host = public_host or os.environ.get(PUBLIC_HOST_ENV) or None
    try:
        name = deployment.log_name if deployment else log_name or "model-ledger"
        # Any log name works on chain; the origin takes it as one URL path segment.
        segment = re.sub(r"[^A-Za-z0-9._~-]+", "-", name).strip("-")[:128] or "log"
        origin = log_origin(host or DEFAULT_PUBLIC_HOST, segment)
        note = load_note_key(data_dir, origin, pinned=host is not None)
        return LogSigner(load_log_key(data_dir), domain, mmd, note)
    except LedgerError as error:
        fail(str(error))


@dataclass
class ApiServer:
    """uvicorn serving an app on a background thread."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        """Finish open requests and stop."""
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_api(api: Any, host: str, port: int) -> ApiServer:
    """Serve `api` on host:port (0: a free port) and return once it accepts connections."""
    import uvicorn

    config = uvicorn.Config(
        api, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            fail(f"the API could not listen on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return ApiServer(server, thread, f"http://{host}:{bound}")


def bootstrap_key() -> str | None:
    """LEDGER_BOOTSTRAP_ADMIN_KEY, if set."""
    return os.environ.get(BOOTSTRAP_ADMIN_KEY_ENV) or None


# -- commands ------------------------------------------------------------------------------


@keys_app.command("create")
def create_key(
    role: Annotated[str, typer.Option("--role", help="ingest, auditor, licensee or admin.")],
    licensee: Annotated[
        str | None, typer.Option("--licensee", help="The licensee id a licensee key is scoped to.")
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
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
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
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
        str, typer.Argument(metavar="ID", help="The id printed by `ledger keys create`.")
    ],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke an API key: it is refused from the next request on."""
    from ledger.store.keys import KeyRepository

    with open_store(data_dir, database_url) as store:
        revoked = KeyRepository(store).revoke(key_id)
    emit({"id": revoked.id, "role": revoked.role.value, "revoked_at": revoked.revoked_at})


@app.command()
def serve(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    rpc_url: Annotated[
        str | None,
        typer.Option(
            "--rpc-url",
            envvar="LEDGER_RPC_URL",
            help="Anchor on this chain (needs a recorded deployment).",
        ),
    ] = None,
    keystore: Keystore = None,
    confirmations: Confirmations = 1,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    seal_interval: Annotated[
        float,
        typer.Option(
            "--seal-interval", envvar="LEDGER_SEAL_INTERVAL", help="Seconds between seals."
        ),
    ] = 1.0,
    anchor_interval: Annotated[
        float,
        typer.Option(
            "--anchor-interval", envvar="LEDGER_ANCHOR_INTERVAL", help="Seconds between anchors."
        ),
    ] = 60.0,
    mmd: Mmd = 3600,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            envvar="LEDGER_WORKERS",
            min=1,
            help="API processes sharing --port (one per core).",
        ),
    ] = 1,
    public_rpc_url: PublicRpcUrl = None,
    explorer: ExplorerUrl = None,
    public_host: PublicHost = None,
) -> None:
    """Serve the HTTP API against the configured database; seal every --seal-interval and,
    with --rpc-url and a recorded deployment, anchor every --anchor-interval.

    Several `serve` processes may share one PostgreSQL database: all serve the API, and
    the sequencer and the anchorer each run in one of them at a time (an advisory lock
    elects them; the others stand by and take over when the leader stops). Stop with
    Ctrl-C or SIGTERM. On any chain but the dev chain (id 31337) `serve` refuses to start
    while --data-dir holds the log's admin key (move it offline).
    """
    from ledger.api.main import create_app
    from ledger.cli.common import admin_key_kept_apart
    from ledger.service.sequencer import seal as seal_log
    from ledger.store.anchors import AnchorRepository

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def note(text: str) -> None:
        sys.stderr.write(f"ledger: {text}\n")
        sys.stderr.flush()

    with open_store(data_dir, database_url) as store:
        recorded = AnchorRepository(store).deployment()
    if recorded is not None:  # the chain this log anchors to (checked against --rpc-url later)
        admin_key_kept_apart(data_dir, recorded.chain_id)
    published = (public_rpc_url, explorer)
    pool = _fork_api_workers(
        workers,
        data_dir,
        database_url,
        rpc_url,
        keystore,
        confirmations,
        host,
        port,
        mmd,
        published,
        public_host,
    )
    with open_store(data_dir, database_url) as store:
        signer = log_signer(store, data_dir, mmd, public_host)
        anchor_now = None
        worker: threading.Thread | None = None
        registry: LicenceRegistry | None = None
        if rpc_url is not None:
            from ledger.chain.errors import ChainError
            from ledger.chain.keys import DEV_CHAIN_ID
            from ledger.cli.common import attach_recorded, connect_chain, recorded_deployment
            from ledger.cli.licence import ensure_registry, start_issuer
            from ledger.service.anchorer import Anchorer

            repo = AnchorRepository(store)
            deployment = recorded_deployment(repo)
            try:
                client = connect_chain(rpc_url, keystore, deployment=deployment)
                contract = attach_recorded(client, deployment, signer.address)
                deployment, registry = ensure_registry(
                    client,
                    repo,
                    deployment,
                    deploy=client.chain_id == DEV_CHAIN_ID,
                    issuer=signer.address,
                    note=note,
                )
            except ChainError as error:
                fail(str(error))
            anchorer = Anchorer(store, contract, deployment, signer, confirmations=confirmations)

            def anchor_now() -> Any:
                fresh = attach_recorded(connect_chain(rpc_url, keystore), deployment)
                return Anchorer(
                    store, fresh, deployment, signer, confirmations=confirmations
                ).anchor_latest(120)

            def anchor_loop() -> None:
                def anchor_term(term: threading.Event) -> None:
                    # The licence issuer sends with the anchor key: it follows the anchorer's role.
                    issuer = (
                        None
                        if registry is None
                        else start_issuer(
                            store, registry, signer, term, anchor_interval, confirmations, note=note
                        )
                    )
                    try:
                        anchorer.run(
                            term, anchor_interval, on_error=lambda text: note(f"anchoring: {text}")
                        )
                    finally:
                        term.set()
                        if issuer is not None:
                            issuer.join(timeout=30)

                try:
                    lead(Leadership(store, "anchorer"), stop, anchor_term, note=note)
                except BaseException as error:  # noqa: BLE001 - reported, serving goes on
                    note(f"anchoring stopped: {error}")

            worker = threading.Thread(target=anchor_loop, name="anchorer", daemon=True)
        try:
            api = create_app(
                store,
                signer,
                anchor_now=anchor_now,
                bootstrap_admin_key=bootstrap_key(),
                public_rpc_url=public_rpc_url,
                explorer_url=explorer,
            )
        except LedgerError as error:
            fail(str(error))
        server = None if pool is not None else start_api(api, host, port)
        url = pool.url if pool is not None else server.url if server is not None else ""
        if worker is not None:
            worker.start()
            if registry is None:
                note(
                    "no LicenceRegistry on this chain: licences stay queued until `ledger deploy` deploys one"
                )
        processes = "" if pool is None else f" in {len(pool.pids)} processes"
        note(
            f"serving the API at {url}{processes} (receipts signed by {signer.address}); sealing every {seal_interval:g}s"
            + (f", anchoring every {anchor_interval:g}s on {rpc_url}" if worker is not None else "")
            + " (Ctrl-C stops)"
        )

        def seal_term(term: threading.Event) -> None:
            while not term.is_set():
                try:
                    seal_log(store, note=signer.note)
                except StoreError as error:
                    note(f"sealing: {error}")
                if pool is not None and not pool.alive():
                    note("every API worker has stopped")
                    stop.set()
                term.wait(seal_interval)

        try:
            lead(Leadership(store, "sequencer"), stop, seal_term, note=note)
        finally:
            stop.set()
            if server is not None:
                server.stop()
            if pool is not None:
                pool.stop()
            if worker is not None:
                worker.join(timeout=30)


def _fork_api_workers(
    workers: int,
    data_dir: Path,
    database_url: str | None,
    rpc_url: str | None,
    keystore: Path | None,
    confirmations: int,
    host: str,
    port: int,
    mmd: int,
    published: tuple[str | None, str | None],
    public_host: str | None = None,
) -> WorkerPool | None:
    """With more than one worker: migrate the database, then fork the API processes
    (before this process opens connections or starts threads). None for one worker."""
    if workers == 1:
        return None
    from ledger.api.main import create_app
    from ledger.service.workers import fork_workers

    with open_store(data_dir, database_url) as store:
        log_signer(store, data_dir, mmd, public_host)  # migrations and new keys: once, here
    url = normalize_url(database_url) if database_url else sqlite_url(data_dir)

    def make_app() -> Any:
        store = Store.open(url)

        def anchor_now() -> Any:
            from ledger.cli.common import attach_recorded, connect_chain, recorded_deployment
            from ledger.service.anchorer import Anchorer
            from ledger.store.anchors import AnchorRepository

            deployment = recorded_deployment(AnchorRepository(store))
            contract = attach_recorded(connect_chain(rpc_url or "", keystore), deployment)
            return Anchorer(
                store, contract, deployment, signer, confirmations=confirmations
            ).anchor_latest(120)

        signer = log_signer(store, data_dir, mmd, public_host)
        return create_app(
            store,
            signer,
            anchor_now=anchor_now if rpc_url else None,
            bootstrap_admin_key=bootstrap_key(),
            public_rpc_url=published[0],
            explorer_url=published[1],
        )

    try:
        return fork_workers(workers, host, port, make_app)
    except OSError as error:
        fail(f"the API could not listen on {host}:{port}: {error}")


__all__ = ["ApiServer", "bootstrap_key", "log_signer", "start_api"]
