"""The shared JSON-RPC transport against a real anvil and a scripted loopback HTTP server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chains.jsonrpc import JsonRpcClient, RpcError, redact_url
from chains.watching import ChainUnavailable
from tests.support.anvil import Anvil, anvil_available, anvil_node, free_port

pytestmark = pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup")

Reply = tuple[int, dict[str, str], bytes]


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    with anvil_node() as node:
        yield node


class _Scripted:
    """A loopback HTTP server answering each POST with the next scripted reply."""

    def __init__(self, replies: list[Callable[[Any], Reply]]) -> None:
        self.replies = replies
        self.seen: list[tuple[Any, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                outer.seen.append((body, dict(self.headers)))
                status, headers, payload = outer.replies.pop(0)(body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted() -> Iterator[Callable[[list[Callable[[Any], Reply]]], _Scripted]]:
    servers: list[_Scripted] = []

    def make(replies: list[Callable[[Any], Reply]]) -> _Scripted:
        server = _Scripted(replies)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def _json(
    status: int, obj: object, headers: dict[str, str] | None = None
) -> Callable[[Any], Reply]:
    return lambda _body: (status, headers or {}, json.dumps(obj).encode())


def test_call_and_batch_against_anvil(anvil: Anvil) -> None:
    async def go() -> tuple[Any, list[Any], int]:
        client = JsonRpcClient(anvil.url, max_batch=3)
        try:
            chain_id = await client.call("eth_chainId")
            calls: list[tuple[str, list[object]]] = [
                ("eth_getBlockByNumber", [hex(0), False]),
                ("no_such_method", []),
                ("eth_chainId", []),
                ("eth_blockNumber", []),
                ("eth_getBalance", ["0xnot-an-address", "latest"]),
            ]
            results = await client.batch(calls)
            return chain_id, results, client.requests_sent
        finally:
            await client.aclose()

    chain_id, results, sent = asyncio.run(go())
    assert chain_id == "0x7a69"  # anvil's 31337
    assert results[0]["number"] == "0x0"
    assert isinstance(results[1], RpcError)
    assert results[1].code == -32601
    assert results[2] == "0x7a69"
    assert int(results[3], 16) >= 0
    assert isinstance(results[4], RpcError)
    assert sent == 1 + 2  # one call, then five calls in batches of three


def test_refused_call_raises_rpc_error(anvil: Anvil) -> None:
    async def go() -> None:
        client = JsonRpcClient(anvil.url)
        try:
            await client.call("no_such_method")
        finally:
            await client.aclose()

    with pytest.raises(RpcError) as info:
        asyncio.run(go())
    assert info.value.code == -32601


def test_connection_refused_is_chain_unavailable() -> None:
    port = free_port()

    async def go() -> None:
        client = JsonRpcClient(f"http://user:secret@127.0.0.1:{port}", timeout=2)
        try:
            await client.call("eth_chainId")
        finally:
            await client.aclose()

    with pytest.raises(ChainUnavailable) as info:
        asyncio.run(go())
    assert "secret" not in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)


def test_bitcoin_style_error_with_http_500_is_parsed(scripted: Any) -> None:
    error = {"result": None, "error": {"code": -8, "message": "Block height out of range"}}
    server = scripted([_json(500, {**error, "id": 1})])

    async def go() -> None:
        client = JsonRpcClient(server.url, version="1.0", auth=("rpc", "pw"))
        try:
            await client.call("getblockhash", [10_000])
        finally:
            await client.aclose()

    with pytest.raises(RpcError) as info:
        asyncio.run(go())
    assert info.value.code == -8
    assert info.value.message == "Block height out of range"
    body, headers = server.seen[0]
    assert "jsonrpc" not in body  # version 1.0 requests carry no "jsonrpc" member
    assert body["method"] == "getblockhash"
    assert headers["Authorization"].startswith("Basic ")


def test_rate_limit_is_retried_after_retry_after(scripted: Any) -> None:
    server = scripted(
        [
            lambda _b: (429, {"Retry-After": "0"}, b"slow down"),
            lambda body: (200, {}, json.dumps({"id": body["id"], "result": "0x1"}).encode()),
        ]
    )

    async def go() -> Any:
        client = JsonRpcClient(server.url)
        try:
            return await client.call("eth_chainId")
        finally:
            await client.aclose()

    assert asyncio.run(go()) == "0x1"
    assert len(server.seen) == 2


def test_rate_limit_that_persists_becomes_chain_unavailable(scripted: Any) -> None:
    server = scripted([lambda _b: (429, {"Retry-After": "0"}, b"")] * 5)

    async def go() -> None:
        client = JsonRpcClient(server.url)
        try:
            await client.call("eth_chainId")
        finally:
            await client.aclose()

    with pytest.raises(ChainUnavailable, match="429"):
        asyncio.run(go())


@pytest.mark.parametrize(
    "reply",
    [
        lambda _b: (200, {}, b"<html>proxy error</html>"),
        lambda _b: (502, {}, b"Bad Gateway"),
        lambda _b: (200, {}, b'{"unexpected": true}'),
    ],
)
def test_non_json_rpc_answers_are_chain_unavailable(scripted: Any, reply: Any) -> None:
    server = scripted([reply])

    async def go() -> None:
        client = JsonRpcClient(server.url)
        try:
            await client.call("eth_chainId")
        finally:
            await client.aclose()

    with pytest.raises(ChainUnavailable):
        asyncio.run(go())


def test_batch_answers_out_of_order_are_matched_by_id(scripted: Any) -> None:
    def reverse(body: Any) -> Reply:
        answers = [{"jsonrpc": "2.0", "id": r["id"], "result": r["params"][0]} for r in body]
        return 200, {}, json.dumps(answers[::-1]).encode()

    server = scripted([reverse])

    async def go() -> list[Any]:
        client = JsonRpcClient(server.url)
        try:
            return await client.batch([("echo", [i]) for i in range(5)])
        finally:
            await client.aclose()

    assert asyncio.run(go()) == [0, 1, 2, 3, 4]


def test_redact_url_drops_credentials() -> None:
    assert redact_url("http://u:p@node:8545/path?q=1") == "http://node:8545/path?q=1"
    assert redact_url("https://node.example/v1") == "https://node.example/v1"
    assert redact_url("http://u:p@[::1]:8332") == "http://[::1]:8332"
