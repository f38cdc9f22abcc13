"""The `ledger` command line. Output is JSON; errors go to stderr with a non-zero exit."""

from __future__ import annotations

import copy
import functools
import inspect
import json
import re
import sys
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, NoReturn

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ledger.errors import LedgerError

# Server-side modules (web3, SQLAlchemy) are imported by the commands that need them, so
# that the verifier installs alone (`pip install mledger`, without the `server` extra).
if TYPE_CHECKING:
    from ledger.chain.client import ChainClient
    from ledger.chain.log_anchor import LogAnchor
    from ledger.config import Settings
    from ledger.formats.identity import LogIdentity
    from ledger.service.evidence import AnchorChoice
    from ledger.store.anchors import Anchor, AnchorRepository, Deployment
    from ledger.store.repository import Store

app = typer.Typer(
    name="mledger",
    help="model-ledger: a verifiable, blockchain-anchored audit trail for AI model access.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Setting(NamedTuple):
    """Marks an option as a setting of `ledger.config` (in its `Annotated`, after the
    `typer.Option`): not given, its value is the setting's, from the environment, the
    TOML file or the model's default (`with_settings`)."""

    field: str


FROM_SETTINGS: Any = object()
"""The default, in a command's signature, of an option marked `Setting`: the value comes
from the settings (typer sees None, meaning not given)."""

ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML file of settings (default: ./ledger.toml if present); see"
        " docs/configuration.md.",
    ),
]


def load_settings(config: Path | None, given: dict[str, Any]) -> Settings:
    """The settings from the command line's `given` values (None: not given), the
    environment and the TOML file (`config`, else ./ledger.toml); exit 2 naming a bad one."""
    from ledger.config import SettingsError, load

    try:
        return load(config, given)
    except SettingsError as error:
        fail(str(error), 2)


def with_settings(command: Callable[..., None]) -> Callable[..., None]:
    """`command` with a --config option, its options marked `Setting` taking their values
    from the settings (the command line first), and those settings in use
    (`ledger.config.use`) while it runs: the key loaders under it read them. A secret
    reaches the command as plain text, as the option gives it; a required option that
    no source sets exits 2. Commands without such options are returned as they are."""
    hints = typing.get_type_hints(command, include_extras=True)
    fields = {
        name: marks[0].field
        for name, hint in hints.items()
        if (marks := [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Setting)])
    }
    parameters = inspect.signature(command).parameters
    if not fields or "config" in parameters:  # none, or it loads them itself (`up`, `serve`)
        return command
    required = {name for name in fields if parameters[name].default is inspect.Parameter.empty}

    @functools.wraps(command)
    def wrapper(**given: Any) -> None:
        from pydantic import SecretStr

        from ledger.config import env_name, use

        config = given.pop("config")
        settings = load_settings(config, {fields[name]: given[name] for name in fields})
        for name, field in fields.items():
            value = getattr(settings, field)
            if value is None and name in required:
                fail(
                    f"missing option '--{name.replace('_', '-')}' (or {env_name(field)}, or"
                    f" {field} in the settings file)",
                    2,
                )
            given[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
        use(settings)
        try:
            command(**given)
        finally:
            use(None)

    shown = [
        parameter.replace(annotation=_help_names(hints[name], fields[name]), default=None)
        if name in fields
        else parameter.replace(annotation=hints.get(name, parameter.annotation))
        for name, parameter in parameters.items()
    ]
    config = inspect.Parameter(
        "config", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ConfigFile
    )
    wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*shown, config], return_annotation=None
    )
    wrapper.__annotations__ = {**hints, "config": ConfigFile}
    return wrapper


def _help_names(hint: Any, field: str) -> Any:
    """`hint` (an option's `Annotated`) with its help naming the setting's variable and
    default, as typer's own envvar and default did."""
    from ledger.config import Settings, env_name

    default = Settings.model_fields[field].default
    where = env_name(field) + ("" if default is None else f"; default: {default}")
    base, *marks = typing.get_args(hint)
    for index, mark in enumerate(marks):
        if isinstance(mark, typer.models.OptionInfo):
            marks[index] = copy.copy(mark)
            marks[index].help = f"{mark.help or ''} (setting: {where})".lstrip()
    return Annotated[(base, *marks)]


_LIST_ITEM = re.compile(r"\s*(?:[-*]|[0-9]+[.)])\s")
"""A line that starts an item of a list in a command's help."""


def reflow_help(text: str) -> str:
    """A command's help as prose: the lines of each paragraph joined into one, as the
    first paragraph already is (typer keeps the line breaks of the others, which then
    break mid-sentence at any terminal width). List items and lines indented four
    spaces or more (examples) keep their own lines; a paragraph starting with \\b is
    left as written."""
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        if paragraph.startswith("\b"):
            paragraphs.append(paragraph)
            continue
        lines: list[str] = []
        for line in paragraph.split("\n"):
            example = line.startswith("    ")
            if (
                lines
                and not example
                and not _LIST_ITEM.match(line)
                and not lines[-1].startswith("    ")
            ):
                lines[-1] += " " + line.strip()
            else:
                lines.append(line)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def configure_commands(group: typer.Typer) -> None:
    """Give every command of `group` and its subgroups `with_settings`, and help text
    that flows (`reflow_help`)."""
    for info in group.registered_commands:
        if info.callback is not None:
            text = info.help or inspect.getdoc(info.callback)
            if text:
                info.help = reflow_help(text)
            info.callback = with_settings(info.callback)
    for subgroup in group.registered_groups:
        if subgroup.typer_instance is not None:
            configure_commands(subgroup.typer_instance)


DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir", help="Folder for the embedded SQLite log (and, later, the dev chain)."
    ),
    Setting("data_dir"),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy or plain postgresql:// URL; default: SQLite in --data-dir.",
    ),
    Setting("database_url"),
]
PublicRpcUrl = Annotated[
    str | None,
    typer.Option(
        "--public-rpc-url",
        help="A JSON-RPC endpoint of the chain the log identity suggests to verifiers (they may"
        " use their own).",
    ),
    Setting("public_rpc_url"),
]
ExplorerUrl = Annotated[
    str | None,
    typer.Option("--explorer", help="A block explorer the log identity names (<url>/tx/<hash>)."),
    Setting("explorer_url"),
]
AnchorOption = Annotated[
    str,
    typer.Option(
        "--anchor",
        metavar="earliest|latest|SIZE",
        help=(
            "Which confirmed anchor the evidence proves against: earliest (the first whose tree"
            ' holds the entries: the tightest "existed no later than"), latest, or an anchored'
            " tree size."
        ),
    ),
]


def anchor_choice(text: str) -> AnchorChoice:
    """The --anchor value parsed (ledger.service.evidence.parse_anchor_choice); exit 2 with
    the reason if it is not earliest, latest or a tree size."""
    from ledger.service.evidence import parse_anchor_choice

    try:
        return parse_anchor_choice(text)
    except LedgerError as error:
        fail(f"--anchor: {error}", 2)


LogFile = Annotated[
    Path | None,
    typer.Option(
        "--log",
        help="The log identity document to pin (from the operator: `mledger identity`, GET"
        " /v1/log).",
    ),
    Setting("log"),
]


def pinned_identity(path: Path | None, *, offline_ok: bool = False) -> LogIdentity | None:
    """The log identity in `path`; without one, exit 2 saying why it is needed (or None
    when `offline_ok`: the caller checks the mathematics alone and says so)."""
    from ledger.formats.identity import IdentityError, parse_identity

    if path is None:
        if offline_ok:
            return None
        fail(
            "no log identity pinned: pass --log FILE (or set LEDGER_LOG), the identity document the"
            " log's operator"
            " published (`mledger identity`, GET /v1/log). Without it any look-alike contract could"
            " pass",
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
    """Print one JSON document on stdout (flushed: watchers print as things happen)."""
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 1) -> NoReturn:
    """Report an error on stderr and exit non-zero."""
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


@contextmanager
def open_store(
    data_dir: Path, database_url: str | None, *, create: bool = False
) -> Iterator[Store]:
    """Open the configured store; turn known errors into a message and exit code.

    Only the commands that start a log (`up`, `serve`, `init`, `deploy`) pass `create`:
    any other, pointed at a data dir that holds no log, exits 2 instead of starting an
    empty log (and a new log key) there. A --database-url names its database outright
    and is migrated as given."""
    from sqlalchemy.exc import SQLAlchemyError

    from ledger.store.db import SQLITE_FILE, DatabaseURLError, normalize_url, sqlite_url
    from ledger.store.repository import Store, StoreError

    if not create and database_url is None and not (data_dir / SQLITE_FILE).exists():
        fail(
            f"no log in {data_dir}: start one with `mledger up` (or `mledger init`), or point"
            " --data-dir or --database-url at an existing log",
            2,
        )

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


RpcUrl = Annotated[
    str | None,
    typer.Option("--rpc-url", help="JSON-RPC URL of the chain (default: http://127.0.0.1:8545)."),
    Setting("rpc_url"),
]
ChainRpcUrl = Annotated[
    str,
    typer.Option("--rpc-url", help="JSON-RPC URL of a node of the log's chain."),
    Setting("rpc_url"),
]
"""The --rpc-url of the verifier's commands that read the chain: required (no default
here), from the command line or the settings."""
Keystore = Annotated[
    Path | None,
    typer.Option(
        "--keystore",
        help="Encrypted V3 keystore of the anchor key (password in LEDGER_KEYSTORE_PASSWORD);"
        " default: LEDGER_ANCHOR_KEY.",
    ),
    Setting("keystore"),
]
Confirmations = Annotated[
    int,
    typer.Option(
        "--confirmations", min=1, help="Blocks an anchor must be deep to count as confirmed."
    ),
    Setting("confirmations"),
]
LogName = Annotated[
    str | None,
    typer.Option(
        "--log-name",
        help="Name of the log; its id is the SHA-256 of the name (default: model-ledger).",
    ),
    Setting("log_name"),
]
Admin = Annotated[
    str | None,
    typer.Option(
        "--admin",
        help="Address of the log's admin key, kept offline: it alone can retire the log (`mledger"
        " retire`)."
        " Make one elsewhere with `mledger admin-key create --out PATH`. Required on any chain but"
        " the dev"
        " chain (id 31337), where the default is a new key in --data-dir, for development only.",
    ),
    Setting("admin_address"),
]
DEFAULT_RPC_URL = "http://127.0.0.1:8545"

CHAIN_FILE = "chain.json"
"""In the data dir: the JSON-RPC URL of the chain this log last ran against (`up`,
`serve`, `deploy` write it; mode 0600: a URL may hold an API key)."""


def record_chain(data_dir: Path, rpc_url: str) -> None:
    """Remember `rpc_url` as the chain of the log in `data_dir`."""
    import os

    if not data_dir.is_dir():
        return
    path = data_dir / CHAIN_FILE
    partial = data_dir / (CHAIN_FILE + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"rpc_url": rpc_url}, handle)
    os.replace(partial, path)


def recorded_chain_url(rpc_url: str | None, data_dir: Path) -> str:
    """The chain a command on `data_dir` talks to: --rpc-url (or LEDGER_RPC_URL), else
    the one recorded for the data dir (`record_chain`), else the local default."""
    if rpc_url:
        return rpc_url
    try:
        recorded = json.loads((data_dir / CHAIN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return DEFAULT_RPC_URL
    url = recorded.get("rpc_url") if isinstance(recorded, dict) else None
    return url if isinstance(url, str) and url else DEFAULT_RPC_URL


ADMIN_KEY_ADVICE = (
    "make one on another machine with `mledger admin-key create --out PATH` (an encrypted keystore"
    " at a path"
    " of your choice, outside the data dir; it prints the address), keep it offline, and pass"
    " --admin ADDRESS"
)
"""How to get an admin key kept apart, as every refusal below says it."""


def log_admin(admin: str | None, data_dir: Path, note: Callable[[str], None], chain_id: int) -> str:
    """The address a new log's admin will be: --admin. Without it, on the dev chain (chain
    id 31337) only, the data dir's admin key (created now, unless a deployment that did
    not finish left one), for development; on any other chain, a refusal: the admin key
    must not sit beside the log key. The key is never printed: only its address and
    where it is."""
    from eth_utils.address import is_address, to_checksum_address

    from ledger.admin_key import (
        ADMIN_KEY_FILE,
        ADMIN_KEY_PASSWORD_FILE,
        AdminKeyError,
        create_admin_key,
    )
    from ledger.chain.keys import DEV_CHAIN_ID

    if admin is not None:
        if not is_address(admin):
            fail(
                "--admin must be an address (0x and 40 hex digits, checksummed if mixed case), got"
                f" {admin!r}"
            )
        return str(to_checksum_address(admin))
    if chain_id != DEV_CHAIN_ID:
        fail(
            f"no --admin given: on chain id {chain_id} (not the dev chain, 31337) the log's admin"
            " must be a key kept"
            " offline, never one made in the data dir beside the log key (whoever holds both"
            " controls the log):"
            f" {ADMIN_KEY_ADVICE}. Nothing was deployed"
        )
    try:
        address, created = create_admin_key(data_dir)
    except AdminKeyError as error:
        fail(f"no --admin given, and the data dir's admin key cannot be used: {error}")
    password = data_dir / ADMIN_KEY_PASSWORD_FILE
    where = f"{data_dir / ADMIN_KEY_FILE}" + (
        f" (password in {password})" if password.exists() else ""
    )
    note(
        f"{'created' if created else 'using'} the log's admin key {address} in {where}, for"
        " development only (on"
        " the dev chain; any other chain needs --admin ADDRESS). It alone can retire the log if the"
        " log key leaks"
        " (`mledger retire`), and the service never needs it: move it offline now (keep a copy"
        " safe), or deploy"
        " with --admin ADDRESS to name a key you keep elsewhere"
    )
    return address


def admin_key_kept_apart(data_dir: Path, chain_id: int) -> None:
    """Refuse to run the service on chain `chain_id` (any but the dev chain) while the
    log's admin key is in the data dir, beside the log key: one leak of the folder would
    give a thief both."""
    from ledger.admin_key import admin_key_files
    from ledger.chain.keys import DEV_CHAIN_ID

    found = admin_key_files(data_dir)
    if chain_id != DEV_CHAIN_ID and found:
        fail(
            f"the log's admin key is in the data dir ({', '.join(str(path) for path in found)}),"
            " beside the log key,"
            f" on chain id {chain_id}: move it offline (and its password file), then start again."
            " Whoever holds both"
            " keys controls the log's history after its last honest anchor and can retire it first;"
            " the service"
            " never needs the admin key (`mledger retire --admin-keystore FILE` reads it where you"
            " keep it)"
        )


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


def connect_chain(
    rpc_url: str,
    keystore: Path | None,
    *,
    signing: bool = True,
    deployment: Deployment | None = None,
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


def attach_recorded(
    client: ChainClient, deployment: Deployment, log_signer: str | None = None
) -> LogAnchor:
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


def deploy_contracts(
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
    `mledger up` saves the chain's state there, so the database never names a contract
    the saved chain lacks)."""
    from ledger.chain.deployment import deploy_log
    from ledger.chain.licence_registry import deploy_registry
    from ledger.core.records import now_ts
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


def recorded_deployment(repo: AnchorRepository) -> Deployment:
    """The deployment this database anchors to, or a clear error."""
    deployment = repo.deployment()
    if deployment is None:
        fail(
            "this database records no LogAnchor deployment: run `mledger deploy --rpc-url URL` (or"
            " `mledger up`) first"
        )
    return deployment
