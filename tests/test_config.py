"""The settings (ledger/config.py): their sources and precedence, secrets, bad values, and
docs/configuration.md kept equal to the model. Through `ledger serve` as a user runs it,
and through `load` for the precedence table."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from ledger.chain.anvil import free_port
from ledger.config import Settings, SettingsError, env_name, load

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "configuration.md"
SECRET_HEX = "ab" * 32


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No LEDGER_* setting in the environment, the current directory an empty one."""
    for name in list(os.environ):
        if name.startswith("LEDGER_") and name.removeprefix("LEDGER_").lower() in (
            Settings.model_fields
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ledger(*args: str, env: dict[str, str], cwd: Path, timeout: float = 60) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=timeout,
    )


# -- sources and precedence --------------------------------------------------------------


def test_defaults(clean: Path) -> None:
    settings = load()
    assert (settings.port, settings.seal_interval, settings.mmd) == (8000, 1.0, 3600)
    assert settings.data_dir == Path("ledger-data") and settings.rpc_url is None


def test_environment_then_toml_then_default(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean / "ledger.toml").write_text(
        'port = 9001\nseal_interval = 0.5\nmmd = 600\nhost = "::1"\n'
    )
    monkeypatch.setenv("LEDGER_SEAL_INTERVAL", "2.5")
    monkeypatch.setenv("LEDGER_MMD", "")  # empty: unset
    settings = load()
    assert settings.port == 9001  # ./ledger.toml
    assert settings.seal_interval == 2.5  # the environment beats the file
    assert settings.mmd == 600 and settings.host == "::1"
    assert settings.anchor_interval == 60.0  # neither: the default


def test_command_line_beats_environment_beats_config_file(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean / "ledger.toml").write_text("port = 1\nworkers = 3\n")  # ignored: --config wins
    other = clean / "elsewhere.toml"
    other.write_text("port = 9002\nworkers = 4\nconfirmations = 5\n")
    monkeypatch.setenv("LEDGER_WORKERS", "6")
    monkeypatch.setenv("LEDGER_CONFIRMATIONS", "7")
    settings = load(other, {"confirmations": 8, "rpc_url": None})  # None: not given
    assert (settings.port, settings.workers, settings.confirmations) == (9002, 6, 8)
    assert settings.rpc_url is None


def test_a_missing_config_file_is_refused(clean: Path) -> None:
    with pytest.raises(SettingsError, match=r"--config .*nope\.toml: no such file"):
        load(clean / "nope.toml")


def test_a_config_file_others_may_write_is_refused(clean: Path) -> None:
    config = clean / "ledger.toml"
    config.write_text(f'anvil = "{clean / "not-anvil"}"\n')
    for mode in (0o666, 0o620):
        config.chmod(mode)
        with pytest.raises(SettingsError, match="writable by group or others: refusing"):
            load()
    config.chmod(0o600)
    assert load().anvil == clean / "not-anvil"


@pytest.mark.parametrize(
    ("toml", "env", "options", "message"),
    [
        ("", {"LEDGER_PORT": "eighty"}, {}, "LEDGER_PORT (environment): Input should be a valid"),
        ("port = 70000\n", {}, {}, "port in ledger.toml: Input should be less than or equal"),
        ("", {}, {"seal_interval": -1.0}, "--seal-interval: Input should be greater than 0"),
        ("", {}, {"explorer_url": 3}, "--explorer: Input should be a valid string"),
        ("sealinterval = 1\n", {}, {}, "ledger.toml: sealinterval is no setting"),
        ("port = \n", {}, {}, "ledger.toml is not valid TOML"),
    ],
)
def test_bad_settings_name_the_setting_and_its_source(
    clean: Path,
    monkeypatch: pytest.MonkeyPatch,
    toml: str,
    env: dict[str, str],
    options: dict[str, Any],
    message: str,
) -> None:
    if toml:
        (clean / "ledger.toml").write_text(toml)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load(None, options)
    assert message in str(caught.value)


# -- secrets -----------------------------------------------------------------------------


def test_secrets_are_never_shown(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_LOG_KEY", SECRET_HEX)
    monkeypatch.setenv("LEDGER_DATABASE_URL", "postgresql://ledger:hunter2@db/ledger")
    (clean / "ledger.toml").write_text('bootstrap_admin_key = "mlk_sesame"\n')
    settings = load()
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in (SECRET_HEX, "hunter2", "mlk_sesame"):
        assert secret not in shown
    assert "'**********'" in repr(settings)
    assert isinstance(settings.log_key, SecretStr)
    assert settings.log_key.get_secret_value() == SECRET_HEX
    # an error about a secret does not quote it
    (clean / "ledger.toml").write_text("anchor_key = 12345678901234567890\n")
    with pytest.raises(SettingsError) as caught:
        load()
    assert "anchor_key in ledger.toml" in str(caught.value)
    assert "12345678901234567890" not in str(caught.value)


def test_secret_settings_are_all_secret_str() -> None:
    """Every key, password and URL that may hold one is a SecretStr."""
    for name, field in Settings.model_fields.items():
        if re.search(r"key$|password|database_url", name) and not name.endswith("_address"):
            assert field.annotation == SecretStr | None, name


# -- through the command -----------------------------------------------------------------


def test_serve_refuses_a_bad_setting_with_exit_2_and_starts_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / "ledger.toml").write_text(f'data_dir = "{data}"\nworkers = 0\n')
    result = ledger("serve", env={}, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: bad setting: workers in ledger.toml")
    assert not data.exists()  # nothing opened, nothing created
    config = tmp_path / "other.toml"
    config.write_text("port = 80\nmmd = 0\n")
    result = ledger("up", "--config", str(config), "--data-dir", str(data), env={}, cwd=tmp_path)
    assert result.returncode == 2 and f"mmd in {config}: Input should be greater" in result.stderr
    assert not data.exists()
    result = ledger("serve", "--port", "-5", env={}, cwd=tmp_path)
    assert result.returncode == 2 and "--port: Input should be greater" in result.stderr


def test_serve_runs_on_the_settings_of_its_config_file(tmp_path: Path) -> None:
    """--config sets the port, seal interval and merge delay; the environment and the
    command line override it; the bootstrap admin key from the file works, unlogged."""
    port = free_port()
    config = tmp_path / "service.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\nport = 1\nseal_interval = 7\nmmd = 120\n'
        'bootstrap_admin_key = "from-the-file-0123456789abcdef"\n'
    )
    log = tmp_path / "stderr"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger", "serve", "--config", str(config)]
            + ["--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "LEDGER_SEAL_INTERVAL": "0.3"},
            cwd=tmp_path,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while "sealing every" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert f"serving the API at {url}" in log.read_text()
        assert "sealing every 0.3s" in log.read_text()  # the environment beat the file
        sent = httpx.post(
            url + "/v1/entries/batch",
            json={"entries": [_record()]},
            headers={
                "Authorization": "Bearer from-the-file-0123456789abcdef"
            },  # the file's admin key
            timeout=30,
        )
        assert sent.status_code == 202, sent.text
        assert sent.json()["receipts"][0]["mmd"] == 120  # the file's merge delay
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, log.read_text()
    assert "from-the-file-0123456789abcdef" not in log.read_text()
    assert (tmp_path / "data").is_dir()


def test_one_shot_commands_take_their_options_from_the_settings(tmp_path: Path) -> None:
    """`init` and `keys` read --data-dir from ./ledger.toml, LEDGER_DATA_DIR beats it, the
    flag beats both, and --config replaces ./ledger.toml; the API key is printed (it is
    the command's output) but the secret setting from the file never is."""
    from_file, from_env, other = tmp_path / "file", tmp_path / "env", tmp_path / "other"
    (tmp_path / "ledger.toml").write_text(
        f'data_dir = "{from_file}"\ndatabase_url = "postgresql://u:hunter2@nowhere/db"\n'
    )
    result = ledger("init", env={"LEDGER_DATABASE_URL": ""}, cwd=tmp_path)
    assert result.returncode != 0 and "hunter2" not in result.stderr + result.stdout
    (tmp_path / "ledger.toml").write_text(f'data_dir = "{from_file}"\n')
    result = ledger("init", env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (from_file / "ledger.db").is_file()
    created = ledger("keys", "create", "--role", "auditor", env={}, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    refused = ledger("keys", "list", env={"LEDGER_DATA_DIR": str(from_env)}, cwd=tmp_path)
    assert refused.returncode == 2 and f"no log in {from_env}" in refused.stderr
    flag = ledger(
        "keys",
        "list",
        "--data-dir",
        str(from_file),
        env={"LEDGER_DATA_DIR": str(from_env)},
        cwd=tmp_path,
    )
    assert flag.returncode == 0 and '"role":"auditor"' in flag.stdout, flag.stderr
    config = tmp_path / "other.toml"
    config.write_text(f'data_dir = "{other}"\n')
    result = ledger("keys", "list", "--config", str(config), env={}, cwd=tmp_path)
    assert result.returncode == 2 and f"no log in {other}" in result.stderr


def test_one_shot_commands_refuse_bad_and_missing_settings(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text("")
    result = ledger("seal", env={"LEDGER_CONFIRMATIONS": "0"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "bad setting: LEDGER_CONFIRMATIONS (environment)" in result.stderr
    result = ledger("audit", str(export), env={"LEDGER_RPC_URL": ""}, cwd=tmp_path)
    assert result.returncode == 2
    assert "missing option '--rpc-url' (or LEDGER_RPC_URL" in result.stderr
    (tmp_path / "ledger.toml").write_text('rpc_url = "http://127.0.0.1:9"\n')
    result = ledger(
        "audit", str(export), env={"LEDGER_RPC_URL": "", "LEDGER_LOG": ""}, cwd=tmp_path
    )
    assert result.returncode == 2 and "no log identity pinned" in result.stderr  # got past it


def test_only_the_settings_module_reads_the_environment() -> None:
    reads = re.compile(r"\bos\.environ\b|\bgetenv\b|\benvvar\s*=|from os import [^\n]*environ")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "ledger").rglob("*.py"))
        if path != ROOT / "ledger" / "config.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if reads.search(line)
    ]
    assert found == [], "read the environment in ledger/config.py only"


def _record() -> dict[str, Any]:
    from ledger.workload import interaction

    return interaction(0, seed=5)


# -- docs/configuration.md ---------------------------------------------------------------

KINDS = {
    "secret": SecretStr,
    "path": Path,
    "text": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "list": list[str],
}


def _doc_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 6:
            name = cells[0].strip("`")
            assert name not in rows, f"{name} is documented twice"
            rows[name] = cells
    return rows


def test_the_configuration_doc_lists_every_setting_and_nothing_else() -> None:
    rows = _doc_rows()
    fields = Settings.model_fields
    assert sorted(set(fields) - set(rows)) == [], "settings missing from docs/configuration.md"
    assert sorted(set(rows) - set(fields)) == [], "rows of docs/configuration.md naming no setting"
    for name, (_, env, key, kind, default, meaning) in rows.items():
        field = fields[name]
        assert env == f"`{env_name(name)}`" and key == f"`{name}`", name
        assert KINDS[kind] in (field.annotation, *getattr(field.annotation, "__args__", ())), name
        expected = "—" if field.default is None else f"`{field.default}`"
        assert default == expected, name
        assert meaning, name


def test_the_doc_is_linked_and_no_stale_variable_lists_remain() -> None:
    assert "docs/configuration.md" in (ROOT / "README.md").read_text()
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "configuration.md" in operations
    assert "`LEDGER_WORKERS`, `LEDGER_SEAL_INTERVAL`" not in operations


# -- witnesses (hostile review 3: L1, L3, M1) ----------------------------------------------


def test_witness_settings_count_endpoints_and_refuse_odd_values(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from ledger.formats.cosignature import Cosigner, generate_cosigner
    from ledger.formats.note import Signer

    on = generate_cosigner("w.example/on").vkey()
    off = generate_cosigner("w.example/off").vkey()
    # a commented-out or blank entry is no witness: the default quorum counts 1
    monkeypatch.setenv("LEDGER_WITNESSES", json.dumps([f"http://a.example {on}", f"# x {off}", ""]))
    assert load().quorum == 1
    with pytest.raises(SettingsError, match="2 is more than the 1 witness"):
        load(None, {"witness_quorum": 2})
    for written in ("true", "1.0"):
        (clean / "ledger.toml").write_text(f"witness_quorum = {written}\n")
        with pytest.raises(SettingsError, match="must be a whole number"):
            load()
    (clean / "ledger.toml").unlink()
    for name, value, words in (
        ("witness_interval", "inf", "finite number"),
        ("witness_interval", "nan", "finite number"),
        ("witness_interval", "1e-9", "greater than or equal to 0.05"),
        ("witness_timeout", "inf", "finite number"),
        ("witness_timeout", "601", "less than or equal to 600"),
    ):
        monkeypatch.setenv(env_name(name), value)
        with pytest.raises(SettingsError, match=words):
            load()
        monkeypatch.delenv(env_name(name))
    for witnesses, words in (
        ([f"http:// {on}"], "the URL names no host"),
        ([f"http://a.example {on}", f"http://a.example {off}"], "two witnesses share the URL"),
    ):
        monkeypatch.setenv("LEDGER_WITNESSES", json.dumps(witnesses))
        with pytest.raises(SettingsError, match=words):
            load()
    # a witness key that is the log's note key witnesses nothing
    seed = bytes([7]) * 32
    sock = Cosigner("w.example/sock", seed).vkey()
    monkeypatch.setenv("LEDGER_WITNESSES", json.dumps([f"http://a.example {sock}"]))
    monkeypatch.setenv("LEDGER_NOTE_KEY", Signer("localhost/model-ledger", seed).private_text())
    with pytest.raises(SettingsError, match="shares its public key with the log's note key"):
        load()
