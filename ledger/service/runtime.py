"""The running service, the one that `mledger up` and `mledger serve` both start.

`run` wires, with the settings' delays: the API (in uvicorn on a thread, or in
`settings.workers` forked processes sharing the port), the sequencer's seal loop every
`seal_interval`, on a chain the anchorer every `anchor_interval` with the licence
issuer beside it (it sends with the anchor key, so it follows the anchorer's role), and,
with witnesses configured, the witness worker every `witness_interval`.
The sequencer, the anchorer and the witness worker each run under leader election
(`ledger.service.leader`): several processes may share one PostgreSQL log, one of them
leads each role.

What differs between the commands stays in the command: `up` starts Anvil and deploys
before calling `run`; `serve` checks the recorded deployment. The chain is reached
through a `ChainLink` the command builds (the CLI's chain helpers), the API through an
`AppFactory` (the API room sits above this one).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from ledger.errors import LedgerError
from ledger.service.leader import Leadership, lead
from ledger.store.repository import Store, StoreError

if TYPE_CHECKING:
    import uvicorn

    from ledger.chain.licence_registry import LicenceRegistry
    from ledger.chain.log_anchor import LogAnchor
    from ledger.config import Settings
    from ledger.service.signer import LogSigner
    from ledger.service.workers import WorkerPool
    from ledger.store.anchors import Anchor, Deployment
    from ledger.store.licences import LicenceCall
    from ledger.store.repository import LogState

ANCHOR_NOW_TIMEOUT = 120.0
"""Seconds POST /v1/anchor waits for its anchor to confirm."""

AppFactory = Callable[["Store", "LogSigner", "Callable[[], Any] | None"], Any]
"""(store, log signer, anchor-now or None) -> the ASGI app of the API."""


class ServiceRunError(LedgerError):
    """The service cannot start or had to stop; the message says why."""


class AnchoringStoppedError(ServiceRunError):
    """The anchorer stopped on an error and the runtime was told to stop with it (`up`)."""


@dataclass
class Chain:
    """The chain side of the log, connected and checked."""

    contract: LogAnchor
    deployment: Deployment
    registry: LicenceRegistry | None


class ChainLink(Protocol):
    """How the runtime reaches the chain (built by the command)."""

    def connect(self, store: Store, signer: LogSigner) -> Chain:
        """Connect, check the recorded deployment, and find (or deploy) the registry."""
        ...

    def reconnect(self, deployment: Deployment) -> LogAnchor:
        """A new client on the same chain, attached to the recorded contract (for one
        anchor-now request, in any API process)."""
        ...


@dataclass
class Hooks:
    """What the command wants to hear of (`up` prints checkpoints, anchors and licence
    calls as JSON lines)."""

    note: Callable[[str], None]
    on_checkpoint: Callable[[LogState], None] | None = None
    on_anchor: Callable[[Anchor, Deployment], None] | None = None
    on_licence: Callable[[LicenceCall], None] | None = None
    anchoring_fatal: bool = False
    """Stop the whole service when the anchorer stops on an error (else report, serve on)."""


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

    from ledger.service.workers import KEEP_ALIVE

    config = uvicorn.Config(
        api,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=KEEP_ALIVE,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ServiceRunError(f"the API could not listen on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return ApiServer(server, thread, f"http://{host}:{bound}")


def log_signer(store: Store, settings: Settings) -> LogSigner:
    """The log key (settings.log_key, else the keystore in the data dir) in the log's
    EIP-712 domain, promising the configured merge delay, with the note key
    (settings.note_key, else note-key in the data dir) of the origin
    <settings.public_host>/<log name>. Raises LogKeyError."""
    from ledger.formats.eip712 import Domain
    from ledger.service.signer import LogSigner, load_log_key, load_note_signer
    from ledger.store.anchors import AnchorRepository

    deployment = AnchorRepository(store).deployment()
    if deployment is None:
        domain = Domain(sha256(b"model-ledger").digest())  # the default log name's id
    else:
        domain = Domain(deployment.log_id, deployment.chain_id, deployment.contract)
    name = deployment.log_name if deployment else settings.log_name or "model-ledger"
    note = load_note_signer(settings.data_dir, name, settings.public_host)
    return LogSigner(load_log_key(settings.data_dir), domain, settings.mmd, note)


@dataclass
class _Running:
    stop: threading.Event = field(default_factory=threading.Event)
    fatal: list[BaseException] = field(default_factory=list)


def run(
    settings: Settings,
    database: str,
    make_app: AppFactory,
    link: ChainLink | None,
    hooks: Hooks,
    banner: Callable[[Store, LogSigner, str, int], str],
    *,
    stop: threading.Event | None = None,
) -> None:
    """Run the service on `database` until SIGTERM or SIGINT (or, with
    `hooks.anchoring_fatal`, the anchorer's failure: AnchoringStoppedError).

    `banner(store, signer, api url, processes)` is the line noted once serving; `stop`,
    if given, is an event the command set up to stop on (its signal handlers). Raises
    LedgerError (a ServiceRunError, a chain or key error) when the service cannot start."""
    running = _Running() if stop is None else _Running(stop)
    if stop is None:
        signal.signal(signal.SIGTERM, lambda *_: running.stop.set())
        signal.signal(signal.SIGINT, lambda *_: running.stop.set())
    if running.stop.is_set():
        return  # stopped while the command was starting
    pool = _fork_api_workers(settings, database, make_app, link)
    store = Store.open(database)
    server: ApiServer | None = None
    worker: threading.Thread | None = None
    witnessing: threading.Thread | None = None
    scrubbing: threading.Thread | None = None
    try:
        scrubbing = _start_owed_scrub(store, hooks)
        signer = log_signer(store, settings)
        chain = None if link is None else link.connect(store, signer)
        anchor_now = None if chain is None or link is None else _anchor_now(store, signer, link)
        api = make_app(store, signer, anchor_now)
        server = None if pool is not None else start_api(api, settings.host, settings.port)
        url = pool.url if pool is not None else server.url if server is not None else ""
        hooks.note(banner(store, signer, url, 1 if pool is None else len(pool.pids)))
        if chain is not None:
            worker = threading.Thread(
                target=_anchor_loop,
                args=(store, signer, chain, settings, hooks, running),
                name="anchorer",
                daemon=True,
            )
            worker.start()
            if chain.registry is None:
                hooks.note(
                    "no LicenceRegistry on this chain: licences stay queued until `mledger deploy`"
                    " deploys one"
                )
            else:
                hooks.note(
                    f"LicenceRegistry {chain.registry.address}: queued licence calls go on chain"
                    f" every {settings.anchor_interval:g}s"
                )
        if settings.retention_days is not None:
            retention = threading.Thread(
                target=_retention_loop,
                args=(store, settings, hooks, running),
                name="retention",
                daemon=True,
            )
            retention.start()
            hooks.note(
                f"retention: entries older than {settings.retention_days} days are erased"
                f" every {settings.retention_interval:g}s (docs/privacy.md)"
            )
        witnessing = _start_witnessing(store, signer, settings, hooks, running)
        _seal_loop(store, settings, hooks, running, pool, signer)
    finally:
        running.stop.set()
        if server is not None:
            server.stop()
        if pool is not None:
            pool.stop()
        if worker is not None:
            worker.join(timeout=30)
        if witnessing is not None:
            witnessing.join(timeout=30)
        if scrubbing is not None:
            scrubbing.join(timeout=30)
        store.close()
    if running.fatal:
        stopped = running.fatal[0]
        what = (
            str(stopped)
            if isinstance(stopped, LedgerError)
            else f"{type(stopped).__name__}: {stopped}"
        )
        raise AnchoringStoppedError(f"anchoring stopped: {what}")


def _start_owed_scrub(store: Store, hooks: Hooks) -> threading.Thread:
    """The scrub an erasure still owes (its process was killed between its commit and
    its scrub: docs/privacy.md), on a short-lived thread: a PostgreSQL VACUUM may wait up
    to its patience for old snapshots, and starting does not wait for it."""
    from ledger.service.erasure import finish_owed_scrub

    def scrub() -> None:
        try:
            said = finish_owed_scrub(store)
        except (LedgerError, StoreError, SQLAlchemyError) as error:
            hooks.note(f"erasure: the scrub an erasure owes failed: {error}")
        else:
            if said is not None:
                hooks.note(f"erasure: ran {said}")

    thread = threading.Thread(target=scrub, name="owed-scrub", daemon=True)
    thread.start()
    return thread


def _anchor_now(store: Store, signer: LogSigner, link: ChainLink) -> Callable[[], Any]:
    from ledger.config import current
    from ledger.service.anchorer import Anchorer
    from ledger.store.anchors import AnchorRepository

    def anchor_now() -> Any:
        deployment = AnchorRepository(store).deployment()
        if deployment is None:
            raise ServiceRunError("this database records no LogAnchor deployment")
        contract = link.reconnect(deployment)
        confirmations = current().confirmations
        return Anchorer(
            store, contract, deployment, signer, confirmations=confirmations
        ).anchor_latest(ANCHOR_NOW_TIMEOUT)

    return anchor_now


def _seal_loop(
    store: Store,
    settings: Settings,
    hooks: Hooks,
    running: _Running,
    pool: WorkerPool | None,
    signer: LogSigner,
) -> None:
    from ledger.service.sequencer import seal

    def seal_term(term: threading.Event) -> None:
        size = store.state().tree_size
        while not term.is_set():
            try:
                state = seal(store, note=signer.note)
            except StoreError as error:
                hooks.note(f"sealing: {error}")
            else:
                if state.tree_size != size and hooks.on_checkpoint is not None:
                    hooks.on_checkpoint(state)
                size = state.tree_size
            if pool is not None and not pool.alive():
                hooks.note("every API worker has stopped")
                running.stop.set()
            term.wait(settings.seal_interval)

    lead(Leadership(store, "sequencer"), running.stop, seal_term, note=hooks.note)


def _retention_loop(store: Store, settings: Settings, hooks: Hooks, running: _Running) -> None:
    """Erase what the retention period let go, every retention_interval, while this
    process holds the retention role (one process of a PostgreSQL-backed log)."""
    from ledger.service.erasure import apply_retention

    days = settings.retention_days
    assert days is not None

    def retention_term(term: threading.Event) -> None:
        while not term.is_set():
            try:
                done = apply_retention(
                    store,
                    days,
                    force=settings.retention_force,
                    vacuum_full=settings.retention_vacuum_full,
                )
            except (LedgerError, StoreError) as error:
                hooks.note(f"retention: {error}")
            else:
                if done.count or done.held:
                    hooks.note(
                        f"retention: {done.count} entries older than {days} days erased"
                        f" ({done.held} kept by legal holds)"
                    )
                elif done.scrubbed != "nothing erased":
                    hooks.note(f"retention: {done.scrubbed}")
            term.wait(settings.retention_interval)

    lead(Leadership(store, "retention"), running.stop, retention_term, note=hooks.note)


def _start_witnessing(
    store: Store, signer: LogSigner, settings: Settings, hooks: Hooks, running: _Running
) -> threading.Thread | None:
    """With witnesses configured: the witness worker on its own thread, under leader
    election, sending the latest checkpoint note every `witness_interval`, after the
    newest anchor's if the witnesses have not seen it (None without witnesses). Nothing
    waits for it: ingest, sealing and anchoring go on whatever the witnesses do."""
    if not settings.witnesses:
        return None
    from ledger.service.witness import (
        WitnessConfigError,
        anchored_note,
        latest_note,
        read_endpoints,
        start_worker,
    )

    endpoints = read_endpoints(settings.witnesses)
    if signer.note is not None:
        log_key = signer.note.public_key
        if any(e.verifier.key.public_key == log_key for e in endpoints):
            raise WitnessConfigError(
                "a witness shares its public key with the log's note key: it witnesses nothing"
            )
    hooks.note(
        f"witnessing: {len(endpoints)} witness(es), a checkpoint counts as published when"
        f" {settings.quorum} cosigned it"
    )
    return start_worker(
        store,
        latest_note(store, signer.checkpoint_note),
        endpoints,
        settings.quorum,
        running.stop,
        settings.witness_interval,
        hooks.note,
        settings.witness_timeout,
        earlier=anchored_note(store),
    )


def _anchor_loop(
    store: Store,
    signer: LogSigner,
    chain: Chain,
    settings: Settings,
    hooks: Hooks,
    running: _Running,
) -> None:
    from ledger.service.anchorer import Anchorer

    anchorer = Anchorer(
        store, chain.contract, chain.deployment, signer, confirmations=settings.confirmations
    )
    on_anchor = hooks.on_anchor

    def anchor_term(term: threading.Event) -> None:
        issuer = (
            None
            if chain.registry is None
            else _start_issuer(store, signer, chain.registry, settings, hooks, term)
        )
        try:
            anchorer.run(
                term,
                settings.anchor_interval,
                on_confirmed=(lambda _row: None)
                if on_anchor is None
                else lambda row: on_anchor(row, chain.deployment),
                on_error=lambda text: hooks.note(f"anchoring: {text}"),
            )
        finally:
            term.set()
            if issuer is not None:
                issuer.join(timeout=30)

    try:
        lead(Leadership(store, "anchorer"), running.stop, anchor_term, note=hooks.note)
    except BaseException as error:  # noqa: BLE001 - reported; fatal or not as the command said
        if hooks.anchoring_fatal:
            running.fatal.append(error)
            running.stop.set()
        else:
            hooks.note(f"anchoring stopped: {error}")


def _start_issuer(
    store: Store,
    signer: LogSigner,
    registry: LicenceRegistry,
    settings: Settings,
    hooks: Hooks,
    stop: threading.Event,
) -> threading.Thread:
    """The licence issuer on a thread until `stop`: queued grants, signed by the log key,
    go on chain every anchor interval, batched. Its errors are reported; so is its end."""
    from ledger.service.licence_issuer import LicenceIssuer

    issuer = LicenceIssuer(store, registry, signer, confirmations=settings.confirmations)
    on_licence = hooks.on_licence

    def loop() -> None:
        try:
            issuer.run(
                stop,
                settings.anchor_interval,
                on_confirmed=(lambda _call: None) if on_licence is None else on_licence,
                on_error=lambda text: hooks.note(f"licences: {text}"),
            )
        except BaseException as error:  # noqa: BLE001 - reported; serving goes on
            hooks.note(f"licences stopped: {type(error).__name__}: {error}")

    worker = threading.Thread(target=loop, name="licences", daemon=True)
    worker.start()
    return worker


def _fork_api_workers(
    settings: Settings, database: str, make_app: AppFactory, link: ChainLink | None
) -> WorkerPool | None:
    """With more than one worker: migrate the database and make the log key once, then
    fork the API processes (before this process opens connections or starts threads).
    None for one worker."""
    if settings.workers == 1:
        return None
    from ledger.service.workers import fork_workers

    store = Store.open(database)  # migrations and a new log key happen once, here
    try:
        log_signer(store, settings)
    finally:
        store.close()

    def make_worker_app() -> Any:
        store = Store.open(database)
        signer = log_signer(store, settings)
        anchor_now = None if link is None else _anchor_now(store, signer, link)
        return make_app(store, signer, anchor_now)

    try:
        return fork_workers(settings.workers, settings.host, settings.port, make_worker_app)
    except OSError as error:
        raise ServiceRunError(
            f"the API could not listen on {settings.host}:{settings.port}: {error}"
        ) from None


__all__ = [
    "AnchoringStoppedError",
    "ApiServer",
    "AppFactory",
    "Chain",
    "ChainLink",
    "Hooks",
    "log_signer",
    "run",
    "start_api",
]
