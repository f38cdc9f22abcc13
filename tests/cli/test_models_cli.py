"""`ledger models register|show` as an operator runs them: real processes on a data dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def ledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def body(path: Path, model_id: str, version: str, *parents: tuple[str, str]) -> Path:
    document: dict[str, Any] = {
        "model_id": model_id,
        "version": version,
        "artifact_sha256": (model_id + version).encode().hex().ljust(64, "0")[:64],
        "parents": [{"model_id": m, "version": v, "relation": "fine-tune"} for m, v in parents],
    }
    path.write_text(json.dumps(document))
    return path


def test_register_and_show_a_lineage(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    ok = ledger("init", *data)  # an empty log
    assert ok.returncode == 0, ok.stderr
    base = ledger("models", "register", str(body(tmp_path / "b.json", "base", "1")), *data)
    assert base.returncode == 0, base.stderr
    registered = json.loads(base.stdout)
    assert registered["leaf_hash"].startswith("0x") and registered["record"]["kind"] == "model"
    child = ledger(
        "models",
        "register",
        str(body(tmp_path / "c.json", "chat", "2", ("base", "1"))),
        *data,
    )
    assert child.returncode == 0, child.stderr

    shown = ledger("models", "show", "chat", *data)
    assert shown.returncode == 0, shown.stderr
    lineage = json.loads(shown.stdout)
    assert [v["version"] for v in lineage["versions"]] == ["2"]
    assert [a["model_id"] for a in lineage["ancestors"]] == ["base"]
    assert lineage["ancestors"][0]["leaf_hash"] == registered["leaf_hash"]

    again = ledger("models", "register", str(tmp_path / "b.json"), *data)
    assert again.returncode == 1 and "already registered" in again.stderr
    orphan = ledger(
        "models", "register", str(body(tmp_path / "o.json", "x", "1", ("nobody", "9"))), *data
    )
    assert orphan.returncode == 1 and "body.parents.0" in orphan.stderr
    assert "nothing was stored" in orphan.stderr
    (tmp_path / "bad.json").write_text('{"model_id": "y"}')
    bad = ledger("models", "register", str(tmp_path / "bad.json"), *data)
    assert bad.returncode == 2 and "body.artifact_sha256: Field required" in bad.stderr
    unknown = ledger("models", "show", "nobody", *data)
    assert unknown.returncode == 1 and "no model 'nobody'" in unknown.stderr
    entries = ledger("seal", *data)
    assert json.loads(entries.stdout)["tree_size"] == 2  # the refusals stored nothing
