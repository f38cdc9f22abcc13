"""Every JSON input of the CLI is bounded like the service's (ledger.jsonlimits): size
and depth. A bad one exits non-zero with one `error: ...` line, no traceback, and
nothing stored: `ledger ingest` (each line, in-process and in worker processes),
`ledger licence grant FILE`, `ledger report --accounts FILE`, and the answer `ledger
report --url` reads from a service. The CLI runs with a sane recursion limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ledger.cli.common import reflow_help
from ledger.formats.statement import RESERVED_SALT, statement_salt
from ledger.workload import ndjson_lines
from tests.cli.test_cli import ledger, lines

DEPTH_WORDS = "nests arrays and objects more than 32 levels deep; the limit is 32"


def refused(
    result: subprocess.CompletedProcess[str], *needles: str, code: int | None = None
) -> str:
    """The one-line `error: ...` of a refused command (no traceback), holding every needle."""
    assert result.returncode != 0 and (code is None or result.returncode == code), result.stderr
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    return result.stderr


def stored(data_dir: Path) -> int:
    return int(lines(ledger("seal", "--data-dir", str(data_dir)))[0]["tree_size"])


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"[" * 1_000_000, "record is 1000000 bytes; the limit is 16384"),
        (b'{"a":' * 2_000, f"record {DEPTH_WORDS}"),  # within the size limit
        (
            b'{"v": 1, "kind": "digest", "body": {"sha256": ' + b"[" * 40 + b"]" * 40 + b"}}",
            f"record {DEPTH_WORDS}",
        ),
    ],
    ids=["a million deep", "2,000 deep", "33 deep in a record"],
)
def test_ingest_refuses_a_deep_line_and_stores_nothing(
    tmp_path: Path, line: bytes, words: str
) -> None:
    path = tmp_path / "deep.ndjson"
    path.write_bytes(
        ndjson_lines(1)[0].encode()
        + b"\n"
        + line
        + b"\n"
        + ndjson_lines(1, seed=3)[0].encode()
        + b"\n"
    )
    ledger("init", "--data-dir", str(tmp_path / "data"))
    result = ledger("ingest", str(path), "--data-dir", str(tmp_path / "data"), check=False)
    refused(result, f"{path}: line 2: {words}; nothing was stored")
    assert result.stdout == "" and stored(tmp_path / "data") == 0


def test_ingest_workers_refuse_a_deep_line_too(tmp_path: Path) -> None:
    """Files over a MiB are parsed by worker processes: same bounds, same words."""
    records = [line.encode() for line in ndjson_lines(6_000)]
    records[4_321] = b'[{"a":' * 1_000
    path = tmp_path / "large.ndjson"
    path.write_bytes(b"\n".join(records) + b"\n")
    assert path.stat().st_size > 1 << 20
    ledger("init", "--data-dir", str(tmp_path / "data"))
    result = ledger("ingest", str(path), "--data-dir", str(tmp_path / "data"), check=False)
    refused(result, f"line 4322: record {DEPTH_WORDS}; nothing was stored")
    assert stored(tmp_path / "data") == 0


def test_licence_grant_file_is_bounded(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    ledger("init", *data)
    cases = {
        "deep.json": (b'{"licence_id": ' + b"[" * 10_000, f"deep.json {DEPTH_WORDS}"),
        "big.json": (
            b'{"reason": "' + b"x" * 20_000 + b'"}',
            "big.json is more than 16384 bytes; the limit is 16384",
        ),
        "utf16.json": (
            '{"action": "grant"}'.encode("utf-16"),
            "utf16.json is not UTF-8 JSON: it holds a NUL byte",
        ),
        "broken.json": (b'{"action": ', "broken.json is not valid JSON: Expecting value"),
    }
    for name, (content, words) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = ledger("licence", "grant", str(path), *data, check=False)
        refused(result, words, "nothing was stored", code=2)
    assert stored(tmp_path / "data") == 0


def test_report_accounts_file_is_bounded(tmp_path: Path) -> None:
    common = [
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-02",
        "--out",
        str(tmp_path / "r.html"),
        "--data-dir",
        str(tmp_path / "d"),
    ]
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 1_000_000)
    refused(
        ledger("report", "--accounts", str(deep), *common, check=False),
        f"deep.json {DEPTH_WORDS}",
        code=2,
    )
    big = tmp_path / "big.txt"
    big.write_bytes(b"acct\n" * (4 << 20))
    refused(
        ledger("report", "--accounts", str(big), *common, check=False),
        "big.txt is more than 16777216 bytes",
        code=2,
    )
    assert not (tmp_path / "r.html").exists()


class Hostile(BaseHTTPRequestHandler):
    """A service answering POST /v1/evidence with whatever the test sets."""

    status = 200
    body = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def hostile() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_report_bounds_what_a_service_answers(tmp_path: Path, hostile: str) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("acct-1\n")
    args = [
        "report",
        "--accounts",
        str(accounts),
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-02",
        "--url",
        hostile,
        "--api-key",
        "k",
        "--out",
        str(tmp_path / "r.html"),
    ]
    Hostile.status, Hostile.body = 200, b'{"format": ' + b"[" * 1_000_000
    refused(ledger(*args, check=False), f"the evidence pack the service sent {DEPTH_WORDS}", code=1)
    Hostile.status, Hostile.body = 500, b'{"detail": ' + b"[" * 1_000_000
    refused(ledger(*args, check=False), "POST /v1/evidence answered 500 with more than 65536 bytes")
    Hostile.status, Hostile.body = 500, b'{"detail": ' + b"[" * 60_000
    refused(ledger(*args, check=False), 'POST /v1/evidence answered 500: {"detail": [[[')
    Hostile.status, Hostile.body = 503, json.dumps({"detail": "storage is down"}).encode()
    refused(ledger(*args, check=False), "POST /v1/evidence answered 503: storage is down")
    assert not (tmp_path / "r.html").exists()


def test_the_cli_runs_with_a_sane_recursion_limit() -> None:
    """Even when web3 (and so py_ecc) was imported first, the entry point sets it back."""
    script = (
        "import sys, web3\n"
        "from ledger.cli import main\n"
        "sys.argv = ['ledger', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(str(sys.getrecursionlimit()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0 and result.stderr == "1000", result.stderr


def test_help_paragraphs_flow_at_any_width() -> None:
    """Every paragraph of a command's help reads as prose at a wide terminal: no line
    break left mid-sentence where the docstring's source lines ended (typer keeps them
    in every paragraph but the first)."""
    wide = {**os.environ, "COLUMNS": "250", "TERM": "dumb", "NO_COLOR": "1"}

    def shown_help(command: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "ledger", command, "--help"],
            capture_output=True,
            text=True,
            env=wide,
            check=True,
        ).stdout

    assert (
        "is checked: signed by the identity's note key, the bundle's checkpoint, and"
        " cosigned by --quorum of the --witness keys"
    ) in shown_help("verify")
    lists = shown_help("up")
    assert "the log created, its admin --admin (on the embedded dev chain, else a new key" in lists


def test_reflow_keeps_list_items_and_examples() -> None:
    text = (
        "Summary\nline.\n\nIntro\ngoes on:\n- one\n  more\n- two\n\n    mledger x\n"
        "    mledger y\n\n\bkept\nas is"
    )
    assert reflow_help(text) == (
        "Summary line.\n\nIntro goes on:\n- one more\n- two\n\n    mledger x\n    mledger y"
        "\n\n\bkept\nas is"
    )


def test_verify_never_holds_a_file_larger_than_any_document_whole(tmp_path: Path) -> None:
    """`mledger verify` of a 3 GiB file (sparse) or a 300 MiB pipe says how large it is
    and refuses it as the page does ("document is N bytes; the limit is L"), within 1 GiB
    of address space: it reads no more than the largest document a verifier reads."""
    import resource

    from ledger.verify.evidence import READ_LIMIT

    def small() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    big = tmp_path / "big.json"
    with big.open("wb") as out:
        out.truncate(3 << 30)
    piped = READ_LIMIT + (44 << 20)
    for args, size, feed in (
        ([str(big)], 3 << 30, None),
        (["-"], piped, f"head -c {piped} /dev/zero | "),
    ):
        command = " ".join([sys.executable, "-m", "ledger", "verify", *args, "--offline"])
        result = subprocess.run(
            (feed or "") + command,
            check=False,
            shell=True,
            capture_output=True,
            text=True,
            preexec_fn=small,
            timeout=120,
        )
        words = f"document is {size} bytes; the limit is {READ_LIMIT}"
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"INVALID: bundle check failed: {words}" in result.stdout, result.stdout


def test_ingest_refuses_a_statement_records_salt(tmp_path: Path) -> None:
    """A file whose digest record has the salt of the log's own statement records (a
    forged erasure a verifier would take as the log's, or a record that would fail every
    later audit for a withheld statement) is refused naming the line; nothing is stored.
    Another salt for the same digest is an ordinary record."""
    sha256 = "5d" * 32
    record = {
        "v": 1,
        "kind": "digest",
        "ts": "2026-12-02T01:00:00.000Z",
        "body": {"sha256": sha256},
    }
    marked = json.dumps({**record, "salt": statement_salt(sha256)}).encode()
    path = tmp_path / "marked.ndjson"
    path.write_bytes(ndjson_lines(1)[0].encode() + b"\n" + marked + b"\n")
    ledger("init", "--data-dir", str(tmp_path / "data"))
    result = ledger("ingest", str(path), "--data-dir", str(tmp_path / "data"), check=False)
    refused(result, f"{path}: line 2: salt: {RESERVED_SALT}; nothing was stored")
    assert stored(tmp_path / "data") == 0
    path.write_bytes(json.dumps({**record, "salt": "ab" * 16}).encode() + b"\n")
    ledger("ingest", str(path), "--data-dir", str(tmp_path / "data"))
    assert stored(tmp_path / "data") == 1
