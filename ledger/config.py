"""The service's settings: one pydantic-settings model, read here and nowhere else.

Every setting has a field of `Settings`; its environment variable is ``LEDGER_`` and the
field's name in capitals (``seal_interval``: ``LEDGER_SEAL_INTERVAL``), its key in the
TOML file the field's name. A value comes from, first match wins:

1. the command line (`mledger up --seal-interval 2`);
2. the environment (``LEDGER_SEAL_INTERVAL=2``);
3. the TOML file: ``--config PATH`` when given (it must exist), else ``ledger.toml`` in
   the current directory when there is one;
4. the default.

Keys, passwords and the bootstrap admin key are `SecretStr`: printed and logged as
``'**********'``. A bad value is a `SettingsError` naming the setting and where it came
from. docs/configuration.md lists every field (tests/test_config.py keeps it so).

The modules that need a setting take it from `current()`: the settings the command
loaded (`use`), else those of the environment and ``./ledger.toml``. Key loaders still
take an env-style mapping (`as_environ`) so that tests can pass their own.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ledger.core.errors import InputError
from ledger.formats.note import NoteError, parse_signer
from ledger.formats.tlog_witness import read_endpoints

ENV_PREFIX = "LEDGER_"
CONFIG_FILE = "ledger.toml"
"""The TOML file read from the current directory when no --config is given."""

MIN_RETENTION_DAYS = 183
"""Shortest retention without retention_force: six months, what the EU AI Act (Articles
19 and 26(6)) asks logs of high-risk systems to be kept."""

_toml_file: ContextVar[Path | None] = ContextVar("ledger_toml_file", default=None)


class SettingsError(InputError):
    """A setting is missing, unknown or not valid; the message names it and its source."""


class Settings(BaseSettings):
    """Every setting of every `mledger` command (and of the key loaders under them)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",  # other LEDGER_* variables (LEDGER_FAULT, the tests') are no settings
        validate_default=True,
        env_ignore_empty=True,  # LEDGER_X= counts as unset, as it always did
    )

    # -- storage
    data_dir: Path = Field(
        Path("./ledger-data"),
        description="Folder of the embedded SQLite log, the log key and the dev chain's state.",
    )
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy or plain postgresql:// URL; default: SQLite in data_dir."
        " Secret: it may hold a password.",
    )
    # -- chain
    rpc_url: str | None = Field(
        None,
        description="JSON-RPC URL of the chain to anchor on; `up` without it runs an embedded"
        " Anvil, `serve` without it does not anchor.",
    )
    rpc_port: int = Field(
        8545, ge=0, le=65535, description="Port of `up`'s embedded Anvil (0: any free port)."
    )
    anvil: Path | None = Field(
        None, description="The Anvil binary; default: node_modules (npm ci), else PATH."
    )
    keystore: Path | None = Field(
        None, description="Encrypted V3 keystore of the anchor key (password: keystore_password)."
    )
    keystore_password: SecretStr | None = Field(
        None, description="Password of the anchor key's keystore."
    )
    anchor_key: SecretStr | None = Field(
        None,
        description="The anchor key as 64 hex digits, when no keystore is given (on the dev"
        " chain the default is Anvil's first account).",
    )
    confirmations: int = Field(
        1, ge=1, description="Blocks an anchor must be deep to count as confirmed."
    )
    log_name: str | None = Field(
        None,
        description="Name of the log `up` deploys; its id is the SHA-256 of the name"
        " (default: model-ledger).",
    )
    admin_address: str | None = Field(
        None,
        description="Address of the log's admin key, kept offline, for a new deployment"
        " (required on any chain but the dev chain).",
    )
    public_rpc_url: str | None = Field(
        None,
        description="A JSON-RPC endpoint the log identity suggests to verifiers"
        " (`up`'s default: the embedded Anvil's).",
    )
    explorer_url: str | None = Field(
        None, description="A block explorer the log identity names (`<url>/tx/<hash>`)."
    )
    public_host: str | None = Field(
        None,
        description="The log's public host (ledger.example.com): its C2SP origin is"
        " <host>/<log name>, fixed when the note key is made (default: localhost).",
    )
    admin_keystore: Path | None = Field(
        None,
        description="V3 keystore of the log's admin key (`mledger retire --admin-keystore`);"
        " default: admin_key, else admin-key.json in data_dir.",
    )
    # -- the verifier's and the client's (`verify`, `audit`, `licence check`, `report`, ...)
    log: Path | None = Field(
        None,
        description="The log identity document a verifier pins (`--log`: `mledger identity`,"
        " GET /v1/log).",
    )
    url: str | None = Field(
        None, description="A running service's URL (`mledger report --url`, `relay --url`)."
    )
    api_key: SecretStr | None = Field(
        None, description="API key sent to `url` (`--api-key`; an auditor's for `report`)."
    )
    # -- the witness (`mledger witness key|serve`)
    witness_dir: Path = Field(
        Path("./witness-data"), description="Folder of the witness's key and state."
    )
    # -- keys
    log_key: SecretStr | None = Field(
        None,
        description="The log key as 64 hex digits; default: log-key.json in data_dir"
        " (created on first use).",
    )
    log_key_password: SecretStr | None = Field(
        None, description="Password of log-key.json; default: log-key.password beside it."
    )
    note_key: SecretStr | None = Field(
        None,
        description="The Ed25519 note key as PRIVATE+KEY+<origin>+<key ID>+<key>; default:"
        " note-key in data_dir (created on first use).",
    )
    admin_key: SecretStr | None = Field(
        None, description="The log's admin key as 64 hex digits (`mledger retire`)."
    )
    admin_keystore_password: SecretStr | None = Field(
        None, description="Password of the admin keystore (`mledger admin-key create`, `retire`)."
    )
    bootstrap_admin_key: SecretStr | None = Field(
        None,
        description="An API key stored as an admin key at start if absent (for a first admin).",
    )
    # -- the API and the loops
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port of the API (0: any free port).")
    workers: int = Field(1, ge=1, description="API processes sharing the port (one per core).")
    mmd: int = Field(
        3600, ge=1, description="Maximum merge delay promised in receipts, in seconds."
    )
    seal_interval: float = Field(1.0, gt=0, description="Seconds between seals.")
    anchor_interval: float = Field(
        60.0, gt=0, description="Seconds between anchors (when the log grew) and licence calls."
    )
    max_body_bytes: int | None = Field(
        None, ge=1, description="Largest request body in bytes; default 32 MiB."
    )
    rate_limit: float | None = Field(
        None, ge=0, description="Requests per second per API key (0: off); default 1000."
    )
    rate_burst: int | None = Field(
        None,
        ge=1,
        description="Requests a key may send at once; default twice rate_limit (at least 1).",
    )
    # -- retention (docs/privacy.md)
    retention_force: bool = Field(
        False,
        description="Allow retention_days below 183 (six months, the EU AI Act's minimum for"
        " logs of high-risk systems).",
    )
    retention_days: int | None = Field(
        None,
        ge=1,
        description="Erase entries whose record time is older than this many days, on a"
        " schedule (none: keep everything); below 183 only with retention_force.",
    )
    retention_interval: float = Field(
        3600.0, gt=0, description="Seconds between retention erasures (with retention_days)."
    )
    retention_vacuum_full: bool = Field(
        False,
        description="PostgreSQL: VACUUM FULL after each retention erasure, so no page keeps the"
        " old bytes (locks the tables while it rewrites them).",
    )

    @field_validator("retention_days")
    @classmethod
    def _retention_floor(cls, days: int | None, info: ValidationInfo) -> int | None:
        if days is not None and days < MIN_RETENTION_DAYS and not info.data.get("retention_force"):
            raise ValueError(
                f"below {MIN_RETENTION_DAYS} days (six months, the EU AI Act's minimum for logs"
                " of high-risk systems): set retention_force to use it"
            )
        return days

    # -- witnessing (c2sp.org/tlog-witness; docs/c2sp.md)
    witnesses: list[str] | None = Field(
        None,
        description="Witnesses the log sends its checkpoints to, each '<submission prefix URL>"
        " <witness vkey>' (the environment takes a JSON list; '#' and blank entries are skipped"
        " and count as no witness); two may not share a key or a URL, nor use the log's note"
        " key; default: none.",
    )
    witness_quorum: int | None = Field(
        None,
        ge=1,
        description="Witnesses (M of the N) that must cosign a checkpoint for it to count as"
        " published; default: all of them.",
    )
    witness_interval: float = Field(
        1.0,
        ge=0.05,
        le=86400,
        allow_inf_nan=False,
        description="Seconds between witness rounds (the latest checkpoint to each), from 0.05"
        " to 86400.",
    )
    witness_timeout: float = Field(
        10.0,
        gt=0,
        le=600,
        allow_inf_nan=False,
        description="Seconds a witness has for one add-checkpoint exchange, the whole of it"
        " (at most 600).",
    )

    @field_validator("witnesses")
    @classmethod
    def _valid_witnesses(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if not value:
            return None
        try:
            endpoints = read_endpoints(value)
            note_key = info.data.get("note_key")
            if note_key is not None:
                try:
                    log = parse_signer(note_key.get_secret_value())
                except NoteError:
                    return value  # note_key's own error is reported
                if any(e.verifier.key.public_key == log.public_key for e in endpoints):
                    raise NoteError(
                        "a witness shares its public key with the log's note key: it"
                        " witnesses nothing"
                    )
        except NoteError as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("witness_quorum", mode="before")
    @classmethod
    def _quorum_is_whole(cls, value: object) -> object:
        if isinstance(value, bool | float):  # TOML's `true` or `1.0` is no count of witnesses
            raise ValueError(f"must be a whole number, got {value!r}")  # noqa: TRY004 - pydantic
        return value

    @field_validator("witness_quorum")
    @classmethod
    def _quorum_of_witnesses(cls, value: int | None, info: ValidationInfo) -> int | None:
        count = len(read_endpoints(info.data.get("witnesses") or ()))
        if value is not None and value > count:
            raise ValueError(f"{value} is more than the {count} witness(es) configured")
        return value

    @property
    def quorum(self) -> int:
        """The witnesses that must cosign: witness_quorum, else all configured (0: none);
        comment and blank entries of `witnesses` are no witnesses."""
        count = len(read_endpoints(self.witnesses or ()))
        return count if self.witness_quorum is None else self.witness_quorum

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Command line > environment > TOML file > default (no .env, no secrets dir)."""
        toml = _toml_file.get()
        if toml is None:
            return init_settings, env_settings
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml)

    def as_environ(self) -> dict[str, str]:
        """The settings that are set, as ``LEDGER_*`` names and plain values: what the key
        loaders and `Limits.from_env` read. Never print it: it holds the secrets."""
        values: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            values[env_name(name)] = str(value)
        return values


def current_environ() -> dict[str, str]:
    """`current().as_environ()`: the default of the loaders' `environ` arguments."""
    return current().as_environ()


def env_name(field: str) -> str:
    """The environment variable of a field: ``seal_interval`` -> ``LEDGER_SEAL_INTERVAL``."""
    return ENV_PREFIX + field.upper()


def toml_path(config: Path | None) -> Path | None:
    """The TOML file to read: `config` (which must exist), else ./ledger.toml if any."""
    if config is not None:
        if not config.is_file():
            raise SettingsError(f"--config {config}: no such file")
        return config
    found = Path(CONFIG_FILE)
    return found if found.is_file() else None


def load(config: Path | None = None, options: Mapping[str, Any] | None = None) -> Settings:
    """The settings from `options` (the command line's, None meaning not given), the
    environment, the TOML file (`toml_path(config)`) and the defaults.

    Raises SettingsError naming the setting and its source when a value is not valid, or
    when the TOML file cannot be read or names a key that is no setting."""
    given = {
        name: value for name, value in (options or {}).items() if value is not None and value != []
    }
    path = toml_path(config)
    if path is not None:
        _check_toml(path)
    token = _toml_file.set(path)
    try:
        return Settings(**given)
    except ValidationError as error:
        raise SettingsError(_describe(error, given, path)) from None
    finally:
        _toml_file.reset(token)


def _check_toml(path: Path) -> None:
    # The file may name the Anvil binary to run and the keys to sign with: like ssh with
    # its config, refuse one that another user owns or may write.
    try:
        status = path.stat()
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error.strerror or error}") from None
    if status.st_uid != os.getuid() or status.st_mode & 0o022:
        raise SettingsError(
            f"{path} is owned by another user or writable by group or others: refusing its"
            " settings (chmod go-w, and own it)"
        )
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path} is not valid TOML: {error}") from None
    unknown = sorted(set(document) - set(Settings.model_fields))
    if unknown:
        verb = "is no setting" if len(unknown) == 1 else "are no settings"
        raise SettingsError(f"{path}: {', '.join(unknown)} {verb}; see docs/configuration.md")


_OPTIONS = {
    "admin_address": "--admin",
    "explorer_url": "--explorer",
    "witness_dir": "--data-dir",
    "witnesses": "--witness",
}
"""Command-line options not named after their setting."""


def _describe(error: ValidationError, given: Mapping[str, Any], toml: Path | None) -> str:
    """One line per bad setting: its name, where the value came from, what is wrong."""
    problems = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        if field in given:
            source = _OPTIONS.get(field, f"--{field.replace('_', '-')}")
        elif env_name(field) in os.environ:
            source = f"{env_name(field)} (environment)"
        elif toml is not None:
            source = f"{field} in {toml}"
        else:
            source = field
        # the input is quoted only when the setting is no secret
        secret = Settings.model_fields[field].annotation in (SecretStr, SecretStr | None)
        shown = "" if secret or "input" not in problem else f", got {problem['input']!r}"
        problems.append(f"{source}: {problem['msg']}{shown}")
    return "bad setting: " + "; ".join(problems)


FAULT_ENV = "LEDGER_FAULT"
"""The crash tests' hook, no setting (ledger/faults.py): the fault point at which the
process kills itself, ``name`` or ``name:N``."""


def fault_spec() -> str | None:
    """The value of ``LEDGER_FAULT``, read afresh at each call (a fault point's): a test
    sets it for the process it starts. Never read from the TOML file."""
    return os.environ.get(FAULT_ENV) or None


_current: Settings | None = None


def use(settings: Settings | None) -> None:
    """Make `settings` what `current()` returns in this process (the command's settings);
    None: read them afresh at each call again."""
    global _current
    _current = settings


def current() -> Settings:
    """The settings in use: those `use` set, else the environment's and ./ledger.toml's
    (read at each call, so that a changed environment counts)."""
    return _current if _current is not None else load()


__all__ = [
    "CONFIG_FILE",
    "ENV_PREFIX",
    "FAULT_ENV",
    "Settings",
    "SettingsError",
    "current",
    "current_environ",
    "env_name",
    "fault_spec",
    "load",
    "toml_path",
    "use",
]
