"""The `ledger` command line. Output is JSON; errors go to stderr with a non-zero exit."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from ledger.errors import LedgerError
from ledger.jsonlimits import restore_recursion_limit
from ledger.records import RecordError
from ledger.store.db import DatabaseURLError, normalize_url, sqlite_url
from ledger.store.repository import Store, StoreError

if TYPE_CHECKING:  # the chain modules load web3: imported by the commands that need them
    from ledger.chain.client import ChainClient
    from ledger.chain.log_anchor import LogAnchor
    from ledger.formats.identity import LogIdentity
    from ledger.store.anchors import Anchor, AnchorRepository, Deployment

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
PublicRpcUrl = Annotated[
    str | None,
    typer.Option(
        "--public-rpc-url",
        envvar="LEDGER_PUBLIC_RPC_URL",
        help="A JSON-RPC endpoint of the chain the log identity suggests to verifiers (they may use their own).",
    ),
]
ExplorerUrl = Annotated[
    str | None,
    typer.Option("--explorer", envvar="LEDGER_EXPLORER_URL", help="A block explorer the log identity names (<url>/tx/<hash>)."),
]
LogFile = Annotated[
    Path | None,
    typer.Option(
        "--log",
        envvar="LEDGER_LOG",
        help="The log identity document to pin (from the operator: `ledger identity`, GET /v1/log).",
    ),
]


def pinned_identity(path: Path | None, *, offline_ok: bool = False) -> LogIdentity | None:
    """The log identity in `path`; without one, exit 2 saying why it is needed (or None
    when `offline_ok`: the caller checks the mathematics alone and says so)."""
    from ledger.formats.identity import IdentityError, parse_identity

    if path is None:
        if offline_ok:
            return None
        fail(
            "no log identity pinned: pass --log FILE (or set LEDGER_LOG), the identity document the log's operator"
            " published (`ledger identity`, GET /v1/log). Without it any look-alike contract could pass",
            2,
        )
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as error:
        fail(f"cannot read the log identity {path}: {error.strerror or error}", 2)
    try:
        return parse_identity(data)
    except IdentityError as error:
        fail(f"{path}: {error}", 2)


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
    try:
        store = Store.open(normalize_url(database_url) if database_url else sqlite_url(data_dir))
    except DatabaseURLError as error:
        fail(str(error))
    except (SQLAlchemyError, OSError) as error:  # the driver's own words say what is wrong
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
                stored.extend(entry[0] for entry in chunk)  # leaf hash (Entry field 0)
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

    with open_store(data_dir, database_url) as store, progress_bar("seal", store.pending_count()) as advance:
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


RpcUrl = Annotated[
    str | None,
    typer.Option("--rpc-url", envvar="LEDGER_RPC_URL", help="JSON-RPC URL of the chain (default: http://127.0.0.1:8545)."),
]
Keystore = Annotated[
    Path | None,
    typer.Option(
        "--keystore",
        envvar="LEDGER_KEYSTORE",
        help="Encrypted V3 keystore of the anchor key (password in LEDGER_KEYSTORE_PASSWORD); default: LEDGER_ANCHOR_KEY.",
    ),
]
Confirmations = Annotated[
    int,
    typer.Option("--confirmations", envvar="LEDGER_CONFIRMATIONS", min=1, help="Blocks an anchor must be deep to count as confirmed."),
]
LogName = Annotated[
    str | None,
    typer.Option("--log-name", envvar="LEDGER_LOG_NAME", help="Name of the log; its id is the SHA-256 of the name (default: model-ledger)."),
]
Admin = Annotated[
    str | None,
    typer.Option(
        "--admin",
        envvar="LEDGER_ADMIN_ADDRESS",
        help="Address of the log's admin key, kept offline: it alone can retire the log (`ledger retire`)."
        " Default: a new key in --data-dir (admin-key.json), to move offline.",
    ),
]
DEFAULT_RPC_URL = "http://127.0.0.1:8545"


def log_admin(admin: str | None, data_dir: Path, note: Callable[[str], None]) -> str:
    """The address a new log's admin will be: --admin, else the data dir's admin key
    (created now, unless a deployment that did not finish left one), with advice to
    move it offline. The key is never printed: only its address and where it is."""
    from eth_utils.address import is_address, to_checksum_address

    from ledger.admin_key import (
        ADMIN_KEY_FILE,
        ADMIN_KEY_PASSWORD_FILE,
        AdminKeyError,
        create_admin_key,
    )

    if admin is not None:
        if not is_address(admin):
            fail(f"--admin must be an address (0x and 40 hex digits, checksummed if mixed case), got {admin!r}")
        return str(to_checksum_address(admin))
    try:
        address, created = create_admin_key(data_dir)
    except AdminKeyError as error:
        fail(f"no --admin given, and the data dir's admin key cannot be used: {error}")
    password = data_dir / ADMIN_KEY_PASSWORD_FILE
    where = f"{data_dir / ADMIN_KEY_FILE}" + (f" (password in {password})" if password.exists() else "")
    note(
        f"{'created' if created else 'using'} the log's admin key {address} in {where}. It alone can retire the log"
        " if the log key leaks (`ledger retire`), and the service never needs it: move it offline now (keep a copy"
        " safe), or deploy with --admin ADDRESS to name a key you keep elsewhere"
    )
    return address


def anchor_json(anchor: Anchor, deployment: Deployment) -> dict[str, Any]:
    """An anchor row as printed: hashes and addresses as 0x hex."""

    def opt(value: bytes | None) -> str | None:
        return None if value is None else hex0x(value)

    return {
        "log_id": hex0x(deployment.log_id),
        "tree_size": anchor.tree_size,
        "root": hex0x(anchor.root),
        "status": anchor.status.value,
        "tx_hash": opt(anchor.tx_hash),
        "block_number": anchor.block_number,
        "block_hash": opt(anchor.block_hash),
        "block_timestamp": anchor.block_timestamp,
        "gas_used": anchor.gas_used,
        "contract": hex0x(deployment.contract),
        "chain_id": deployment.chain_id,
    }


def _connect(
    rpc_url: str, keystore: Path | None, *, signing: bool = True, deployment: Deployment | None = None
) -> ChainClient:
    """A chain client for `rpc_url`, with the anchor key when `signing`.

    With `deployment`, the chain is checked to be the recorded one (chain id, contract,
    log) before the key is looked for: a mis-configured chain is named as such, not as a
    missing key."""
    from ledger.chain.client import ChainClient
    from ledger.chain.deployment import attach
    from ledger.chain.keys import load_anchor_key

    client = ChainClient(rpc_url)
    if deployment is not None:
        attach(client, deployment.chain_id, deployment.contract, deployment.log_id)
    if signing:
        client.key = load_anchor_key(keystore, chain_id=client.chain_id)
    return client


def _attach(client: ChainClient, deployment: Deployment, log_signer: str | None = None) -> LogAnchor:
    """The recorded LogAnchor on the chain `client` reaches, checked (with `log_signer`,
    also that the log is anchored with that log key)."""
    from ledger.chain.deployment import attach

    return attach(
        client,
        deployment.chain_id,
        deployment.contract,
        deployment.log_id,
        from_block=deployment.block_number,
        log_signer=log_signer,
    )


def _deploy(
    client: ChainClient,
    repo: AnchorRepository,
    log_name: str,
    log_signer: str,
    admin: str,
    *,
    before_record: Callable[[], None] | None = None,
) -> tuple[Deployment, LogAnchor]:
    """Deploy LogAnchor, create the log with `log_signer` (the log key's address) as its
    key and `admin` as its admin, deploy LicenceRegistry next to it with the log key as
    its issuer, and record the deployment in the database (after `before_record`:
    `ledger up` saves the chain's state there, so the database never names a contract
    the saved chain lacks)."""
    from ledger.chain.deployment import deploy_log
    from ledger.chain.licence_registry import deploy_registry
    from ledger.records import now_ts
    from ledger.store.anchors import Deployment

    try:
        deployed, contract = deploy_log(client, log_signer, log_name, admin=admin)
    except ValueError as error:
        fail(f"{error}; nothing was deployed")
    registry, _bound = deploy_registry(client, log_signer)
    deployment = Deployment(
        deployed.chain_id,
        deployed.contract,
        deployed.log_id,
        deployed.log_name,
        deployed.deployer,
        deployed.block_number,
        now_ts(),
        registry.contract,
    )
    if before_record is not None:
        before_record()
    repo.record_deployment(deployment)
    return deployment, contract


def _recorded_deployment(repo: AnchorRepository) -> Deployment:
    """The deployment this database anchors to, or a clear error."""
    deployment = repo.deployment()
    if deployment is None:
        fail("this database records no LogAnchor deployment: run `ledger deploy --rpc-url URL` (or `ledger up`) first")
    return deployment


@app.command()
def up(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    seal_interval: Annotated[float, typer.Option("--seal-interval", envvar="LEDGER_SEAL_INTERVAL", help="Seconds between seals.")] = 1.0,
    anchor_interval: Annotated[
        float, typer.Option("--anchor-interval", envvar="LEDGER_ANCHOR_INTERVAL", help="Seconds between anchors (when the log grew).")
    ] = 60.0,
    rpc_port: Annotated[
        int, typer.Option("--rpc-port", envvar="LEDGER_RPC_PORT", help="Port of the embedded Anvil chain (0: any free port).")
    ] = 8545,
    rpc_url: Annotated[
        str | None, typer.Option("--rpc-url", envvar="LEDGER_RPC_URL", help="Use this chain instead of the embedded Anvil.")
    ] = None,
    keystore: Keystore = None,
    confirmations: Confirmations = 1,
    log_name: LogName = None,
    host: Annotated[str, typer.Option("--host", envvar="LEDGER_HOST", help="Address the API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", envvar="LEDGER_PORT", min=0, help="Port of the API (0: any free port).")] = 8000,
    public_rpc_url: PublicRpcUrl = None,
    explorer: ExplorerUrl = None,
    admin: Admin = None,
) -> None:
    """Run the log on embedded defaults: serve the API on --port, seal every
    --seal-interval, anchor every --anchor-interval on a local Anvil chain (state kept
    in --data-dir).

    On first start the LogAnchor contract is deployed and the log created, its admin
    --admin or a new key in --data-dir (move it offline); the chain and the contract
    are checked at every start. Each checkpoint and each confirmed
    anchor is printed as a JSON line ("type": "checkpoint" or "anchor"). Stop with
    Ctrl-C or SIGTERM: the chain's state is saved (it is also saved every second while
    it changes; anchors a killed chain lost are sent again at the next start).
    """
    import logging
    import threading

    from ledger.anchorer import AnchorConflictError, Anchorer
    from ledger.api.main import create_app
    from ledger.chain.anvil import LOG_FILE, STATE_FILE, Anvil
    from ledger.chain.deployment import DEFAULT_LOG_NAME
    from ledger.chain.errors import ChainError
    from ledger.chain.keys import DEV_CHAIN_ID
    from ledger.cli_licence import call_json, ensure_registry, start_issuer
    from ledger.cli_service import ApiServer, bootstrap_key, log_signer, start_api
    from ledger.sequencer import seal as seal_log
    from ledger.store.anchors import AnchorRepository

    stop = threading.Event()
    out_lock = threading.Lock()
    fatal: list[BaseException] = []

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    def line(obj: dict[str, Any]) -> None:
        with out_lock:
            emit(obj)
            sys.stdout.flush()

    def note(text: str) -> None:
        with out_lock:
            sys.stderr.write(f"ledger: {text}\n")
            sys.stderr.flush()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="ledger: %(message)s")
    anvil: Anvil | None = None
    worker: threading.Thread | None = None
    licence_worker: threading.Thread | None = None
    server: ApiServer | None = None
    with open_store(data_dir, database_url) as store:
        try:
            repo = AnchorRepository(store)
            if rpc_url is None:
                anvil = Anvil(rpc_port, data_dir / STATE_FILE, data_dir / LOG_FILE).start()
            deployment = repo.deployment()
            client = _connect(anvil.url if anvil else rpc_url or DEFAULT_RPC_URL, keystore, deployment=deployment)
            key = client.require_key()
            if anvil is not None and client.balance(key.address) == 0:
                client.request("anvil_setBalance", [key.address, hex(10**22)])
            if deployment is None:
                if anvil is None and client.chain_id != DEV_CHAIN_ID:
                    fail(f"this database records no deployment on {client.where}: run `ledger deploy --rpc-url URL` first")
                deployment, contract = _deploy(
                    client,
                    repo,
                    log_name or DEFAULT_LOG_NAME,
                    log_signer(store, data_dir, 3600).address,
                    log_admin(admin, data_dir, note),
                    before_record=anvil.save_state if anvil else None,
                )
                note(
                    f"deployed LogAnchor at {hex0x(deployment.contract)} on chain id {deployment.chain_id},"
                    f" log {deployment.log_name!r} ({hex0x(deployment.log_id)})"
                )
            else:
                if log_name is not None and log_name != deployment.log_name:
                    fail(f"this database anchors log {deployment.log_name!r}, not {log_name!r}")
                contract = _attach(client, deployment, log_signer(store, data_dir, 3600).address)
            signer = log_signer(store, data_dir, 3600)
            deployment, registry = ensure_registry(
                client,
                repo,
                deployment,
                deploy=anvil is not None or client.chain_id == DEV_CHAIN_ID,
                issuer=signer.address,
                note=note,
            )
            if anvil is not None:
                anvil.save_state()  # and every second while the head moves (ledger/chain/anvil.py)
            state = store.state()
            anchorer = Anchorer(store, contract, deployment, signer, confirmations=confirmations)
            api = create_app(
                store,
                signer,
                anchor_now=lambda: Anchorer(store, contract, deployment, signer, confirmations=confirmations).anchor_latest(120),
                bootstrap_admin_key=bootstrap_key(),
                public_rpc_url=public_rpc_url or (anvil.url if anvil else None),  # never a private RPC URL
                explorer_url=explorer,
            )
            server = start_api(api, host, port)
            note(
                f"log at {store.engine.url.render_as_string(hide_password=True)}, tree size {state.tree_size};"
                f" chain {client.where} (chain id {deployment.chain_id}"
                + (", embedded Anvil" if anvil else "")
                + f"), LogAnchor {hex0x(deployment.contract)}, anchor key {key.address}; API at {server.url};"
                f" sealing every {seal_interval:g}s, anchoring every {anchor_interval:g}s (Ctrl-C stops)"
            )

            def anchor_loop() -> None:
                try:
                    anchorer.run(
                        stop,
                        anchor_interval,
                        on_confirmed=lambda row: line({"type": "anchor", **anchor_json(row, deployment)}),
                        on_error=lambda text: note(f"anchoring: {text}"),
                    )
                except BaseException as error:  # noqa: BLE001 - reported by the main thread
                    fatal.append(error)
                    stop.set()

            worker = threading.Thread(target=anchor_loop, name="anchorer", daemon=True)
            worker.start()
            if registry is None:
                note("no LicenceRegistry on this chain: licences stay queued until `ledger deploy` deploys one")
            else:
                note(f"LicenceRegistry {registry.address}: queued licence calls go on chain every {anchor_interval:g}s")
                licence_worker = start_issuer(
                    store, registry, signer, stop, anchor_interval, confirmations,
                    on_confirmed=lambda call: line({"type": "licence", **call_json(call)}), note=note,
                )
            while not stop.is_set():
                new = seal_log(store)
                if new.tree_size != state.tree_size:
                    line({"type": "checkpoint", "tree_size": new.tree_size, "root": hex0x(new.root)})
                    state = new
                stop.wait(seal_interval)
        except (ChainError, AnchorConflictError, LedgerError) as error:
            fail(str(error))
        finally:
            stop.set()
            if server is not None:
                server.stop()
            if worker is not None:
                worker.join(timeout=30)
            if licence_worker is not None:
                licence_worker.join(timeout=30)
            if anvil is not None:
                anvil.stop()
        if fatal:
            stopped = fatal[0]
            if isinstance(stopped, (LedgerError, StoreError)):
                fail(f"anchoring stopped: {stopped}")
            fail(f"anchoring stopped: {type(stopped).__name__}: {stopped}")


@app.command()
def deploy(
    rpc_url: RpcUrl = None,
    log_name: LogName = None,
    keystore: Keystore = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    admin: Admin = None,
) -> None:
    """Deploy LogAnchor, create the log (its admin: --admin, or a new key in --data-dir to
    move offline; its checkpoints: those the data dir's log key signs), deploy
    LicenceRegistry (the log key is its issuer; the anchor key, its owner, only pays the
    gas) and record the deployment in the database. On a database whose deployment has
    no LicenceRegistry yet, deploy only that."""
    from ledger.chain.deployment import DEFAULT_LOG_NAME
    from ledger.cli_licence import ensure_registry
    from ledger.cli_service import log_signer
    from ledger.store.anchors import AnchorRepository

    def note(text: str) -> None:
        sys.stderr.write(f"ledger: {text}\n")

    admin_address = None
    with open_store(data_dir, database_url) as store:
        repo = AnchorRepository(store)
        existing = repo.deployment()
        if existing is not None and existing.registry is not None:
            fail(
                f"this database already anchors log {existing.log_name!r} to contract {hex0x(existing.contract)}"
                f" on chain id {existing.chain_id}: use another --data-dir or --database-url for a new deployment"
            )
        client = _connect(rpc_url or DEFAULT_RPC_URL, keystore)
        signer_address = log_signer(store, data_dir, 3600).address
        if existing is None:
            admin_address = log_admin(admin, data_dir, note)
            deployment, _contract = _deploy(client, repo, log_name or DEFAULT_LOG_NAME, signer_address, admin_address)
        else:
            _attach(client, existing)
            deployment, _registry = ensure_registry(client, repo, existing, deploy=True, issuer=signer_address, note=note)
    assert deployment.registry is not None
    emit(
        {
            "contract": hex0x(deployment.contract),
            "log_id": hex0x(deployment.log_id),
            "chain_id": deployment.chain_id,
            "block_number": deployment.block_number,
            "registry": hex0x(deployment.registry),
        }
        | ({} if admin_address is None else {"admin": admin_address})
    )


@app.command()
def anchor(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    rpc_url: RpcUrl = None,
    keystore: Keystore = None,
    confirmations: Confirmations = 1,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the confirmed anchor.")] = 120.0,
) -> None:
    """Seal what is pending, anchor the latest checkpoint now (signed by the log key) and
    wait until it is confirmed."""
    from ledger.anchorer import Anchorer
    from ledger.cli_service import log_signer
    from ledger.sequencer import seal as seal_log
    from ledger.store.anchors import AnchorRepository

    with open_store(data_dir, database_url) as store:
        repo = AnchorRepository(store)
        deployment = _recorded_deployment(repo)
        seal_log(store)
        client = _connect(rpc_url or DEFAULT_RPC_URL, keystore, deployment=deployment)
        signer = log_signer(store, data_dir, 3600)
        contract = _attach(client, deployment, signer.address)
        row = Anchorer(store, contract, deployment, signer, confirmations=confirmations).anchor_latest(timeout)
    result = anchor_json(row, deployment)
    del result["status"]  # always confirmed here
    emit(result)


@app.command()
def anchors(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    rpc_url: Annotated[
        str | None,
        typer.Option("--rpc-url", envvar="LEDGER_RPC_URL", help="Follow submitted anchors and check for reorganisations on this chain first."),
    ] = None,
    confirmations: Confirmations = 1,
) -> None:
    """List the anchors and their states, one JSON line each, smallest tree size first."""
    from ledger.anchorer import Anchorer
    from ledger.store.anchors import AnchorRepository

    with open_store(data_dir, database_url) as store:
        repo = AnchorRepository(store)
        deployment = _recorded_deployment(repo)
        if rpc_url is not None:
            contract = _attach(_connect(rpc_url, None, signing=False), deployment)
            Anchorer(store, contract, deployment, None, confirmations=confirmations).refresh()
        rows = repo.anchors()
    for row in rows:
        emit(
            anchor_json(row, deployment)
            | {
                "prev_size": row.prev_size,
                "nonce": row.nonce,
                "attempts": row.attempts,
                "last_error": row.last_error,
                "created_at": row.created_at,
                "updated_at": row.updated_at,
            }
        )


@app.command()
def relay(
    url: Annotated[str, typer.Option("--url", envvar="LEDGER_URL", help="The log's service (its public checkpoints and proofs).")],
    rpc_url: Annotated[str, typer.Option("--rpc-url", envvar="LEDGER_RPC_URL", help="JSON-RPC URL of a node of the log's chain.")],
    log: LogFile = None,
    size: Annotated[int | None, typer.Option("--size", min=1, help="Relay the checkpoint of this tree size (default: the latest).")] = None,
    keystore: Keystore = None,
) -> None:
    """Anchor the log's latest signed checkpoint yourself, paying the gas with your own key
    (LEDGER_ANCHOR_KEY or --keystore): LogAnchor takes any checkpoint the log key signed,
    from anyone. The checkpoint and the consistency proof from the chain's latest anchor
    are checked against the pinned log identity (--log) and the chain before anything
    is sent; a checkpoint that does not extend the chain's is refused as a split view."""
    import httpx

    from ledger.chain.errors import ChainError
    from ledger.formats.strict_json import StrictJsonError, load_strict
    from ledger.relay import RelayError, read_checkpoint
    from ledger.relay import relay as relay_checkpoint

    identity = pinned_identity(log)
    assert identity is not None
    base = url.rstrip("/")

    def get(path: str) -> Any:
        try:
            response = httpx.get(base + path, timeout=30.0)
        except httpx.HTTPError as error:
            fail(f"the service at {base} is unreachable: {type(error).__name__}", 3)
        if response.status_code != 200:
            fail(f"GET {path} answered {response.status_code}: {response.text[:300]}")
        try:
            return load_strict(response.content, 1 << 20, f"GET {path}")
        except StrictJsonError as error:
            fail(str(error))

    try:
        checkpoint = read_checkpoint(get(f"/v1/checkpoints/{size or 'latest'}"), identity)
        client = _connect(rpc_url, keystore)
        done = relay_checkpoint(
            client, identity, checkpoint, lambda first, second: get(f"/v1/proofs/consistency?first={first}&second={second}")
        )
    except (RelayError, ChainError) as error:
        fail(str(error))
    receipt = done.receipt
    emit(
        {
            "log_id": hex0x(identity.log_id),
            "tree_size": done.tree_size,
            "root": hex0x(done.root),
            "prev_size": done.prev_size,
            "relayed": receipt is not None,
            "tx_hash": None if receipt is None else hex0x(receipt.tx_hash),
            "block_number": None if receipt is None else receipt.block_number,
            "gas_used": None if receipt is None else receipt.gas_used,
        }
    )


@app.command()
def retire(
    trusted_size: Annotated[int, typer.Option("--trusted-size", min=0, help="The largest anchored size you still trust (0: none).")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    rpc_url: RpcUrl = None,
    keystore: Keystore = None,
    admin_keystore: Annotated[
        Path | None,
        typer.Option(
            "--admin-keystore",
            envvar="LEDGER_ADMIN_KEYSTORE",
            help="V3 keystore of the log's admin key (password in LEDGER_ADMIN_KEYSTORE_PASSWORD); default:"
            " LEDGER_ADMIN_KEY, else --data-dir's admin-key.json.",
        ),
    ] = None,
    sign_only: Annotated[
        bool,
        typer.Option(
            "--sign-only",
            help="Only sign: print the signed retirement (chain_id, contract, log_id, trusted_size, admin, r, vs) for"
            " anyone to send to LogAnchor.retireLog; nothing is sent and no chain is needed.",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: retiring is final.")] = False,
) -> None:
    """Retire the log on chain for good, after its log key leaked: LogAnchor takes no more
    anchors, and verifiers refuse every anchor above --trusted-size. The log's admin key
    signs the retirement (it needs no gas and may stay offline: see --sign-only); the
    anchor key (--keystore, LEDGER_ANCHOR_KEY) only sends it. Continue in a successor
    log (docs/operations.md, "A leaked log key")."""
    from ledger.admin_key import AdminKeyError, load_admin_key, sign_retire
    from ledger.chain.errors import ChainError
    from ledger.store.anchors import AnchorRepository

    if not yes:
        fail("retiring a log is final: no anchor is accepted after it. Run again with --yes to confirm", 2)
    with open_store(data_dir, database_url) as store:
        deployment = _recorded_deployment(AnchorRepository(store))
    try:
        admin = load_admin_key(data_dir, admin_keystore)
    except AdminKeyError as error:
        fail(str(error))
    signed = sign_retire(admin, deployment.chain_id, deployment.contract, deployment.log_id, trusted_size)
    del admin
    if sign_only:
        emit(signed.as_json())
        sys.stderr.write(
            f"signed the retirement of log {hex0x(deployment.log_id)} (trusted up to size {trusted_size}) with admin key"
            f" {signed.admin}: anyone may send it to LogAnchor {hex0x(deployment.contract)} on chain id"
            f" {deployment.chain_id}, retireLog(log_id, trusted_size, r, vs). Nothing was sent\n"
        )
        return
    try:
        from ledger.chain.log_anchor import LogAnchor

        client = _connect(rpc_url or DEFAULT_RPC_URL, keystore)
        if client.chain_id != deployment.chain_id:
            fail(f"the chain at {client.where} has chain id {client.chain_id}; this log is on chain id {deployment.chain_id}")
        contract = LogAnchor(client, deployment.contract, from_block=deployment.block_number)
        before = contract.log_info(deployment.log_id)
        if before is None:
            fail(f"log {hex0x(deployment.log_id)} does not exist on contract {hex0x(deployment.contract)}; nothing was sent")
        if before.admin.lower() != signed.admin.lower():
            fail(
                f"{signed.admin} is not the admin of log {hex0x(deployment.log_id)}: its admin is {before.admin}. Sign"
                " with the admin key (--admin-keystore FILE, LEDGER_ADMIN_KEY, or the data dir's admin-key.json);"
                " nothing was sent"
            )
        if before.retired:
            fail(f"log {hex0x(deployment.log_id)} is retired already (trusted up to size {before.trusted_size})")
        receipt = contract.retire_log(deployment.log_id, trusted_size, (signed.r, signed.vs))
        info = contract.log_info(deployment.log_id)
    except ChainError as error:
        fail(str(error))
    assert info is not None
    emit(
        {
            "log_id": hex0x(deployment.log_id),
            "retired": info.retired,
            "trusted_size": info.trusted_size,
            "latest_size": info.latest_size,
            "admin": signed.admin,
            "tx_hash": hex0x(receipt.tx_hash),
            "block_number": receipt.block_number,
        }
    )


@app.command()
def identity(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the document to this file instead of stdout.")] = None,
    public_rpc_url: PublicRpcUrl = None,
    explorer: ExplorerUrl = None,
) -> None:
    """Print the log's identity document (`model-ledger/log/v1`): its chain, LogAnchor,
    log id, LicenceRegistry, log key and deployment block. Publish it once; auditors,
    regulators and licensees pin it with `--log FILE`."""
    from ledger.cli_service import log_signer
    from ledger.store.anchors import AnchorRepository

    with open_store(data_dir, database_url) as store:
        deployment = _recorded_deployment(AnchorRepository(store))
        signer = log_signer(store, data_dir, 3600)
    document = deployment.identity(bytes.fromhex(signer.address[2:]), rpc_url=public_rpc_url, explorer=explorer).as_json()
    if out is None:
        emit(document)
        return
    out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    sys.stderr.write(f"wrote the identity of log {document['name']!r} to {out}\n")


import ledger.cli_audit  # registers export, audit, report
import ledger.cli_evidence  # registers evidence, verify
import ledger.cli_licence  # registers licence check|grant|revoke
import ledger.cli_service  # noqa: F401  (registers serve, keys, verify-receipt)


def main() -> None:
    """Entry point of `ledger` and `python -m ledger`."""
    restore_recursion_limit()  # before any command reads input: see ledger.jsonlimits
    try:
        app()
    except RecordError as error:  # pragma: no cover - safety net
        fail(str(error))


if __name__ == "__main__":
    main()
