"""A node that answers nonsense cannot crash a verifier: every malformed JSON-RPC answer
(too deep, not JSON, a batch whose ids are not numbers, log entries that are not
objects) is a `ChainUnreadableError` naming the call, which the commands report as "the
chain could not be read" (exit 3). The node is a real HTTP server on loopback that
answers what each test gives it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ledger.verify.rpc import ChainUnreadableError, JsonRpcReader


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
