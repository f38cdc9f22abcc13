"""A node that answers nonsense cannot crash a verifier: every malformed JSON-RPC answer
(too deep, not JSON, a batch whose ids are not numbers, log entries that are not
objects) is a `ChainUnreadableError` naming the call, which the commands report as "the
chain could not be read" (exit 3). The node is a real HTTP server on loopback that
answers what each test gives it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ledger.formats.abi import contract
from ledger.verify.rpc import ChainUnreadableError, ContractCallError, JsonRpcReader


class Node:
    """An HTTP server answering every POST with `self.answer` (bytes)."""

    def __init__(self) -> None:
        node = self
        self.answer = b"{}"

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(node.answer)))
                self.end_headers()
                self.wfile.write(node.answer)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def node() -> Iterator[Node]:
    served = Node()
    yield served
    served.server.shutdown()


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (b"[" * 100_000, "nested deeper than 32 levels"),
        (b"not json", "not valid JSON"),
        (b'{"jsonrpc":"2.0","id":1,"result":1.5}', "not an integer"),
        (b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"result":"0x1"}', "byte order mark"),
    ],
    ids=["deep", "not-json", "float", "bom"],
)
def test_unreadable_answers_are_chain_errors(node: Node, answer: bytes, words: str) -> None:
    node.answer = answer
    with JsonRpcReader(node.url) as reader, pytest.raises(ChainUnreadableError, match=words):
        reader.chain_id()


def test_a_batch_with_odd_ids_falls_back_to_single_calls(node: Node) -> None:
    """A batch answer whose ids are lists (unhashable) is not trusted as a batch: each call
    is asked alone, and that answer is checked like any other."""
    node.answer = b'[{"jsonrpc":"2.0","id":[1],"result":"0x1"}]'
    with (
        JsonRpcReader(node.url) as reader,
        pytest.raises(ChainUnreadableError, match="eth_getBlockByNumber"),
    ):
        reader.blocks([1, 2])


def test_log_entries_that_are_not_objects_are_refused(node: Node) -> None:
    node.answer = b'{"jsonrpc":"2.0","id":1,"result":["junk"]}'
    with (
        JsonRpcReader(node.url) as reader,
        pytest.raises(ChainUnreadableError, match="a log entry without topics"),
    ):
        reader.logs(b"\x01" * 20, [b"\x02" * 32], 0, 10)


def test_an_answer_with_a_key_twice_is_refused(node: Node) -> None:
    """Which of two "result"s counts is a reader's guess: neither is believed."""
    node.answer = b'{"jsonrpc":"2.0","id":1,"result":"0x1","result":"0x7a69"}'
    with (
        JsonRpcReader(node.url) as reader,
        pytest.raises(ChainUnreadableError, match="key 'result' appears twice in one object"),
    ):
        reader.chain_id()


@pytest.mark.parametrize(
    "code",
    ["0x 6080 ", "0x60 80  ", "0x6080\n\n", "0x60\t\t80", "6080", "0X6080", "0x608", "0x60g0"],
    ids=["spaces", "space-inside", "newlines", "tabs", "no-0x", "capital-x", "odd", "not-hex"],
)
def test_data_is_0x_and_pairs_of_hex_digits_only(node: Node, code: str) -> None:
    """One rule for JSON-RPC data, the page's (verify-rpc.js HEX): bytes.fromhex alone
    would read "0x 6080 " as two bytes, where the page refuses it."""
    node.answer = json.dumps({"jsonrpc": "2.0", "id": 1, "result": code}).encode()
    with (
        JsonRpcReader(node.url) as reader,
        pytest.raises(ChainUnreadableError, match="eth_getCode: expected 0x hex"),
    ):
        reader.code(b"\x01" * 20)


def test_data_in_either_case_is_read(node: Node) -> None:
    node.answer = b'{"jsonrpc":"2.0","id":1,"result":"0x60aB"}'
    with JsonRpcReader(node.url) as reader:
        assert reader.code(b"\x01" * 20) == b"\x60\xab"
    node.answer = b'{"jsonrpc":"2.0","id":1,"result":"0x"}'
    with JsonRpcReader(node.url) as reader:
        assert reader.code(b"\x01" * 20) == b""


def unknown_log(data: str) -> bytes:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "error": {"code": 3, "message": "execution reverted", "data": data},
        }
    ).encode()


def test_revert_data_follows_the_same_hex_rule(node: Node) -> None:
    """A revert is decoded only from 0x and pairs of hex digits; anything else is no
    revert data, so the node could not be read (as the page has it)."""
    selector = contract("LogAnchor").error_selector("LogAnchorUnknownLog").hex()
    node.answer = unknown_log("0x" + selector)
    with (
        JsonRpcReader(node.url) as reader,
        pytest.raises(ContractCallError, match="reverted with LogAnchorUnknownLog"),
    ):
        reader.log_info(b"\x01" * 20, b"\x02" * 32)
    for lenient in (f"0x {selector}", selector, f"0x{selector[:4]} {selector[4:]}"):
        node.answer = unknown_log(lenient)
        with (
            JsonRpcReader(node.url) as reader,
            pytest.raises(ChainUnreadableError, match="eth_call logInfo failed at"),
        ):
            reader.log_info(b"\x01" * 20, b"\x02" * 32)
