"""`mledger licence check|grant|revoke`, and the licence issuer of `mledger up` and `serve`.

Registered on `ledger.cli.common.app` by the import at the end of ledger/cli.py.

`check` is the licensee's command: it reads the licence's status from the chain with
the record alone (`ledger.verify.licence`), never asking the service. Exit codes: 0 the
licence is active; 1 it is not (revoked, expired, not yet valid, unknown to the
registry, or a window that differs from the record's); 2 usage or an unreadable file;
3 the chain could not be read, so nothing was decided.

`grant` and `revoke` are the operator's: like `mledger anchor`, they work on the data
dir (or database URL) and the chain, append the record, send every queued registry
call and wait until this licence's are confirmed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ledger.cli.common import (
    FROM_SETTINGS,
    ChainRpcUrl,
    Confirmations,
    DatabaseUrl,
    DataDir,
    Keystore,
    LogFile,
    RpcUrl,
    app,
    emit,
    fail,
    open_store,
    pinned_identity,
    recorded_chain_url,
)

if TYPE_CHECKING:
    from ledger.chain.client import ChainClient
    from ledger.chain.licence_registry import LicenceRegistry
    from ledger.formats.identity import LogIdentity
    from ledger.service.licences import Appended
    from ledger.service.signer import LogSigner
    from ledger.store.anchors import AnchorRepository, Deployment
    from ledger.store.licences import LicenceCall
    from ledger.store.repository import Store
    from ledger.verify.licence import LicenceDocument

EXIT_NOT_ACTIVE = 1
"""The licence is not active."""

EXIT_UNREADABLE = 2
"""Usage error or a licence file that cannot be read."""

EXIT_CHAIN_UNAVAILABLE = 3
"""The chain could not be read: the licence is neither confirmed nor refuted."""

licence_app = typer.Typer(help="Check, grant and revoke licences.", no_args_is_help=True)
app.add_typer(licence_app, name="licence")

Timeout = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait for the registry calls to be confirmed.")
]


# -- shared with `mledger up`, `serve` and `deploy` ------------------------------------------


def ensure_registry(
    client: ChainClient,
    repo: AnchorRepository,
    deployment: Deployment,
    *,
    deploy: bool,
    issuer: str,
    note: Callable[[str], None],
) -> tuple[Deployment, LicenceRegistry | None]:
    """The deployment's LicenceRegistry, checked (DeploymentMismatchError unless its issuer
    key is `issuer`, the log key's address); deployed with `issuer` as its issuer and
    recorded first when the data dir has none yet and `deploy` is set (else None)."""
    from ledger.chain.licence_registry import attach_registry, deploy_registry

    if deployment.registry is None:
        if not deploy:
            return deployment, None
        deployed, registry = deploy_registry(client, issuer)
        note(f"deployed LicenceRegistry {registry.address}, issuer key {issuer}")
        return repo.record_registry(deployed.contract), registry
    registry = attach_registry(client, deployment.chain_id, deployment.registry, issuer=issuer)
    return deployment, registry


def call_json(call: LicenceCall) -> dict[str, Any]:
    """A confirmed registry call as `mledger up` prints it (a "licence" JSON line)."""
    return {
        "licence_id": call.licence_id,
        "action": call.action.value,
        "commitment": "0x" + call.commitment.hex(),
        "tx_hash": None if call.tx_hash is None else "0x" + call.tx_hash.hex(),
        "block_number": call.block_number,
    }


# -- operators: grant and revoke --------------------------------------------------------------


def _registry_deployment(store: Store) -> Deployment:
    """The deployment, refused before anything is stored when it has no LicenceRegistry."""
    from ledger.cli.common import recorded_deployment
    from ledger.store.anchors import AnchorRepository

    deployment = recorded_deployment(AnchorRepository(store))
    if deployment.registry is None:
        fail(
            "this data dir records no LicenceRegistry: run `mledger deploy --rpc-url URL` (it"
            " deploys the missing"
            " registry) first; nothing was stored"
        )
    return deployment


def _send(
    store: Store,
    data_dir: Path,
    deployment: Deployment,
    appended: Appended,
    licence_id: str,
    rpc_url: str | None,
    keystore: Path | None,
    confirmations: int,
    timeout: float,
    signer: LogSigner,
) -> dict[str, Any]:
    """Send every queued registry call (signed by the log key `signer`, paid by the
    anchor key), wait for this record's, and show the licence. A chain that cannot be
    reached (or confirm in time) leaves the call queued: the record is in the log and
    the service's issuer sends the call; that is reported as `queued`, not a failure."""
    from ledger.chain.errors import ChainError
    from ledger.chain.licence_registry import attach_registry
    from ledger.cli.common import connect_chain
    from ledger.service.licence_issuer import LicenceCallFailedError, LicenceIssuer
    from ledger.service.licences import licence_view, read_licence
    from ledger.store.licences import LicenceRepository

    assert deployment.registry is not None  # checked by _registry_deployment
    leaf = appended.entry.leaf_hash
    repo = LicenceRepository(store)
    try:
        client = connect_chain(recorded_chain_url(rpc_url, data_dir), keystore)
        registry = attach_registry(
            client, deployment.chain_id, deployment.registry, issuer=signer.address
        )
        ids = [call.id for call in repo.calls(licence_id) if call.record_hash == leaf]
        LicenceIssuer(store, registry, signer, confirmations=confirmations).wait_confirmed(
            ids, licence_id, timeout
        )
    except LicenceCallFailedError as error:
        fail(
            f"record {'0x' + leaf.hex()} is in the log, but the registry refuses its call: {error}"
        )
    except ChainError as error:
        view = licence_view(store, deployment, read_licence(repo, licence_id), int(time.time()))
        sys.stderr.write(
            f"queued: record 0x{leaf.hex()} is in the log and its registry call is queued; the"
            f" service (`mledger up` or `serve`) sends it when it reaches the chain ({error})."
            " Do not run the command again: `GET /v1/licences/{id}` shows when it is on chain\n"
        )
        return view | {"leaf_hash": "0x" + leaf.hex(), "seq": appended.seq, "queued": True}
    view = licence_view(store, deployment, read_licence(repo, licence_id), int(time.time()))
    return view | {"leaf_hash": "0x" + leaf.hex(), "seq": appended.seq, "queued": False}


@licence_app.command("grant")
def grant_licence(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="A licence record (action grant or amend), or its body, as JSON (docs/records.md);"
            " or use the options, one per body field.",
            dir_okay=False,
        ),
    ] = None,
    licence_id: Annotated[
        str | None, typer.Option("--licence-id", help="Body field licence_id: the licence's id.")
    ] = None,
    licensee: Annotated[
        str | None,
        typer.Option("--licensee", help="Body field licensee: the account that holds it."),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            "--model",
            help="Body field models (a list): a model id or pattern; repeat for more"
            " (--model m1 --model m2).",
        ),
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="Body field scope (a list): inference, fine-tune, distillation...; repeat"
            " for more (--scope inference --scope fine-tune).",
        ),
    ] = None,
    terms_sha256: Annotated[
        str | None,
        typer.Option(
            "--terms-sha256", help="Body field terms_sha256: SHA-256 of the terms (64 hex)."
        ),
    ] = None,
    valid_from: Annotated[
        str | None,
        typer.Option(
            "--valid-from",
            help="Body field valid_from, included: RFC 3339 UTC, e.g. 2026-01-01T00:00:00Z"
            " (stored as 2026-01-01T00:00:00.000Z).",
        ),
    ] = None,
    valid_until: Annotated[
        str | None,
        typer.Option("--valid-until", help="Body field valid_until, excluded: same forms."),
    ] = None,
    amend: Annotated[
        bool, typer.Option("--amend", help="Supersede the licence's current grant.")
    ] = False,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
    rpc_url: RpcUrl = FROM_SETTINGS,
    keystore: Keystore = FROM_SETTINGS,
    confirmations: Confirmations = FROM_SETTINGS,
    timeout: Timeout = 120.0,
) -> None:
    """Grant (or with --amend, amend) a licence: append the record, grant its commitment
    on chain, wait for confirmation; print the licence with the record to hand over."""
    from ledger.cli.service import log_signer
    from ledger.core.records import MAX_RECORD_BYTES, RecordError, now_ts
    from ledger.jsonlimits import JsonInputError, load_json_file
    from ledger.service.licences import grant
    from ledger.store.licences import LicenceRepository

    options = {
        "licence_id": licence_id,
        "licensee": licensee,
        "models": models,
        "scope": scope,
        "terms_sha256": terms_sha256,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }
    document: Any
    if file is not None:
        if any(value for value in options.values()) or amend:
            fail("give either FILE or the options, not both", EXIT_UNREADABLE)
        try:
            document = load_json_file(file, max_bytes=MAX_RECORD_BYTES)
        except JsonInputError as error:
            fail(f"{error}; nothing was stored", EXIT_UNREADABLE)
    else:
        missing = [f"--{name.replace('_', '-')}" for name, value in options.items() if not value]
        if missing:
            fail(
                f"give FILE, or every licence option: missing {', '.join(missing)}", EXIT_UNREADABLE
            )
        document = {"action": "amend" if amend else "grant", **options}
    with open_store(data_dir, database_url) as store:
        deployment = _registry_deployment(store)
        signer = log_signer(store, data_dir, 3600)  # before anything is stored
        now = now_ts()
        try:
            appended = grant(LicenceRepository(store), document, ts=now, now=now)
        except RecordError as error:
            fail(f"invalid licence: {error}; nothing was stored")
        granted_id = json.loads(appended.entry.canonical)["body"]["licence_id"]
        emit(
            _send(
                store,
                data_dir,
                deployment,
                appended,
                granted_id,
                rpc_url,
                keystore,
                confirmations,
                timeout,
                signer,
            )
        )


@licence_app.command("revoke")
def revoke_licence(
    licence_id: Annotated[str, typer.Argument(metavar="ID", help="The licence's id.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, kept in the revoke record.")
    ] = None,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
    rpc_url: RpcUrl = FROM_SETTINGS,
    keystore: Keystore = FROM_SETTINGS,
    confirmations: Confirmations = FROM_SETTINGS,
    timeout: Timeout = 120.0,
) -> None:
    """Revoke a licence: append a revoke record, revoke its commitment on chain, wait for
    confirmation; print the licence."""
    from ledger.cli.service import log_signer
    from ledger.core.records import now_ts
    from ledger.service.licences import revoke
    from ledger.store.licences import LicenceRepository

    with open_store(data_dir, database_url) as store:
        deployment = _registry_deployment(store)
        signer = log_signer(store, data_dir, 3600)  # before anything is stored
        now = now_ts()
        appended = revoke(LicenceRepository(store), licence_id, reason, ts=now, now=now)
        emit(
            _send(
                store,
                data_dir,
                deployment,
                appended,
                licence_id,
                rpc_url,
                keystore,
                confirmations,
                timeout,
                signer,
            )
        )


# -- licensees: check and watch ----------------------------------------------------------------

LicenceFile = Annotated[
    str,
    typer.Argument(
        metavar="LICENCE.json",
        help="The licence record, or a GET /v1/licences/{id} response; - reads stdin.",
    ),
]


def licence_to_check(licence: str, log: Path | None) -> tuple[LogIdentity, LicenceDocument]:
    """What `check` and `watch` start from: the pinned log identity and the licence record
    read from `licence` (- for stdin); exit 2 saying which is missing or unreadable."""
    from ledger.verify.licence import LicenceFileError, read_document

    identity = pinned_identity(log)
    assert identity is not None
    try:
        data = sys.stdin.buffer.read() if licence == "-" else Path(licence).read_bytes()
    except OSError as error:
        fail(f"cannot read {licence}: {error.strerror or error}", EXIT_UNREADABLE)
    try:
        return identity, read_document(data)
    except LicenceFileError as error:
        fail(f"{licence}: {error.message}", EXIT_UNREADABLE)


@licence_app.command("check")
def check_licence_command(
    licence: LicenceFile, rpc_url: ChainRpcUrl, log: LogFile = FROM_SETTINGS
) -> None:
    """Check a licence against the chain, trusting only the record, the chain and the
    pinned log identity (--log): recompute its commitment, check the code at the pinned
    LicenceRegistry is the one shipped, read its status there; print JSON (stdout) and
    a sentence (stderr). A revoked licence names the revoke record the registry holds;
    given the GET /v1/licences/{id} answer fetched after the revocation, its revoke
    record's evidence (revoked.evidence) is verified and matched with the registry, and
    the reason printed; a revoke record the log holds but the registry lacks is NOT
    VALID, and one superseded by an amendment names the amend record. Exit 0 only for
    an active licence (1 not active, or not the pinned log's; 2 unreadable; 3 chain
    unreachable)."""
    from ledger.verify.licence import LicenceChainError, LicenceMismatchError, check_licence
    from ledger.verify.rpc import JsonRpcReader

    identity, document = licence_to_check(licence, log)
    rpc = JsonRpcReader(rpc_url)
    try:
        result = check_licence(document, rpc, identity)
    except LicenceMismatchError as error:
        fail(f"INVALID: {error.message}", EXIT_NOT_ACTIVE)
    except LicenceChainError as error:
        fail(f"could not check: {error.message}", EXIT_CHAIN_UNAVAILABLE)
    finally:
        rpc.close()
    emit(result.as_json())
    sys.stderr.write(result.sentence() + "\n")
    if not result.active:
        raise typer.Exit(EXIT_NOT_ACTIVE)


TERMINAL = frozenset({"revoked", "expired"})
"""Statuses a licence does not come back from; `unknown` is one too once the licence was
seen granted (another chain or registry answers), not before (a grant still on its way)."""


@licence_app.command("watch")
def watch_licence_command(
    licence: LicenceFile,
    rpc_url: ChainRpcUrl,
    log: LogFile = FROM_SETTINGS,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between reads of the chain.")
    ] = 15.0,
) -> None:
    """Follow a licence on chain, as `licence check` reads it (the record, the chain and the
    pinned log alone), and print one JSON line now and one at every change: status,
    blocks, the revoke record's leaf hash. Exits 1 once the licence can no longer become
    active (revoked, expired, a window that differs from the record's), printing why; 2
    for an unreadable file. A licence not granted yet is waited for. An unreachable chain
    is retried (a warning on stderr)."""
    from ledger.verify.licence import LicenceChainError, LicenceMismatchError, check_licence
    from ledger.verify.rpc import JsonRpcReader

    identity, document = licence_to_check(licence, log)
    last: tuple[Any, ...] | None = None
    granted = False
    with JsonRpcReader(rpc_url) as rpc:
        while True:
            try:
                result = check_licence(document, rpc, identity)
            except LicenceMismatchError as error:
                fail(f"INVALID: {error.message}", EXIT_NOT_ACTIVE)
            except LicenceChainError as error:
                sys.stderr.write(f"warning: could not read the chain: {error.message}; retrying\n")
            else:
                now = (result.state, result.revoked_block, result.revocation, result.problem)
                if now != last:
                    shown = result.as_json()
                    del shown["log"]
                    emit(shown)
                    sys.stderr.write(result.sentence() + "\n")
                    sys.stderr.flush()
                    last = now
                gone = result.state in TERMINAL or (granted and result.state == "unknown")
                if result.problem is not None or gone:
                    raise typer.Exit(EXIT_NOT_ACTIVE)
                granted = granted or result.state != "unknown"
            time.sleep(interval)
