"""`mledger up`, `deploy`, `anchor`, `anchors`, `relay`, `retire`, `identity`: the log on chain."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ledger.cli.common import (
    DEFAULT_RPC_URL,
    FROM_SETTINGS,
    Admin,
    ChainRpcUrl,
    Confirmations,
    DatabaseUrl,
    DataDir,
    ExplorerUrl,
    Keystore,
    LogFile,
    LogName,
    PublicRpcUrl,
    RpcUrl,
    Setting,
    admin_key_kept_apart,
    anchor_json,
    app,
    attach_recorded,
    connect_chain,
    deploy_contracts,
    emit,
    fail,
    hex0x,
    log_admin,
    open_store,
    pinned_identity,
    record_chain,
    recorded_chain_url,
    recorded_deployment,
)
from ledger.cli.service import service_options
from ledger.errors import LedgerError

if TYPE_CHECKING:
    from ledger.config import Settings
    from ledger.service.signer import LogSigner
    from ledger.store.repository import Store


UP_OPTIONS: dict[str, Any] = {
    "rpc_port": Annotated[
        int | None,
        typer.Option("--rpc-port", help="Port of the embedded Anvil chain (0: any free port)."),
    ],
    "log_name": LogName,
    "admin_address": Admin,
}
"""`up`'s own options beside those it shares with `serve` (all settings too)."""


@app.command()
@service_options(UP_OPTIONS)
def up(settings: Settings) -> None:
    """Run the log on embedded defaults: serve the API on --port, seal every
    --seal-interval, anchor every --anchor-interval on a local Anvil chain (state kept
    in --data-dir), or on --rpc-url. Then it is `mledger serve`: the same runtime, leader
    election and settings (docs/configuration.md).

    On first start the LogAnchor contract is deployed and the log created, its admin
    --admin (on the embedded dev chain, else a new key in --data-dir, for development
    only); the chain and the contract are checked at every start, and on any chain but
    the dev chain (id 31337) `up` refuses to start while --data-dir holds the admin key.
    Each checkpoint and each confirmed anchor is printed as a JSON line ("type":
    "checkpoint" or "anchor"). Stop with Ctrl-C or SIGTERM: the chain's state is saved
    (it is also saved every second while it changes; anchors a killed chain lost are sent
    again at the next start).
    """
    import logging
    import threading

    from ledger.chain.anvil import LOG_FILE, STATE_FILE, Anvil
    from ledger.chain.deployment import DEFAULT_LOG_NAME
    from ledger.chain.keys import DEV_CHAIN_ID
    from ledger.cli.licence import call_json, ensure_registry
    from ledger.cli.service import RecordedChain, log_signer, run_service
    from ledger.service.runtime import Hooks
    from ledger.store.anchors import AnchorRepository

    out_lock = threading.Lock()

    def line(obj: dict[str, Any]) -> None:
        with out_lock:
            emit(obj)
            sys.stdout.flush()

    def note(text: str) -> None:
        with out_lock:
            sys.stderr.write(f"ledger: {text}\n")
            sys.stderr.flush()

    data_dir, keystore = settings.data_dir, settings.keystore
    log_name, admin_address = settings.log_name, settings.admin_address
    database_url = (
        None if settings.database_url is None else settings.database_url.get_secret_value()
    )
    stop = threading.Event()  # set by SIGTERM or SIGINT, from the start on
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="ledger: %(message)s")
    anvil: Anvil | None = None
    try:
        with open_store(data_dir, database_url, create=True) as store:
            repo = AnchorRepository(store)
            if settings.rpc_url is None:
                anvil = Anvil(settings.rpc_port, data_dir / STATE_FILE, data_dir / LOG_FILE).start()
            chain_url = anvil.url if anvil else settings.rpc_url or DEFAULT_RPC_URL
            deployment = repo.deployment()
            client = connect_chain(chain_url, keystore, deployment=deployment)
            record_chain(data_dir, chain_url)  # what later commands on this data dir use
            admin_key_kept_apart(data_dir, client.chain_id)
            key = client.require_key()
            if anvil is not None and client.balance(key.address) == 0:
                client.request("anvil_setBalance", [key.address, hex(10**22)])
            signer_address = log_signer(store, data_dir, settings.mmd, log_name=log_name).address
            if deployment is None:
                if anvil is None and client.chain_id != DEV_CHAIN_ID:
                    fail(
                        f"this database records no deployment on {client.where}: run `mledger"
                        " deploy --rpc-url URL` first"
                    )
                deployment, _contract = deploy_contracts(
                    client,
                    repo,
                    log_name or DEFAULT_LOG_NAME,
                    signer_address,
                    log_admin(admin_address, data_dir, note, client.chain_id),
                    before_record=anvil.save_state if anvil else None,
                )
                note(
                    f"deployed LogAnchor at {hex0x(deployment.contract)} on chain id"
                    f" {deployment.chain_id},"
                    f" log {deployment.log_name!r} ({hex0x(deployment.log_id)})"
                )
            else:
                if log_name is not None and log_name != deployment.log_name:
                    fail(f"this database anchors log {deployment.log_name!r}, not {log_name!r}")
                attach_recorded(client, deployment, signer_address)
            deployment, _registry = ensure_registry(
                client,
                repo,
                deployment,
                deploy=anvil is not None or client.chain_id == DEV_CHAIN_ID,
                issuer=signer_address,
                note=note,
            )
            if anvil is not None:
                anvil.save_state()  # and every second while the head moves (ledger/chain/anvil.py)
            tree_size = store.state().tree_size
            where = f"{client.where} (chain id {deployment.chain_id}" + (
                ", embedded Anvil)" if anvil else ")"
            )
            contract_address = hex0x(deployment.contract)

        def banner(store: Store, _signer: LogSigner, url: str, processes: int) -> str:
            return (
                f"log at {store.engine.url.render_as_string(hide_password=True)},"
                f" tree size {tree_size};"
                f" chain {where}, LogAnchor {contract_address}, anchor key {key.address};"
                f" API at {url}{'' if processes == 1 else f' in {processes} processes'};"
                f" sealing every {settings.seal_interval:g}s, anchoring every"
                f" {settings.anchor_interval:g}s (Ctrl-C stops)"
            )

        hooks = Hooks(
            note,
            on_checkpoint=lambda state: line(
                {"type": "checkpoint", "tree_size": state.tree_size, "root": hex0x(state.root)}
            ),
            on_anchor=lambda row, deployed: line({"type": "anchor", **anchor_json(row, deployed)}),
            on_licence=lambda call: line({"type": "licence", **call_json(call)}),
            anchoring_fatal=True,
        )
        run_service(
            settings,
            hooks,
            RecordedChain(chain_url, keystore, note),
            banner,
            public_rpc_url=anvil.url if anvil else None,  # never a private RPC URL
            stop=stop,
        )
    except LedgerError as error:
        fail(str(error))
    finally:
        if anvil is not None:
            anvil.stop()


@app.command()
def deploy(
    rpc_url: RpcUrl = FROM_SETTINGS,
    log_name: LogName = FROM_SETTINGS,
    keystore: Keystore = FROM_SETTINGS,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
    admin: Admin = FROM_SETTINGS,
) -> None:
    """Deploy LogAnchor, create the log (its admin: --admin, a key kept offline, made with
    `mledger admin-key create`; on the dev chain only, without it, a new key in --data-dir
    for development; its checkpoints: those the data dir's log key signs), deploy
    LicenceRegistry (the log key is its one issuer, for good; the anchor key only pays the
    gas and gets no role there) and record the deployment in the database. On a database
    whose deployment has no LicenceRegistry yet, deploy only that."""
    from ledger.chain.deployment import DEFAULT_LOG_NAME
    from ledger.cli.licence import ensure_registry
    from ledger.cli.service import log_signer
    from ledger.store.anchors import AnchorRepository

    def note(text: str) -> None:
        sys.stderr.write(f"ledger: {text}\n")

    admin_address = None
    with open_store(data_dir, database_url, create=True) as store:
        repo = AnchorRepository(store)
        existing = repo.deployment()
        if existing is not None and existing.registry is not None:
            fail(
                f"this database already anchors log {existing.log_name!r} to contract"
                f" {hex0x(existing.contract)}"
                f" on chain id {existing.chain_id}: use another --data-dir or --database-url for a"
                " new deployment"
            )
        url = recorded_chain_url(rpc_url, data_dir)
        client = connect_chain(url, keystore)
        record_chain(data_dir, url)
        if existing is None:  # refused before any key is made
            admin_address = log_admin(admin, data_dir, note, client.chain_id)
        signer_address = log_signer(store, data_dir, 3600, log_name=log_name).address
        if existing is None:
            assert admin_address is not None
            deployment, _contract = deploy_contracts(
                client, repo, log_name or DEFAULT_LOG_NAME, signer_address, admin_address
            )
        else:
            attach_recorded(client, existing)
            deployment, _registry = ensure_registry(
                client, repo, existing, deploy=True, issuer=signer_address, note=note
            )
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
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
    rpc_url: RpcUrl = FROM_SETTINGS,
    keystore: Keystore = FROM_SETTINGS,
    confirmations: Confirmations = FROM_SETTINGS,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the confirmed anchor.")
    ] = 120.0,
) -> None:
    """Seal what is pending, anchor the latest checkpoint now (signed by the log key) and
    wait until it is confirmed."""
    from ledger.cli.service import log_signer
    from ledger.service.anchorer import Anchorer
    from ledger.service.sequencer import seal as seal_log
    from ledger.store.anchors import AnchorRepository

    with open_store(data_dir, database_url) as store:
        repo = AnchorRepository(store)
        deployment = recorded_deployment(repo)
        seal_log(store)
        client = connect_chain(
            recorded_chain_url(rpc_url, data_dir), keystore, deployment=deployment
        )
        signer = log_signer(store, data_dir, 3600)
        contract = attach_recorded(client, deployment, signer.address)
        row = Anchorer(
            store, contract, deployment, signer, confirmations=confirmations
        ).anchor_latest(timeout)
    result = anchor_json(row, deployment)
    del result["status"]  # always confirmed here
    emit(result)


@app.command()
def anchors(
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
    rpc_url: Annotated[
        str | None,
        typer.Option(
            "--rpc-url",
            help="Follow submitted anchors and check for reorganisations on this chain first.",
        ),
        Setting("rpc_url"),
    ] = FROM_SETTINGS,
    confirmations: Confirmations = FROM_SETTINGS,
) -> None:
    """List the anchors and their states, one JSON line each, smallest tree size first."""
    from ledger.service.anchorer import Anchorer
    from ledger.store.anchors import AnchorRepository

    with open_store(data_dir, database_url) as store:
        repo = AnchorRepository(store)
        deployment = recorded_deployment(repo)
        if rpc_url is not None:
            contract = attach_recorded(connect_chain(rpc_url, None, signing=False), deployment)
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
    url: Annotated[
        str,
        typer.Option(
            "--url",
            help="The log's service (its public checkpoints and proofs).",
        ),
        Setting("url"),
    ],
    rpc_url: ChainRpcUrl,
    log: LogFile = FROM_SETTINGS,
    size: Annotated[
        int | None,
        typer.Option(
            "--size", min=1, help="Relay the checkpoint of this tree size (default: the latest)."
        ),
    ] = None,
    keystore: Keystore = FROM_SETTINGS,
) -> None:
    """Anchor the log's latest signed checkpoint yourself, paying the gas with your own key
    (LEDGER_ANCHOR_KEY or --keystore): LogAnchor takes any checkpoint the log key signed,
    from anyone. The checkpoint and the consistency proof from the chain's latest anchor
    are checked against the pinned log identity (--log) and the chain before anything
    is sent; a checkpoint that does not extend the chain's is refused as a split view."""
    import httpx

    from ledger.chain.errors import ChainError
    from ledger.formats.strict_json import StrictJsonError, load_strict
    from ledger.service.relay import RelayError, read_checkpoint
    from ledger.service.relay import relay as relay_checkpoint

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
        client = connect_chain(rpc_url, keystore)
        done = relay_checkpoint(
            client,
            identity,
            checkpoint,
            lambda first, second: get(f"/v1/proofs/consistency?first={first}&second={second}"),
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
    trusted_size: Annotated[
        int,
        typer.Option(
            "--trusted-size", min=0, help="The largest anchored size you still trust (0: none)."
        ),
    ],
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
    rpc_url: RpcUrl = FROM_SETTINGS,
    keystore: Keystore = FROM_SETTINGS,
    admin_keystore: Annotated[
        Path | None,
        typer.Option(
            "--admin-keystore",
            help="V3 keystore of the log's admin key (password in LEDGER_ADMIN_KEYSTORE_PASSWORD);"
            " default:"
            " LEDGER_ADMIN_KEY, else --data-dir's admin-key.json.",
        ),
        Setting("admin_keystore"),
    ] = FROM_SETTINGS,
    sign_only: Annotated[
        bool,
        typer.Option(
            "--sign-only",
            help="Only sign: print the signed retirement (chain_id, contract, log_id,"
            " trusted_size, admin, r, vs) for"
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
        fail(
            "retiring a log is final: no anchor is accepted after it. Run again with --yes to"
            " confirm",
            2,
        )
    with open_store(data_dir, database_url) as store:
        deployment = recorded_deployment(AnchorRepository(store))
    try:
        admin = load_admin_key(data_dir, admin_keystore)
    except AdminKeyError as error:
        fail(str(error))
    signed = sign_retire(
        admin, deployment.chain_id, deployment.contract, deployment.log_id, trusted_size
    )
    del admin
    if sign_only:
        emit(signed.as_json())
        sys.stderr.write(
            f"signed the retirement of log {hex0x(deployment.log_id)} (trusted up to size"
            f" {trusted_size}) with admin key"
            f" {signed.admin}: anyone may send it to LogAnchor {hex0x(deployment.contract)} on"
            " chain id"
            f" {deployment.chain_id}, retireLog(log_id, trusted_size, r, vs). Nothing was sent\n"
        )
        return
    try:
        from ledger.chain.log_anchor import LogAnchor

        client = connect_chain(recorded_chain_url(rpc_url, data_dir), keystore)
        if client.chain_id != deployment.chain_id:
            fail(
                f"the chain at {client.where} has chain id {client.chain_id}; this log is on chain"
                f" id {deployment.chain_id}"
            )
        contract = LogAnchor(client, deployment.contract, from_block=deployment.block_number)
        before = contract.log_info(deployment.log_id)
        if before is None:
            fail(
                f"log {hex0x(deployment.log_id)} does not exist on contract"
                f" {hex0x(deployment.contract)}; nothing was sent"
            )
        if before.admin.lower() != signed.admin.lower():
            fail(
                f"{signed.admin} is not the admin of log {hex0x(deployment.log_id)}: its admin is"
                f" {before.admin}. Sign"
                " with the admin key (--admin-keystore FILE, LEDGER_ADMIN_KEY, or the data dir's"
                " admin-key.json);"
                " nothing was sent"
            )
        if before.retired:
            fail(
                f"log {hex0x(deployment.log_id)} is retired already (trusted up to size"
                f" {before.trusted_size})"
            )
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
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the document to this file instead of stdout."),
    ] = None,
    public_rpc_url: PublicRpcUrl = FROM_SETTINGS,
    explorer: ExplorerUrl = FROM_SETTINGS,
) -> None:
    """Print the log's identity document (`model-ledger/log/v1`): its chain, LogAnchor,
    log id, LicenceRegistry, log key and deployment block, its note key and the witnesses
    the service is configured with (LEDGER_WITNESSES, LEDGER_WITNESS_QUORUM or
    ledger.toml: docs/configuration.md). Publish it once; auditors,
    regulators and licensees pin it with `--log FILE`."""
    from ledger.cli.service import log_signer, witness_vkeys
    from ledger.config import current
    from ledger.store.anchors import AnchorRepository

    with open_store(data_dir, database_url) as store:
        deployment = recorded_deployment(AnchorRepository(store))
        signer = log_signer(store, data_dir, 3600)
    settings = current()
    pinned = deployment.identity(
        bytes.fromhex(signer.address[2:]),
        rpc_url=public_rpc_url,
        explorer=explorer,
        note_vkey=None if signer.note is None else signer.note.vkey(),
        witnesses=witness_vkeys(settings),
        witness_quorum=settings.quorum,
    )
    document = pinned.as_json()
    if out is None:
        emit(document)
        return
    out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    sys.stderr.write(
        f"wrote the identity of log {document['name']!r} to {out}; its fingerprint is"
        f" {pinned.fingerprint()}"
        " (what a person compares: the /verify page shows it too)\n"
    )
