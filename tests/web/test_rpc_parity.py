"""The two JSON-RPC readers read every answer alike: ledger/verify/rpc.py's JsonRpcReader
(over HTTP, from a node on loopback answering the bytes given) and the page's
verify-rpc.js (under Node, its fetch answering the same bytes), on odd answers: hex
with spaces, a key twice, floats, nestings deeper than 32, a byte order mark, revert
data in odd forms... Each read (chain id, code, a block, a receipt, LogAnchor.logInfo)
gives the same value or fails the same way, in the same words.

The page's limits are Python's: MAX_ANSWER_BYTES and the nesting depth.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.formats.abi import contract
from ledger.formats.strict_json import MAX_DEPTH
from ledger.verify.rpc import (
    MAX_ANSWER_BYTES,
    RPC_TIMEOUT,
    ChainUnreadableError,
    ContractCallError,
    JsonRpcReader,
)
from tests.verify.test_rpc import Node

WEB = Path(__file__).parents[2] / "ledger" / "web"

ADDRESS = b"\x5f" * 20
LOG_ID = b"\x8b" * 32
TX = b"\xaa" * 32

SELECTOR = contract("LogAnchor").error_selector("LogAnchorUnknownLog").hex()
WORD = "00" * 31 + "01"
HASH = "0x" + "ab" * 32


def answer(body: str) -> bytes:
    return ('{"jsonrpc": "2.0", "id": 1, ' + body + "}").encode()


def result(value: Any) -> bytes:
    return answer('"result": ' + json.dumps(value))


def error(value: Any) -> bytes:
    return answer('"error": ' + json.dumps(value))


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


LOG = {
    "address": "0x" + ADDRESS.hex(),
    "topics": [HASH],
    "data": "0x" + WORD,
    "blockNumber": "0x7",
    "blockHash": HASH,
    "transactionHash": "0x" + TX.hex(),
    "logIndex": "0x0",
}
RECEIPT = {
    "transactionHash": "0x" + TX.hex(),
    "blockNumber": "0x7",
    "blockHash": HASH,
    "to": "0x" + ADDRESS.hex(),
    "status": "0x1",
    "logs": [LOG],
}

ANSWERS: dict[str, bytes] = {
    "quantity": result("0x7a69"),
    "quantity-leading-zero": result("0x07a69"),
    "quantity-upper": result("0x7A69"),
    "hex": result("0x60aB"),
    "hex-empty": result("0x"),
    "hex-spaces": result("0x 6080 "),
    "hex-space-inside": result("0x60 80  "),
    "hex-newlines": result("0x6080\n\n"),
    "hex-tabs": result("0x60\t\t80"),
    "hex-no-0x": result("6080"),
    "hex-capital-x": result("0X6080"),
    "hex-odd": result("0x608"),
    "words": result("0x" + WORD * 5),
    "words-spaced": result("0x" + WORD * 4 + "  " + WORD),
    "null": result(None),
    "no-result": answer('"x": 1'),
    "integer": result(31337),
    "float": answer('"result": 1.5'),
    "exponent": answer('"result": 1e3'),
    "float-unread": answer('"result": "0x7a69", "extra": 2.0'),
    "result-twice": answer('"result": "0x1", "result": "0x7a69"'),
    "key-twice-inside": answer('"result": {"number": "0x1", "number": "0x2"}'),
    "depth-32": answer(f'"result": "0x7a69", "extra": {deep(MAX_DEPTH - 1)}'),
    "depth-33": answer(f'"result": "0x7a69", "extra": {deep(MAX_DEPTH)}'),
    "bom": b"\xef\xbb\xbf" + result("0x7a69"),
    "not-utf8": answer('"result": "0x7a69", "x": "\xff"').replace(b"\xc3\xbf", b"\xff"),
    "not-json": b"not json",
    "array": b'[{"jsonrpc": "2.0", "id": 1, "result": "0x7a69"}]',
    "string": b'"0x7a69"',
    "nan": answer('"result": NaN'),
    "block": result({"number": "0x7", "hash": HASH, "timestamp": "0x5"}),
    "block-hash-spaced": result(
        {"number": "0x7", "hash": HASH[:10] + "  " + HASH[10:], "timestamp": "0x5"}
    ),
    "receipt": result(RECEIPT),
    "receipt-log-data-spaced": result(RECEIPT | {"logs": [LOG | {"data": "0x " + WORD + " "}]}),
    "receipt-log-not-object": result(RECEIPT | {"logs": ["junk"]}),
    "error": error({"code": -32000, "message": "boom", "n": 2**70}),
    "error-string": error("text"),
    "error-null": error(None),
    "error-number": error(5),
    "revert": error({"code": 3, "message": "execution reverted", "data": "0x" + SELECTOR}),
    "revert-nested": error({"code": 3, "data": {"data": "0x" + SELECTOR}}),
    "revert-spaced": error({"code": 3, "data": "0x " + SELECTOR}),
    "revert-no-0x": error({"code": 3, "message": "m", "data": SELECTOR}),
    "revert-other": error({"code": 3, "data": "0x12345678"}),
    "revert-empty": error({"code": 3, "data": "0x", "message": ["a", 1]}),
}
"""Answers, each given to every read."""

READS = ["chainId", "code", "block", "receipt", "logInfo"]

DRIVER = """
const core = require(process.argv[1]);
const rpc = require(process.argv[2]);
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const plain = (value) => {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return core.toHex(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
};
(async () => {
  const out = {};
  for (const [name, b64] of Object.entries(input.answers)) {
    const body = Buffer.from(b64, 'base64');
    const reader = rpc.jsonRpcReader(input.url, async () => new Response(body, { status: 200 }));
    const reads = {
      chainId: () => reader.chainId(),
      code: () => reader.code(input.address),
      block: () => reader.block('latest'),
      receipt: () => reader.receipt(input.tx),
      logInfo: () =>
        core.callContract(reader, 'LogAnchor', input.address, 'logInfo', [input.logId]),
    };
    out[name] = {};
    for (const read of input.reads) {
      try {
        out[name][read] = { value: plain(await reads[read]()) };
      } catch (error) {
        out[name][read] = { error: error.constructor.name, message: error.message };
      }
    }
  }
  process.stdout.write(JSON.stringify(out));
})();
"""


def in_page(url: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the project needs Node 20 for Hardhat and Anvil)")
    import base64

    payload = {
        "url": url,
        "address": "0x" + ADDRESS.hex(),
        "tx": "0x" + TX.hex(),
        "logId": "0x" + LOG_ID.hex(),
        "reads": READS,
        "answers": {name: base64.b64encode(body).decode() for name, body in ANSWERS.items()},
    }
    done = subprocess.run(
        [node, "-e", DRIVER, str(WEB / "verify-core.js"), str(WEB / "verify-rpc.js")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def plain(value: Any) -> Any:
    """A Python read's value as the driver writes the page's."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    fields = {
        "tx_hash": "txHash",
        "block_number": "blockNumber",
        "block_hash": "blockHash",
        "log_index": "logIndex",
    }
    return {fields.get(k, k): plain(v) for k, v in vars(value).items()}


def in_python(node: Node) -> dict[str, Any]:
    reads = {
        "chainId": lambda r: r.chain_id(),
        "code": lambda r: r.code(ADDRESS),
        "block": lambda r: r.block("latest"),
        "receipt": lambda r: r.receipt(TX),
        "logInfo": lambda r: r.call("LogAnchor", ADDRESS, "logInfo", LOG_ID),
    }
    out: dict[str, Any] = {}
    with JsonRpcReader(node.url) as reader:
        for name, body in ANSWERS.items():
            node.answer = body
            out[name] = {}
            for read in READS:
                try:
                    out[name][read] = {"value": plain(reads[read](reader))}
                except (ChainUnreadableError, ContractCallError) as failed:
                    out[name][read] = {"error": type(failed).__name__, "message": str(failed)}
    return out


@pytest.fixture(scope="module")
def node() -> Iterator[Node]:
    served = Node()
    yield served
    served.server.shutdown()


def test_both_readers_read_odd_answers_alike(node: Node) -> None:
    python = in_python(node)
    page = in_page(node.url)
    wrong = [
        f"{name} {read}: python {python[name][read]}, page {page[name][read]}"
        for name in ANSWERS
        for read in READS
        if python[name][read] != page[name][read]
    ]
    assert not wrong, "\n".join(wrong)
    # The rule, as both have it.
    assert python["hex-spaces"]["code"]["error"] == "ChainUnreadableError"
    assert python["hex"]["code"] == {"value": "0x60ab"}
    assert "appears twice" in python["result-twice"]["chainId"]["message"]
    assert "not an integer" in python["float-unread"]["chainId"]["message"]
    assert python["depth-32"]["chainId"] == {"value": "31337"}
    assert "nested deeper than 32 levels" in python["depth-33"]["chainId"]["message"]
    assert python["revert"]["logInfo"]["error"] == "ContractCallError"
    assert python["revert-spaced"]["logInfo"]["error"] == "ChainUnreadableError"


def test_the_pages_limits_are_pythons() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the project needs Node 20 for Hardhat and Anvil)")
    script = (
        "const rpc = require(process.argv[1]); const json = require(process.argv[2]);"
        " process.stdout.write(JSON.stringify({bytes: rpc.MAX_ANSWER_BYTES,"
        " timeout: rpc.RPC_TIMEOUT_MS, depth: json.MAX_DEPTH}))"
    )
    done = subprocess.run(
        [node, "-e", script, str(WEB / "verify-rpc.js"), str(WEB / "verify-json.js")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "bytes": MAX_ANSWER_BYTES,
        "timeout": int(RPC_TIMEOUT * 1000),
        "depth": MAX_DEPTH,
    }
