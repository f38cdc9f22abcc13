"""A JSON-RPC node that lies: it passes every request on to a real node, but answers some
with what a test makes up. What an attacker's node in a link's `rpc_url` could do; a
verifier that reads the chain through it believes whatever it says.

A lie may also be `Raw` bytes, sent as the whole answer to that request: JSON that no
serializer writes (a key twice, a float, a deep nesting), to see both verifiers read
it by the same rule.

The page reaches it cross-origin, so it answers CORS as nodes do."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


class Raw:
    """An answer sent as these bytes, `{id}` replaced by the request's id (as JSON)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def sent(self, request_id: Any) -> bytes:
        return self.body.replace(b"{id}", json.dumps(request_id).encode())


Lie = Callable[[str, list[Any], Callable[[str, list[Any]], Any]], Any]
"""(method, params, ask the real node) -> the answer to give (the real one, or a made-up one)."""


class LyingNode:
    """Serves on 127.0.0.1 (`url`), forwarding to `upstream` through `lie`."""

    def __init__(self, upstream: str, lie: Lie) -> None:
        self.upstream = upstream
        self.lie = lie
        self.asked: list[str] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def cors(self) -> None:
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
                self.send_header("Access-Control-Allow-Headers", "content-type")

            def do_OPTIONS(self) -> None:
                self.send_response(204)
                self.cors()
                self.end_headers()

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                data = (
                    b"[" + b",".join(node.answer(one) for one in body) + b"]"
                    if isinstance(body, list)
                    else node.answer(body)
                )
                self.send_response(200)
                self.cors()
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ask(self, method: str, params: list[Any]) -> Any:
        """The real node's result (its error as {"error": ...})."""
        answer = httpx.post(
            self.upstream,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
            timeout=10,
        ).json()
        return {"error": answer["error"]} if "error" in answer else answer["result"]

    def answer(self, request: dict[str, Any]) -> bytes:
        self.asked.append(request["method"])
        found = self.lie(request["method"], request.get("params", []), self.ask)
        if isinstance(found, Raw):
            return found.sent(request.get("id"))
        reply = {"jsonrpc": "2.0", "id": request.get("id")}
        return json.dumps(
            reply | found
            if isinstance(found, dict) and set(found) == {"error"}
            else reply | {"result": found}
        ).encode()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
