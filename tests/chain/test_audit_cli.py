"""`ledger export`, `ledger audit` and `ledger report` as a user runs them: real processes,
a real Anvil chain with a few anchors. The export is then edited, cut, duplicated and
reordered line by line, and the audit must name each alteration."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.anvil import Anvil, free_port
from ledger.workload import ndjson_lines
from tests.web.chromium import require_chromium


def ledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@dataclass
class Log:
    """A log with anchors at 120 and 300 and 20 entries after them, its export, chain and
    identity document (`ledger identity`)."""

    data: list[str]
    rpc: str
    contract: str
    log_id: str
    identity: Path
    export: Path
    lines: list[bytes]
    anchors: list[dict[str, Any]]
    records: list[dict[str, Any]]

    def audit(
        self, path: Path, *extra: str, identity: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return ledger(
            "audit",
            str(path),
            "--rpc-url",
            self.rpc,
            "--log",
            str(identity or self.identity),
            *extra,
        )

    def edited_identity(self, path: Path, **fields: Any) -> Path:
        """The identity document with `fields` changed, written to `path`."""
        path.write_text(json.dumps(json.loads(self.identity.read_text()) | fields))
        return path


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory, anvil_binary: Path) -> Iterator[Log]:
    work = tmp_path_factory.mktemp("audit")
    node = Anvil(
        free_port(), work / "anvil-state.json", work / "anvil.log", binary=anvil_binary
    ).start()
    try:
        data = ["--data-dir", str(work / "data")]
        rpc = ["--rpc-url", node.url]
        deployed = json.loads(ok(ledger("deploy", *data, *rpc)))
        anchors = []
        for start, count in ((0, 120), (120, 180)):
            (work / "r.ndjson").write_text(
                "\n".join(ndjson_lines(count, seed=11, start=start)) + "\n"
            )
            ok(ledger("ingest", str(work / "r.ndjson"), *data))
            anchors.append(json.loads(ok(ledger("anchor", *data, *rpc))))
        (work / "r.ndjson").write_text("\n".join(ndjson_lines(20, seed=11, start=300)) + "\n")
        ok(ledger("ingest", str(work / "r.ndjson"), *data))
        ok(ledger("seal", *data))
        export = work / "export.ndjson"
        summary = json.loads(ok(ledger("export", "--out", str(export), *data)))
        lines = export.read_bytes().splitlines(keepends=True)
        assert summary["entries"] == len(lines) == 320 and summary["to_index"] == 320
        records = [json.loads(line)["record"] for line in lines]
        identity = work / "log.json"
        ok(ledger("identity", *data, "--out", str(identity)))
        yield Log(
            data,
            node.url,
            deployed["contract"],
            deployed["log_id"],
            identity,
            export,
            lines,
            anchors,
            records,
        )
    finally:
        node.stop()


def altered(log: Log, tmp_path: Path, lines: list[bytes]) -> Path:
    path = tmp_path / "altered.ndjson"
    path.write_bytes(b"".join(lines))
    return path


def test_export_is_canonical_lines_in_index_order(log: Log, tmp_path: Path) -> None:
    expected = [json.loads(line) for line in ndjson_lines(320, seed=11)]
    assert log.records == expected
    for index, line in enumerate(log.lines):
        assert line.startswith(b'{"leaf_index":%d,"record":{"body":' % index) and line.endswith(
            b"}\n"
        )
    part = tmp_path / "part.ndjson"
    out = json.loads(
        ok(
            ledger(
                "export", "--out", str(part), "--from-index", "100", "--to-index", "130", *log.data
            )
        )
    )
    assert (out["from_index"], out["to_index"], out["entries"]) == (100, 130, 30)
    assert part.read_bytes() == b"".join(log.lines[100:130])
    to_stdout = ledger("export", "--out", "-", "--to-index", "3", *log.data)
    assert to_stdout.returncode == 0 and to_stdout.stdout.encode() == b"".join(log.lines[:3])
    beyond = ledger("export", "--out", str(part), "--to-index", "999", *log.data)
    assert beyond.returncode == 2 and "to_index 999 is beyond the log's size 320" in beyond.stderr
    backwards = ledger(
        "export", "--out", str(part), "--from-index", "50", "--to-index", "10", *log.data
    )
    assert backwards.returncode == 2 and "need 0 <= from_index <= to_index" in backwards.stderr
    assert part.read_bytes() == b"".join(log.lines[100:130])  # a refused export leaves the old file


def test_audit_passes_and_writes_a_report(log: Log, tmp_path: Path) -> None:
    report = tmp_path / "audit.html"
    out = ok(log.audit(log.export, "--report", str(report)))
    assert "PASSED: the export is the complete anchored log (300 entries under 2 anchors)" in out
    assert "2 of 2 anchored roots re-derived from the export match the chain" in out
    assert f"log 'model-ledger' ({log.log_id}), LogAnchor {log.contract} on chain id 31337" in out
    assert (
        "(pinned), read at http://127.0.0.1:" in out and "its code is the LogAnchor shipped" in out
    )
    assert "300 anchored, 20 after the newest anchor" in out
    first, last = log.anchors
    assert f"anchor #1: tree size 120 in block {first['block_number']}" in out
    assert f"anchor #2: tree size 300 in block {last['block_number']}" in out
    page = report.read_text()
    assert "PASSED" in page and log.contract in page and "<script" not in page
    summary = json.loads(ok(log.audit(log.export, "--json")))
    assert summary["passed"] and summary["entries"] == 320 and summary["anchors"] == 2
    assert summary["first_anchor"]["block_timestamp"] == first["block_timestamp"]
    assert summary["last_anchor"]["root"] == last["root"] and summary["unanchored_entries"] == 20
    assert (
        summary["log"] == json.loads(log.identity.read_text())
        and summary["contract"] == log.contract
    )


def _edit(line: bytes) -> bytes:
    record = json.loads(line)
    record["record"]["body"]["output_tokens"] += 1
    return json.dumps(record, separators=(",", ":"), sort_keys=True).encode() + b"\n"


@pytest.mark.parametrize(
    ("alter", "words"),
    [
        (lambda ls: ls.__setitem__(50, _edit(ls[50])), "anchor #1 (tree size 120, block"),
        (
            lambda ls: ls.__setitem__(200, _edit(ls[200])),
            "an entry among leaf indices 120 to 299 was altered",
        ),
        (lambda ls: ls.pop(77), "leaf index 77 is missing from line 78, which holds leaf index 78"),
        (
            lambda ls: ls.insert(61, ls[60]),
            "line 62 holds leaf index 60 again (already on line 61)",
        ),
        (
            lambda ls: ls.insert(150, ls.pop(140)),
            (
                "leaf index 140 is missing from line 141, which holds"
                " leaf index 141; it is on line 151: a moved line"
            ),
        ),
        (
            lambda ls: ls.__setitem__(
                9, ls[9].replace(b'"kind":"interaction"', b'"kind":"weather"')
            ),
            "line 10 (leaf index 9): not a valid v1 or v2 record",
        ),
        (
            lambda ls: ls.__delitem__(slice(250, None)),
            "leaf indices 250 to 299 are missing (a truncated export)",
        ),
    ],
    ids=[
        "edit-first-anchor",
        "edit-second-anchor",
        "delete",
        "duplicate",
        "reorder",
        "invalid-record",
        "truncate",
    ],
)
def test_audit_names_each_alteration(log: Log, tmp_path: Path, alter: Any, words: str) -> None:
    lines = list(log.lines)
    alter(lines)
    result = log.audit(altered(log, tmp_path, lines))
    assert result.returncode == 1, result.stdout + result.stderr
    assert words in result.stdout and words in result.stderr, result.stdout
    assert "FAILED:" in result.stdout and "PASSED" not in result.stdout


def test_audit_refuses_a_wrong_chain_or_log(log: Log, tmp_path: Path) -> None:
    other_log = log.audit(
        log.export,
        identity=log.edited_identity(tmp_path / "other-log.json", log_id="0x" + "ab" * 32),
    )
    assert other_log.returncode == 1 and "knows no log 0xabab" in other_log.stderr
    no_contract = log.audit(
        log.export,
        identity=log.edited_identity(tmp_path / "no-contract.json", log_anchor="0x" + "12" * 20),
    )
    assert no_contract.returncode == 1 and "contract: no contract at 0x1212" in no_contract.stderr
    other_key = log.audit(
        log.export,
        identity=log.edited_identity(tmp_path / "other-key.json", log_signer="0x" + "34" * 20),
    )
    assert (
        other_key.returncode == 1
        and "is anchored with log key" in other_key.stderr
        and "names 0x3434" in other_key.stderr
    )
    other_chain = log.audit(
        log.export, identity=log.edited_identity(tmp_path / "other-chain.json", chain_id=1)
    )
    assert (
        other_chain.returncode == 1
        and "chain id: the node at http://127.0.0.1:" in other_chain.stderr
    )
    down = ledger(
        "audit",
        str(log.export),
        "--rpc-url",
        f"http://127.0.0.1:{free_port()}",
        "--log",
        str(log.identity),
    )
    assert down.returncode == 3 and "the chain could not be read" in down.stderr
    missing = log.audit(tmp_path / "nope.ndjson")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    unpinned = ledger("audit", str(log.export), "--rpc-url", log.rpc)
    assert unpinned.returncode == 2 and "no log identity pinned: pass --log FILE" in unpinned.stderr
    bad = log.audit(
        log.export, identity=log.edited_identity(tmp_path / "bad.json", log_anchor="0x12")
    )
    assert (
        bad.returncode == 2
        and "log identity: log_anchor: must be 0x and 40 lowercase hex digits" in bad.stderr
    )
    gone = ledger(
        "audit",
        str(log.export),
        "--rpc-url",
        log.rpc,
        "--contract",
        log.contract,
        "--log-id",
        log.log_id,
    )
    assert (
        gone.returncode == 2 and "No such option: --contract" in gone.stderr
    )  # the identity names them


# -- the campaign report -----------------------------------------------------------------


def test_report_from_the_database(log: Log, tmp_path: Path) -> None:
    anchored = log.records[:300]
    accounts = sorted({r["body"]["account_id"] for r in anchored})[:25] + ["acct-nobody"]
    (tmp_path / "accounts.txt").write_text("# the campaign\n" + "\n".join(accounts) + "\n\n")
    out = json.loads(
        ok(
            ledger(
                "report",
                "--accounts",
                str(tmp_path / "accounts.txt"),
                "--from",
                "2026-06-01",
                "--to",
                "2026-06-15",
                "--out",
                str(tmp_path / "report.html"),
                "--json",
                str(tmp_path / "report.json"),
                "--pack",
                str(tmp_path / "pack.json"),
                "--rpc-url",
                log.rpc,
                "--log",
                str(log.identity),
                *log.data,
            )
        )
    )
    wanted = [
        r
        for r in anchored
        if r["body"]["account_id"] in accounts and "2026-06-01" <= r["ts"] < "2026-06-15"
    ]
    late = [
        r
        for r in log.records[300:]
        if r["body"]["account_id"] in accounts and "2026-06-01" <= r["ts"] < "2026-06-15"
    ]
    assert out["interactions"] == out["pack_entries"] == len(wanted) > 0
    assert (
        out["verified"] is True
        and out["chain_consulted"] is True
        and out["unanchored_matches"] == len(late)
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["format"] == "model-ledger/campaign-report/v1"
    assert [d["day"] for d in report["per_day"]] == [f"2026-06-{d:02d}" for d in range(1, 15)]
    per_day = Counter(r["ts"][:10] for r in wanted)
    assert {d["day"]: d["interactions"] for d in report["per_day"]} == {
        d["day"]: per_day[d["day"]] for d in report["per_day"]
    }
    per_model = Counter(r["body"]["model"] for r in wanted)
    assert {m["model"]: m["interactions"] for m in report["per_model"]} == dict(per_model)
    assert {a["account_id"] for a in report["per_account"]} == set(accounts)
    assert report["totals"]["input_tokens"] == sum(r["body"]["input_tokens"] for r in wanted)
    assert report["top_accounts"][0]["interactions"] == max(
        Counter(r["body"]["account_id"] for r in wanted).values()
    )
    evidence = report["evidence"]
    assert (
        evidence["entries"] == len(wanted)
        and evidence["tree_size"] == 300
        and evidence["verification"]["valid"]
    )
    assert (
        ok(
            ledger(
                "verify",
                str(tmp_path / "pack.json"),
                "--rpc-url",
                log.rpc,
                "--log",
                str(log.identity),
            )
        )
        .splitlines()[-1]
        .startswith("VALID: existed no later than")
    )
    unpinned = ledger(
        "report",
        "--accounts",
        str(tmp_path / "accounts.txt"),
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-15",
        "--out",
        str(tmp_path / "unpinned.html"),
        "--rpc-url",
        log.rpc,
        *log.data,
    )
    assert unpinned.returncode == 2 and "no log identity pinned" in unpinned.stderr
    offline = json.loads(
        ok(
            ledger(
                "report",
                "--accounts",
                str(tmp_path / "accounts.txt"),
                "--from",
                "2026-06-01",
                "--to",
                "2026-06-15",
                "--out",
                str(tmp_path / "offline.html"),
                *log.data,
            )
        )
    )
    assert (
        offline["verified"] is False and offline["chain_consulted"] is False
    )  # mathematics only: not verified
    page = (tmp_path / "offline.html").read_text()
    assert "MATHEMATICS ONLY: the chain was NOT consulted" in page and "PROVEN" not in page
    page = (tmp_path / "report.html").read_text()
    for needle in (
        'id="chart-per-day"',
        'id="chart-per-account"',
        'id="chart-per-model"',
        "Top accounts",
        "ENTRIES PROVEN TO EXIST",
        "What it does not prove",
        "may hold matching entries the pack leaves out",
    ):
        assert needle in page
    assert all(a["complete"] is False for a in report["per_account"])
    assert any("existed no later than" in line for line in evidence["proves"])
    assert (
        "<script" not in page and "<link" not in page and "src=" not in page and "url(" not in page
    )

    nothing = ok(
        ledger(
            "report",
            "--accounts",
            str(tmp_path / "accounts.txt"),
            "--from",
            "2027-01-01",
            "--to",
            "2027-02-01",
            "--out",
            str(tmp_path / "empty.html"),
            *log.data,
        )
    )
    assert (
        json.loads(nothing)["interactions"] == 0
        and "there is no evidence pack" in (tmp_path / "empty.html").read_text()
    )
    bad = ledger(
        "report",
        "--accounts",
        str(tmp_path / "accounts.txt"),
        "--from",
        "2026-06-15",
        "--to",
        "2026-06-01",
        *log.data,
    )
    assert bad.returncode == 2 and "--to: must be after from" in bad.stderr


def test_report_rebuilt_from_a_received_pack(log: Log, tmp_path: Path) -> None:
    """A regulator holds only the pack: `report --from-pack` rebuilds the same figures
    offline (no database, no service), with CSV and explorer links; a tampered pack is
    refused, and the pack's own query cannot be mixed with another."""
    accounts = sorted({r["body"]["account_id"] for r in log.records[:300]})[:10]
    (tmp_path / "accounts.txt").write_text("\n".join(accounts) + "\n")
    chain = ["--rpc-url", log.rpc, "--log", str(log.identity)]
    ok(
        ledger(
            "report",
            "--accounts",
            str(tmp_path / "accounts.txt"),
            "--from",
            "2026-06-01",
            "--to",
            "2026-06-15",
            "--out",
            str(tmp_path / "db.html"),
            "--json",
            str(tmp_path / "db.json"),
            "--pack",
            str(tmp_path / "pack.json"),
            *chain,
            *log.data,
        )
    )
    identity = log.edited_identity(tmp_path / "log.json", explorer="https://explorer.example")
    elsewhere = tmp_path / "regulator"
    elsewhere.mkdir()
    rebuilt = subprocess.run(
        [sys.executable, "-m", "ledger", "report", "--from-pack", str(tmp_path / "pack.json")]
        + ["--out", "r.html", "--json", "r.json", "--csv", "r.csv"]
        + ["--rpc-url", log.rpc, "--log", str(identity)],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        timeout=120,
        check=False,
    )
    summary = json.loads(ok(rebuilt))
    assert summary["verified"] is True and summary["unanchored_matches"] is None
    assert not (elsewhere / "ledger-data").exists()  # nothing created where it ran
    db = json.loads((tmp_path / "db.json").read_text())
    again = json.loads((elsewhere / "r.json").read_text())
    for field in ("query", "totals", "per_day", "per_account", "per_model", "top_accounts"):
        assert again[field] == db[field], field
    tx = again["evidence"]["anchor"]["tx_hash"]
    assert again["evidence"]["explorer"] == {
        "tx": f"https://explorer.example/tx/{tx}",
        "block": f"https://explorer.example/block/{again['evidence']['anchor']['block_number']}",
    }
    assert f'href="https://explorer.example/tx/{tx}"' in (elsewhere / "r.html").read_text()
    assert "not known (report rebuilt from a pack)" in (elsewhere / "r.html").read_text()
    rows = list(csv.DictReader(io.StringIO((elsewhere / "r.csv").read_bytes().decode())))
    assert [r["account_id"] for r in rows] == [a["account_id"] for a in db["per_account"]]
    assert [int(r["interactions"]) for r in rows] == [a["interactions"] for a in db["per_account"]]
    assert {r["complete"] for r in rows} == {"false"} and {r["pack_verified"] for r in rows} == {
        "true"
    }
    assert {r["pack_sha256"] for r in rows} == {db["evidence"]["pack_sha256"]}

    pack = json.loads((tmp_path / "pack.json").read_text())
    pack["entries"][0]["record"]["body"]["input_tokens"] += 1
    (tmp_path / "tampered.json").write_text(json.dumps(pack))
    tampered = ledger(
        "report", "--from-pack", str(tmp_path / "tampered.json"), "--out", str(tmp_path / "t.html")
    )
    assert tampered.returncode == 1 and "does not verify" in tampered.stderr
    mixed = ledger(
        "report", "--from-pack", str(tmp_path / "pack.json"), "--from", "2026-06-01", *chain
    )
    assert mixed.returncode == 2 and "drop --from" in mixed.stderr
    neither = ledger("report", "--out", str(tmp_path / "n.html"), *log.data)
    assert neither.returncode == 2 and "missing --accounts, --from, --to" in neither.stderr


def test_report_csv_cells_cannot_run_as_formulas() -> None:
    from ledger.verify.campaign import report_csv

    report = {
        "evidence": None,
        "per_account": [
            {
                "account_id": '=HYPERLINK("http://evil")',
                "interactions": 1,
                "input_tokens": 2,
                "output_tokens": 3,
                "models": 1,
                "first_ts": None,
                "last_ts": None,
                "complete": False,
            }
        ],
    }
    row = list(csv.reader(io.StringIO(report_csv(report))))[1]
    assert row[0] == '\'=HYPERLINK("http://evil")' and row[-1] == "false"


def test_report_renders_in_headless_chromium(log: Log, tmp_path: Path) -> None:
    accounts = sorted({r["body"]["account_id"] for r in log.records[:300]})[:40]
    (tmp_path / "accounts.txt").write_text("\n".join(accounts))
    ok(
        ledger(
            "report",
            "--accounts",
            str(tmp_path / "accounts.txt"),
            "--from",
            "2026-06-01",
            "--to",
            "2026-07-01",
            "--out",
            str(tmp_path / "report.html"),
            *log.data,
        )
    )
    browser = require_chromium()
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    url = (tmp_path / "report.html").as_uri()
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1280,2400", url],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.exists(), done.stderr.decode(errors="replace")
    png = shot.read_bytes()
    assert (
        png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    )  # a blank page compresses to a few KB
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1280, 2400)
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    for chart in ("chart-per-day", "chart-per-account", "chart-per-model"):
        assert f'id="{chart}"' in dom
    assert dom.count('class="bar"') >= 30 + 3  # 30 days, at least 3 models, accounts
    assert 'data-bars="30"' in dom  # every day of June
